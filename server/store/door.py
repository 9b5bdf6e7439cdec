"""The store, off the event loop: every read and write runs in one thread of its own.

The proxy and the API share one event loop; a SQLite call that waits on the disk (a busy
lock, an fsync on a slow disk) must never hold it. So, as Datasette does, the database
connection lives in a thread: `run` hands it a call and the loop awaits the answer while
it serves the browser. One thread means one writer, and SQLite's connection is only ever
used by the thread that opened it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sentinelle.server.store.records import Store

T = TypeVar("T")


class StoreThread:
    """A `Store` opened in, and used only from, its own thread."""

    def __init__(self, data_dir: Path) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sentinelle-store")
        try:
            # Opened in the thread that will use it (migrations included), before anything is served.
            self.store: Store = self._executor.submit(Store, data_dir).result()
        except BaseException:
            self._executor.shutdown(wait=False)
            raise
        self.evidence_dir = self.store.evidence_dir
        self._closed = False

    async def run(self, call: Callable[..., T], *args) -> T:
        """`call(*args)` in the store's thread; `call` may use `self.store` (and only there)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, call, *args)

    def wait(self, call: Callable[..., T], *args) -> T:
        """`call(*args)` in the store's thread, waited for: only where nothing is served yet
        (starting) or any more (stopping), never on a running event loop."""
        return self._executor.submit(call, *args).result()

    def close(self) -> None:
        """Wait for what was handed over, then close the database. Closing twice does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            self.wait(self.store.close)
        finally:
            self._executor.shutdown(wait=True)
