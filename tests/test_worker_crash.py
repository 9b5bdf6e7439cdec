"""A checker worker killed mid-feed (out of memory, a crash in a decoder, `kill -9`): the browser
gets every response, the worker is replaced once per death, and images are checked and matched again."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sentinelle.proxy.fronts.watch import WORKER_LOST
from tests.conftest import kodak, square_crop_copy
from tests.support.scenario import CDN, wait_for, watching
from tests.support.watcher import sentinelle
from tests.test_privacy import feed_of_strangers

STRANGERS, SCROLLERS = 240, 4


def workers_of(pid: int) -> set[int]:
    """The process pool's workers among a process's children (not multiprocessing's resource tracker)."""
    children: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children.update(int(c) for c in (task / "children").read_text().split())
        except OSError:
            pass  # the thread ended meanwhile
    workers = set()
    for child in children:
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.add(child)
        except OSError:
            pass  # it ended meanwhile
    return workers


class Census(threading.Thread):
    """Counts the live workers every few milliseconds: a storm of replacements cannot hide."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.most, self.stopping = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.most = max(self.most, len(workers_of(self.pid)))
            self.stopping.wait(0.005)  # the next count, or the end


async def test_a_worker_killed_mid_feed_is_replaced_and_the_browser_never_waits(tmp_path, data_dir):
    sentinelle(data_dir, "enroll", str(kodak(5)))
    feed = feed_of_strangers(STRANGERS)
    copies = {f"/after/{width}.jpg": ("image/jpeg", square_crop_copy(kodak(5), width)) for width in (360, 420, 480)}
    async with watching(tmp_path, data_dir, feed | copies) as (watcher, _):
        def stats() -> dict:
            return watcher.api("GET", "/api/stats")[1]["images"]

        workers = workers_of(watcher.process.pid)
        assert workers, "no worker process found"
        census = Census(watcher.process.pid)
        census.start()

        # A feed scrolled on a few connections at once: its images wait for a quiet moment...
        paths = list(feed)
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(SCROLLERS) as scrollers:
            scrolled = [loop.run_in_executor(scrollers, watcher.fetch_many, CDN, paths[i::SCROLLERS])
                        for i in range(SCROLLERS)]
            await wait_for(lambda: stats()["waiting"] >= 10, timeout=60, interval=0.01)
            # ...and the worker dies without a word, idle or checking one of them.
            os.kill(min(workers), signal.SIGKILL)
            received = await asyncio.gather(*scrolled)
        for i, bodies in enumerate(received):
            assert bodies == [feed[path][1] for path in paths[i::SCROLLERS]]  # every response, whole

        # Once the feed is scrolled, its images are checked one after another by a new worker:
        # killed now, that one dies holding an image.
        await wait_for(lambda: stats()["restarts"] == 1 and workers_of(watcher.process.pid) - workers,
                       timeout=60, interval=0.01)
        assert stats()["waiting"] > 1, "the feed was checked before the second kill"
        second = workers_of(watcher.process.pid) - workers
        os.kill(min(second), signal.SIGKILL)

        # The browser keeps being served at once, and what it is shown is checked again.
        for path, (_, body) in copies.items():
            started = time.monotonic()
            fetched = await asyncio.to_thread(watcher.fetch, CDN, path)
            assert fetched.status == 200 and fetched.body == body
            assert time.monotonic() - started < 5, "the proxy held a response"
        await wait_for(lambda: stats()["matched"] >= 1, timeout=120)
        await wait_for(lambda: stats()["waiting"] == 0, timeout=120)
        census.stopping.set()
        census.join()
        after = stats()
        replaced = workers_of(watcher.process.pid)

    assert after["seen"] == STRANGERS + len(copies), after
    # Every image is in the books: checked, or skipped for a reason that is counted.
    assert after["checked"] + sum(after["skipped"].values()) == after["seen"], after
    assert after["skipped"].get(WORKER_LOST, 0) >= 1, after  # the one the second dead worker held
    assert after["restarts"] == 2, after
    # One pool replaced each broken one: as many workers as before, none of them a dead one,
    # and never a crowd of them starting at once (the old pool's, then the new pool's).
    assert len(replaced) == len(workers) and not replaced & (workers | second), (workers, second, replaced)
    assert census.most <= 2 * len(workers), f"{census.most} workers alive at once"
    out, err = watcher.output
    assert out.count("stopped abruptly") == 2, out[-3000:]
    assert "Traceback" not in out + err, (out + err)[-3000:]
    assert "checker restarted: 2" in out
