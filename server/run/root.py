"""The composition root: Sentinelle wired once, whatever front it runs.

`Sentinelle` builds, in this order, the store (in its own thread), the events, the protected
set kept fresh (`LiveIndex`), the recorder, the notifier (alerts to the parent's phone or
mailbox) and the watch; `start` starts the checking processes, serves the API and the
background tasks (the counts `doctor` reads, the index kept in step with enrolments, the
notifier's sending); `close` stops them all, in the one order that loses nothing, and may be
called twice. A front attaches itself to `watch`: the mitmproxy add-on
(`sentinelle run`, server/run/runner.py, and the guest in someone else's mitmdump,
server/run/mitmdump_addon.py) or the ICAP service (`sentinelle icap`,
server/run/icap_runner.py). Those three are thin adapters; the wiring is here, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from sentinelle.proxy.fronts import memory
from sentinelle.proxy.fronts.watch import QUIET_SECONDS, Watch
from sentinelle.server.alerts.events import Events
from sentinelle.server.alerts.protected import LOOK_FOR_CHANGES_SECONDS, LiveIndex
from sentinelle.server.alerts.recorder import AlertRecorder
from sentinelle.server.api.app import create_app
from sentinelle.server.config import ensure_data_dir, load_or_create_token
from sentinelle.server.contact import Contacts
from sentinelle.server.notify.sender import Notifier
from sentinelle.server.notify.timing import Clock
from sentinelle.server.run import RunError
from sentinelle.server.run.connections import API_KEEPALIVE, CappedSite, raise_open_files_limit
from sentinelle.server.settings import Settings
from sentinelle.server.store.door import StoreDoor
from sentinelle.server.store.records import Store
from sentinelle.server.watch_counts import write_counts

logger = logging.getLogger("sentinelle")

COUNTS_EVERY_SECONDS = 30.0
# At a stop, how long sightings that wait for the disk may still be tried.
STOP_WRITING_SECONDS = 5.0


class Sentinelle:
    """One Sentinelle process: its settings, store, events, protected set, recorder and watch.

    `own_process`: the process is Sentinelle's own (`run`, `icap`), so the allocator and the
    garbage collector are its to tune; a guest in someone else's mitmdump changes neither.
    `quiet_seconds`: how long the front must have handled nothing before images are checked
    (the ICAP service behind a network's Squid: 0, a network is never quiet at its peak).
    `clock`: the notifier's (tests set theirs).
    """

    def __init__(self, settings: Settings, *, own_process: bool = True,
                 quiet_seconds: float = QUIET_SECONDS, clock: Clock | None = None) -> None:
        self.settings = settings
        self._own_process = own_process
        data_dir = ensure_data_dir(settings.data_dir)
        self.store = StoreDoor(data_dir)
        try:
            self.events = Events()
            self.index = LiveIndex(self.store, data_dir)
            self.recorder = AlertRecorder(self.store, self.events)
            self.notifier = Notifier(self.store, self.events, clock=clock)
            self.watch = Watch(self.index.current, self.recorder, lookalike=self.recorder.watch,
                               named=self.recorder.named, gone=self.recorder.gone, workers=settings.workers,
                               tune_memory=own_process, quiet_seconds=quiet_seconds)
            self.watch.reported = _followed(self.store.read_now(Store.reported_accounts))
        except BaseException:
            self.store.close()
            raise
        self._api: web.AppRunner | None = None
        self._tasks: list[asyncio.Task] = []
        self._extra_counts: Callable[[], dict] = dict
        self._started = self._closed = False
        self.open_files: int | None = None  # the limit on open files, once started (None: none)

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def counts(self) -> dict:
        """The watch's counts, what waits for the disk, and what the front adds."""
        return self.watch.report() | {"unsaved": self.recorder.unsaved} | self._extra_counts()

    async def start(self, *, proxy: dict | None = None, extra_counts: Callable[[], dict] = dict) -> None:
        """Start the checkers and the background tasks, then serve the API on 127.0.0.1 (unless
        its port is 0; its connections capped, server/run/connections.py). In a process of
        its own, the limit on open files is raised first (`open_files`). `proxy`: the proxy's
        rules for the extension and the PAC (`{"pac", "port", "domains"}`); `extra_counts`: what
        the front adds to `/api/stats`. RunError when the API's port is taken: the watch goes on
        (a guest in someone else's proxy keeps watching without an API; `run` and `icap` stop)."""
        if self._started:
            raise RuntimeError("Sentinelle is started once")
        self._started = True
        self._extra_counts = extra_counts
        # Alerts that know their account by its id alone: the next feed that names it names them.
        self.watch.await_names(await self.store.read(Store.unnamed_accounts))
        self.watch.start()
        self._tasks = [asyncio.create_task(self._keep_counts()), asyncio.create_task(self.index.keep_fresh()),
                       asyncio.create_task(self._follow_reports()), asyncio.create_task(self.notifier.run())]
        if self._own_process:
            memory.spare_the_collector()  # what is alive now stays for the process's life
            self.open_files = raise_open_files_limit()
        if port := self.settings.api_port:
            app = create_app(self.store, self.events, load_or_create_token(self.data_dir), port=port,
                             counts=self.counts, proxy=proxy, contacts=Contacts(self.data_dir),
                             protected=self.index, extension_origins=self.settings.extension_origins,
                             notifier=self.notifier)
            self._api = web.AppRunner(app, handle_signals=False, access_log=None, keepalive_timeout=API_KEEPALIVE)
            await self._api.setup()
            try:
                await CappedSite(self._api, "127.0.0.1", port).start()
            except OSError as e:
                raise RunError(f"cannot listen on 127.0.0.1:{port} for the API: {e.strerror}. "
                               "Is Sentinelle already running? Or choose another --api-port.") from None

    async def close(self) -> str:
        """Stop everything, in order: the background tasks, the API, the checkers; then write
        what waits for the disk (for STOP_WRITING_SECONDS at most: the sightings, then what the
        parent is to be told, which the next start sends) and the last counts, and close the
        store. Returns the summary of what the watch did. Idempotent."""
        if self._closed:
            return self.watch.counts.summary()
        self._closed = True
        try:
            for task in self._tasks:
                task.cancel()
            if self._api is not None:
                await self._api.cleanup()
            self.watch.stop()
            self.notifier.close()
            try:
                await asyncio.wait_for(self.recorder.flush(), STOP_WRITING_SECONDS)
                await asyncio.wait_for(self.notifier.flush(), STOP_WRITING_SECONDS)
            except TimeoutError:
                logger.error("Sentinelle stops with %d sighting(s) and %d note(s) for the parent it could "
                             "not write (the disk refused them): they are lost.",
                             self.recorder.unsaved, self.notifier.unqueued)
            if self._started:
                with contextlib.suppress(OSError):  # a full disk: the counts of this run are lost, nothing else
                    write_counts(self.data_dir, self.counts())
        finally:
            self.store.close()
        return self.watch.counts.summary()

    async def _follow_reports(self, every: float = LOOK_FOR_CHANGES_SECONDS) -> None:
        """Keep the watch's reported accounts in step with the store: a report recorded by
        `sentinelle reported` in another process is followed within `every` seconds, whichever
        front runs (the mitmproxy add-on and the ICAP service read the same `watch.reported`).
        Looked for rather than told: the events of this process never hear of another process's
        report, and the one query (reports not yet answered by a takedown) is a small read."""
        while True:
            await asyncio.sleep(every)
            try:
                self.watch.reported = _followed(await self.store.read(Store.reported_accounts))
            except Exception as e:  # noqa: BLE001 — a locked database: the accounts followed so far stay followed
                logger.debug("Sentinelle could not read the reported accounts: %s", e)

    async def _keep_counts(self, every: float = COUNTS_EVERY_SECONDS) -> None:
        """Write the counts for `sentinelle doctor`, now and every so often."""
        while True:
            try:  # in a thread: a slow disk must not hold the proxy's loop
                await asyncio.to_thread(write_counts, self.data_dir, self.counts())
            except OSError as e:  # a full disk: `doctor` reads older counts; the proxy goes on
                logger.debug("Sentinelle could not write its counts: %s", e)
            await asyncio.sleep(every)


def _followed(accounts: list[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    """The reported accounts as the watch compares them: (platform, handle lower-cased)."""
    return frozenset((platform, handle.lower()) for platform, handle in accounts)
