#!/usr/bin/env bash
# Set up the test environment (first time only) and run every test: ./test.sh [pytest options]
set -euo pipefail
EXTRAS=test source "$(dirname "$0")/scripts/venv.sh"
cd "$root"
exec "$venv/bin/python" -m pytest "$@"
