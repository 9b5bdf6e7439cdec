#!/usr/bin/env bash
# Make the Firefox build of the extension: a copy of this folder with manifest.firefox.json as
# its manifest.json. Chromium loads extension/ as it is; Firefox and `web-ext lint` use the copy.
#   extension/make-firefox.sh [OUT]     (default: build/firefox at the root of the repository)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/../build/firefox}"
rm -rf "$out"
mkdir -p "$out"
cp -R "$here/_locales" "$here/css" "$here/data" "$here/icons" "$here/js" "$here"/*.html "$out/"
cp "$here/manifest.firefox.json" "$out/manifest.json"
echo "$out"
