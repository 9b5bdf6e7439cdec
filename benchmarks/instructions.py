"""The work Sentinelle's add-on adds per image, counted in CPU instructions: the one figure of
the proxy overhead benchmark that the machine's drifting speed cannot blur.

Plain mitmproxy and `sentinelle run` each run under valgrind's callgrind, which counts every
instruction a process executes (not seconds: the same inputs give the same count, however
busy the machine). Counting is switched on only while a batch of images travels through
already open connections, and off around it (`callgrind_control -i on|off`): start-up, the
TLS handshakes and Sentinelle's checks in its pauses are left out, as they are from the
latency figures. Sentinelle's workers run outside valgrind (it does not follow the processes
it starts) and are not counted: their work waits for the proxy's pauses.

Needs valgrind (Debian: `apt install valgrind`); without it the leg is left out, and the
report says why.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchmarks.scene import Proxy

# The count: how many images, over how many connections (the most the closed loop uses).
INSTRUCTION_REQUESTS = 500
INSTRUCTION_CONNECTIONS = 32
# Under callgrind a process runs some fifty times slower: its start-up takes a minute or two.
START_TIMEOUT_SECONDS = 300
DUMP_TIMEOUT_SECONDS = 60


def missing() -> str | None:
    """Why instructions cannot be counted here, if they cannot."""
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: apt install valgrind)"
    return None


def callgrind(out: Path) -> list[str]:
    """The command prefix that runs a process under callgrind, counting nothing until told."""
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True, timeout=60)


def totals(dump: Path) -> int:
    """The instructions a callgrind dump counted."""
    for line in dump.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise ValueError(f"{dump}: no totals line")


async def count(proxy: Proxy, out: Path, fetch: Callable[[], Awaitable[tuple[list[float], int]]]) -> int:
    """Instructions `proxy`, running under `callgrind(out)`, executes while `fetch()` fetches
    images through it (and returns their latencies and its errors)."""
    pid = str(proxy.process.pid)
    _control("-i", "on", pid)
    _, errors = await fetch()
    _control("-i", "off", pid)
    if errors:
        raise RuntimeError(f"{errors} fetches through {proxy.name} failed under callgrind")
    _control("-d", pid)
    dump = out.with_name(out.name + ".1")  # the first dump callgrind_control asked for
    deadline = time.monotonic() + DUMP_TIMEOUT_SECONDS
    while not (dump.exists() and "totals:" in dump.read_text()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"callgrind wrote no dump for {proxy.name} ({dump})")
        await asyncio.sleep(0.5)
    return totals(dump)
