#!/usr/bin/env bash
# Set up Sentinelle (first time only) and start watching: ./run.sh [sentinelle run options]
set -euo pipefail
source "$(dirname "$0")/scripts/venv.sh"
exec "$venv/bin/sentinelle" run "$@"
