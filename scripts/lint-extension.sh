#!/usr/bin/env bash
# Lint the Firefox build of the extension with Mozilla's web-ext, as CI does:
#   scripts/lint-extension.sh
# Needs Node 20+ and npm; installs the pinned web-ext (scripts/web-ext/package-lock.json) once.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/scripts/web-ext"
if [ ! -x "$tools/node_modules/.bin/web-ext" ] || [ "$tools/package-lock.json" -nt "$tools/node_modules/.package-lock.json" ]; then
  npm ci --prefix "$tools" --no-audit --no-fund --loglevel=error
fi
firefox="$("$root/extension/make-firefox.sh" "$root/build/firefox")"
"$tools/node_modules/.bin/web-ext" lint --source-dir "$firefox" --warnings-as-errors --no-config-discovery
