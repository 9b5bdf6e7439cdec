# Sourced by run.sh and test.sh: make .venv with Sentinelle installed (and EXTRAS, if set).
# Reinstalls only when pyproject.toml changed since the last install.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.installed-${EXTRAS:-base}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
  echo "Setting up Sentinelle in $venv (once; the log is in $venv/install.log)..." >&2
  if ! { "$venv/bin/python" -m pip install --upgrade pip &&
         "$venv/bin/python" -m pip install -e "$root${EXTRAS:+[$EXTRAS]}"; } >"$venv/install.log" 2>&1; then
    tail -n 30 "$venv/install.log" >&2
    echo "Setting up failed: see $venv/install.log" >&2
    exit 1
  fi
  touch "$stamp"
fi
