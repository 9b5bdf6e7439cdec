#!/usr/bin/env bash
# mypy on the one package as it is installed: `sentinelle.proxy` is proxy/, `sentinelle.server`
# is server/ (pyproject.toml's package-dir). mypy does not follow setuptools' editable finder,
# so it reads the package through a tree of links made for it, then the benchmarks.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tree="$(mktemp -d)"
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/sentinelle"
for part in proxy server; do ln -s "$root/$part" "$tree/sentinelle/$part"; done
cd "$root"
MYPYPATH="$tree" "${PYTHON:-$root/.venv/bin/python}" -m mypy --config-file pyproject.toml \
  --cache-dir "$tree/.mypy_cache" -p sentinelle "$@"
