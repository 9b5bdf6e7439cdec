"""proxy/fronts/worker.py: how a worker process steps aside for the proxy and the browser.

Each test starts its own Python: the test process must keep its own priority (raising one
back takes privileges).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sentinelle.proxy.fronts.worker import NICENESS
from tests.support.watcher import ROOT


def after_start(setup: str, show: str) -> str:
    code = f"import os\n{setup}\nfrom sentinelle.proxy.fronts import worker\nworker.start()\nprint({show})"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_on_linux_a_worker_runs_only_on_idle_cpu_all_its_threads_too():
    # numpy and OpenCV each start a thread when imported, before start().
    threads = "[int(t) for t in os.listdir('/proc/self/task')]"
    assert after_start("", f"len({threads}) > 1, "
                           f"all(os.sched_getscheduler(t) == os.SCHED_IDLE for t in {threads}), "
                           "os.nice(0)") == "True True 0"


@pytest.mark.skipif(not hasattr(os, "nice"), reason="Windows has no nice()")
def test_without_an_idle_class_a_worker_is_niced():
    # As on macOS, where os has no sched_setscheduler.
    assert after_start("del os.sched_setscheduler", "os.nice(0)") == str(NICENESS)
