"""Commands that compare no image start at once: they load neither the matching engine nor the
proxy nor the web server (server/cli/main.py imports what a command uses when it runs).

What each command loaded is read from the interpreter itself, not timed: a slow machine
would make a timing flaky, and a module list is what decides the time (the engine's
OpenCV and faiss alone cost about a second to load)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.watcher import ROOT

# The matching engine and what only a running Sentinelle needs.
HEAVY = ("cv2", "faiss", "imagehash", "scipy", "PIL", "mitmproxy", "aiohttp", "reportlab", "apprise",
         "sentinelle.proxy.engine", "sentinelle.proxy.fronts.watch", "sentinelle.server.run.root")

PROBE = """
import json, sys
from sentinelle.server.cli.main import cli
try:
    cli(sys.argv[1:], prog_name="sentinelle", standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by(data_dir, *args: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, "--data-dir", str(data_dir), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("args", [("token",), ("photos",), ("log",), ("child", "list"), ("watchlist",),
                                  ("notify", "list"), ("notify", "hours", "--digest", "19:00"),
                                  ("doctor", "--api-port", "9", "--proxy-port", "9"), ("setup", "--dry-run"),
                                  ("--help",)])
def test_a_command_that_compares_no_image_loads_no_engine(data_dir, args):
    loaded = loaded_by(data_dir, *args)
    heavy = {m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY)}
    assert not heavy, f"`sentinelle {' '.join(args)}` loaded {sorted(heavy)[:8]}"


def test_the_probe_sees_what_a_command_that_compares_images_loads(data_dir):
    # The same probe on `check`, which must load the engine: the test above can fail.
    assert "cv2" in loaded_by(data_dir, "check", str(ROOT / "tests" / "fixtures" / "kodak" / "kodim01.jpg"))


def test_the_store_names_the_avatar_view_as_the_engine_does():
    from sentinelle.proxy.engine import avatar
    from sentinelle.server.store import migrations

    assert migrations.AVATAR_VIEW == avatar.AVATAR_VIEW
