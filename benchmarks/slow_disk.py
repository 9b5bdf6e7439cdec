"""Benchmark only, loaded into `sentinelle run` with `--set scripts=…`: a slow disk, and a
watch on the event loop.

The disk: every fsync, and every sighting the store writes, takes SENTINELLE_BENCH_DISK_MS
longer (0: the disk as it is). The watch: a timer every TICK_SECONDS notes how late the
event loop ran it; the longest lateness and the 99th percentile go to the JSON file
SENTINELLE_BENCH_STALLS every half second. A store on the loop would show each slow write
there in full; a store in its own thread shows only the proxy's own work.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

from sentinelle.server.store import records as store_module

DELAY = float(os.environ.get("SENTINELLE_BENCH_DISK_MS", "0")) / 1000
OUT = os.environ.get("SENTINELLE_BENCH_STALLS", "")
TICK_SECONDS = 0.002


def _slowed(call):
    def slow(*args, **kwargs):
        time.sleep(DELAY)
        return call(*args, **kwargs)
    return slow


if DELAY:
    os.fsync = _slowed(os.fsync)
    store_module.Store.record_sighting = _slowed(store_module.Store.record_sighting)


NOTED_MS = 1.0


class LoopWatch:
    def __init__(self) -> None:
        self.late: list[tuple[float, float]] = []  # (wall-clock time, ms late)
        self.ticks = 0
        self._task: asyncio.Task | None = None

    def running(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        written = loop.time()
        while True:
            due = loop.time() + TICK_SECONDS
            await asyncio.sleep(TICK_SECONDS)
            self.ticks += 1
            if (late_ms := (loop.time() - due) * 1000) > NOTED_MS:
                self.late.append((time.time(), late_ms))
            if OUT and loop.time() - written > 0.5:
                written = loop.time()
                with open(OUT + ".tmp", "w") as f:
                    json.dump({"ticks": self.ticks, "late": self.late[-10000:]}, f)
                os.replace(OUT + ".tmp", OUT)


addons = [LoopWatch()]
