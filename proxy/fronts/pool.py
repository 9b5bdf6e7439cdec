"""The watch's checking processes: a pool started at once with Ctrl-C ignored in its workers,
work handed to it, and the pool replaced, once, when a worker dies (killed, out of memory,
crashed in a decoder).

Part of the watch (`Watch` inherits it, proxy/fronts/watch.py): the same loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import signal

from sentinelle.proxy.fronts import worker
from sentinelle.proxy.fronts.sighting import WatchCounts

logger = logging.getLogger("sentinelle")


class CheckingPool:
    """The watch's pool of checking processes."""

    _pool: concurrent.futures.ProcessPoolExecutor | None
    _workers: int
    counts: WatchCounts

    def _start_pool(self) -> None:
        # spawn: a forked copy of a running event loop and its threads is not safe.
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self._workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=worker.start,
        )
        # Start them now, not on the first image, with Ctrl-C ignored from their first
        # instant (an ignored signal stays ignored through exec): the terminal sends it to
        # every process of the group, and only this one must act on it.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for _ in range(self._workers):
                self._pool.submit(worker.ready)
        finally:
            signal.signal(signal.SIGINT, previous)

    def _hand_over(self, fn, *args) -> tuple[concurrent.futures.Executor, asyncio.Future] | None:
        """Give work to the pool: the pool it went to and its future, or None if no pool takes it.

        A pool can be found broken here, between a worker's death and the callbacks that
        report it: it is replaced at once, and the work goes to the new one.
        """
        loop = asyncio.get_running_loop()
        for _ in range(2):
            if self._pool is None:
                self._start_pool()
            pool = self._pool
            assert pool is not None  # there was one, or _start_pool just made it
            try:
                return pool, loop.run_in_executor(pool, fn, *args)
            except concurrent.futures.BrokenExecutor:
                self._replace_pool(pool)
            except RuntimeError:  # shut down: Sentinelle is stopping
                return None
        return None

    def _replace_pool(self, broken: concurrent.futures.Executor) -> None:
        """A worker died, and with it the whole pool: shut it down and start another — once,
        however many of its futures report it (every image it held fails at once)."""
        if broken is not self._pool:
            return  # already replaced
        self.counts.restarts += 1
        logger.error("Sentinelle's image checker stopped abruptly (killed, out of memory or crashed): "
                     "starting it again (%d restarts so far); the images it held pass unchecked, counted.",
                     self.counts.restarts)
        broken.shutdown(wait=False, cancel_futures=True)
        self._start_pool()
