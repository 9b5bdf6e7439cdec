#!/usr/bin/env bash
# The Python side's linter and type checker, as CI runs them: scripts/lint.sh
# ruff (pyflakes, pycodestyle, import order, bugbear, …) on the whole tree, then mypy on the
# package (scripts/typecheck.sh); both configured in pyproject.toml, both in the `lint` extra.
set -euo pipefail
EXTRAS=lint source "$(dirname "$0")/venv.sh"
cd "$root"
"$venv/bin/ruff" check .
PYTHON="$venv/bin/python" scripts/typecheck.sh
