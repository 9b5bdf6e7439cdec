"""The store behind its door: a running Sentinelle reaches its database only through `StoreDoor`.

The proxy and the API share one event loop; a SQLite call that waits on the disk (a busy
lock, an fsync on a slow disk) must never hold it. So, as Datasette does, the connections live
in threads of their own, and callers hand the door a function of the store, never touch a
connection: `await door.write(Store.record_sighting, sighting)` runs in the one writer thread
(SQLite has one writer at a time), `await door.read(Store.alerts)` in a reader thread with a
connection of its own that can only read (`PRAGMA query_only`). The database is in WAL mode,
so a read never waits for a write: the extension's popup gets its alerts while photos are
being enrolled. Each connection is only ever used by the thread that opened it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from sentinelle.server.store.records import Store

T = TypeVar("T")
P = ParamSpec("P")


class StoreDoor:
    """The store of `data_dir`, opened (and brought up to date) in its writer thread, and read
    in its reader thread."""

    def __init__(self, data_dir: Path) -> None:
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sentinelle-store-write")
        self._reader = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sentinelle-store-read")
        self._closed = False
        try:
            # Opened in the threads that will use them, before anything is served: the writer
            # first, which migrates the database, then the reader, which finds it up to date.
            self._writing: Store = self._writer.submit(Store, data_dir).result()
            self._reading: Store = self._reader.submit(Store, data_dir, read_only=True).result()
        except BaseException:
            self.close()
            raise
        self.evidence_dir = self._writing.evidence_dir

    async def read(self, call: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`call(store, *args)` in the reader thread, on a connection that can only read."""
        return await asyncio.get_running_loop().run_in_executor(self._reader, lambda: call(self._reading, *args, **kwargs))

    async def write(self, call: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`call(store, *args)` in the writer thread, one write after another."""
        return await asyncio.get_running_loop().run_in_executor(self._writer, lambda: call(self._writing, *args, **kwargs))

    def read_now(self, call: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`read`, waited for: only where nothing is served yet (starting) or any more
        (stopping), never on a running event loop."""
        return self._reader.submit(lambda: call(self._reading, *args, **kwargs)).result()

    def close(self) -> None:
        """Wait for what was handed over, then close both connections. Closing twice does nothing."""
        if self._closed:
            return
        self._closed = True
        for executor, attribute in ((self._reader, "_reading"), (self._writer, "_writing")):
            try:
                if (store := self.__dict__.get(attribute)) is not None:
                    executor.submit(store.close).result()
            finally:
                executor.shutdown(wait=True)
