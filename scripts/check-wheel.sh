#!/usr/bin/env bash
# Build Sentinelle's wheel, install it into a fresh virtual environment, and use it there
# as a parent would, away from the source folder: enroll, check, export, verify. Run by CI.
#   scripts/check-wheel.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --upgrade pip
"$work/venv/bin/python" -m pip wheel -q --no-deps -w "$work/dist" "$root"
wheel=("$work"/dist/sentinelle-*.whl)
# One top-level name: nothing called `proxy` or `server` lands in site-packages.
tops="$(python3 -c 'import sys, zipfile; print(" ".join(sorted({n.split("/")[0] for n in zipfile.ZipFile(sys.argv[1]).namelist()})))' "${wheel[0]}")"
case "$tops" in
  "sentinelle sentinelle-"*".dist-info") ;;
  *) echo "check-wheel: the wheel installs more than sentinelle: $tops" >&2; exit 1 ;;
esac
"$work/venv/bin/python" -m pip install -q "${wheel[0]}"
cd "$work"   # away from the source folders, so only the installed package can answer
bin="$work/venv/bin"
data="$work/data"
cp "$root/tests/fixtures/kodak/kodim05.jpg" "$work/beach.jpg"
cp "$root/tests/fixtures/kodak/kodim23.jpg" "$work/stranger.jpg"
"$bin/python" -c 'from PIL import Image; im = Image.open("beach.jpg"); w, h = im.size; im.crop((w // 8, 0, w - w // 8, h)).save("copy.jpg", quality=80)'
"$bin/sentinelle" --data-dir "$data" enroll --child Alice beach.jpg
"$bin/sentinelle" --data-dir "$data" check --json copy.jpg stranger.jpg | tee checked.jsonl
grep -q '"file": "copy.jpg", "match": {"photo": "beach.jpg"' checked.jsonl
grep -q '"file": "stranger.jpg", "match": null' checked.jsonl
# An alert, recorded by the installed store as the watcher records one (the proxy's own
# path is tested end to end by the suite).
"$bin/python" - "$data" <<'PY'
import sys
from datetime import UTC, datetime
from pathlib import Path

from sentinelle.proxy.engine.fingerprint import fingerprint
from sentinelle.proxy.fronts.sighting import Sighting
from sentinelle.server.alerts.protected import ProtectedSet
from sentinelle.server.store.records import Store

store = Store(Path(sys.argv[1]))
body = Path("copy.jpg").read_bytes()
match = ProtectedSet(store, Path(sys.argv[1])).match(fingerprint(body))
store.record_sighting(Sighting(
    seen_at=datetime.now(UTC), image_url="https://scontent.cdninstagram.com/v/t51/1_n.jpg",
    page_url="https://www.instagram.com/", host="scontent.cdninstagram.com", platform="instagram",
    content_type="image/jpeg", body=body, match=match))
store.close()
PY
"$bin/sentinelle" --data-dir "$data" export 1 -o case.zip --lang en --country FR
"$bin/sentinelle" --data-dir "$data" verify case.zip
# The reporting channels travelled with the package into the report.
"$bin/python" -c 'import sys, zipfile; html = zipfile.ZipFile("case.zip").read("report.html").decode(); missing = [w for w in ("Pharos", "3018", "help.instagram.com") if w not in html]; sys.exit(f"check-wheel: the report lacks {missing}" if missing else 0)'
echo "check-wheel: the wheel installs one package, sentinelle, and enroll, check, export, verify work from it."
