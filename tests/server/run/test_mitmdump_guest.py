"""server/run/mitmdump_addon.py is a guest in someone else's mitmdump: it changes nothing
that is the whole process's (no freeze of the garbage collector, no allocator tuning).

A probe script is loaded first into a real mitmdump: it notes every call to `gc.freeze`
and to Sentinelle's allocator tuning, and once everything runs, writes what it saw.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.server.run.test_mitmdump_addon import MITMDUMP, wait_listening
from tests.support.watcher import ROOT, free_port

PROBE = '''
import asyncio, gc, json, os
from sentinelle.proxy.fronts import memory

calls = []
_freeze, _keep = gc.freeze, memory.keep_for_reuse
gc.freeze = lambda: (calls.append("gc.freeze"), _freeze())[1]
memory.keep_for_reuse = lambda limit: (calls.append("keep_for_reuse"), _keep(limit))[1]

class Probe:
    def running(self):
        # Every add-on's `running` has run by the next turns of the loop.
        asyncio.get_running_loop().call_later(0.5, self.report)

    def report(self):
        out = os.environ["PROBE_OUT"]
        with open(out + ".tmp", "w") as f:  # whole, then renamed: the test reads it once it exists
            json.dump({"calls": calls, "frozen": gc.get_freeze_count()}, f)
        os.replace(out + ".tmp", out)

addons = [Probe()]
'''


# A script that does what a process of Sentinelle's own does at start (server/run/runner.py
# and the watcher with tune_memory): the probe must see it, or its silence proves nothing.
OWNER = '''
from sentinelle.proxy.fronts import memory

class Owner:
    def running(self):
        memory.keep_for_reuse(2**20)
        memory.spare_the_collector()

addons = [Owner()]
'''


def probed(tmp_path: Path, data_dir: Path, script: Path) -> dict:
    """What the probe saw in a real mitmdump running `script` after it."""
    probe, out = tmp_path / "probe.py", tmp_path / "probe.json"
    probe.write_text(PROBE)
    port = free_port()
    process = subprocess.Popen(
        [str(MITMDUMP), "-q", "--listen-host", "127.0.0.1", "--listen-port", str(port),
         "-s", str(probe), "-s", str(script),
         "--set", f"confdir={tmp_path / 'conf'}", *(["--set", "sentinelle_api_port=0"] if "mitmdump_addon" in script.name else [])],
        cwd=tmp_path, env=os.environ | {"SENTINELLE_HOME": str(data_dir), "PROBE_OUT": str(out)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(process, port)
        deadline = time.monotonic() + 20
        while not out.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)  # polling for the probe's report, with a deadline
        return json.loads(out.read_text())
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)


@pytest.mark.skipif(not MITMDUMP.exists(), reason="needs mitmdump in the venv")
def test_the_add_on_changes_nothing_global_in_someone_elses_mitmdump(tmp_path, data_dir):
    assert probed(tmp_path, data_dir, ROOT / "server" / "run" / "mitmdump_addon.py") == {"calls": [], "frozen": 0}


@pytest.mark.skipif(not MITMDUMP.exists(), reason="needs mitmdump in the venv")
def test_the_probe_sees_a_process_tuned_as_sentinelle_run_tunes_its_own(tmp_path, data_dir):
    owner = tmp_path / "owner.py"
    owner.write_text(OWNER)
    seen = probed(tmp_path, data_dir, owner)
    assert seen["calls"] == ["keep_for_reuse", "gc.freeze"] and seen["frozen"] > 0
