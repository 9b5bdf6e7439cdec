"""`sentinelle icap`: the watch as an ICAP service behind a network's Squid, with the API, in one
process and one event loop, stopped cleanly.

The wiring is `sentinelle run`'s (server/run/runner.py), with Squid in mitmproxy's place: the
same protected set (`LiveIndex`), the same recorder and store thread, the same API for the
extension, `sentinelle log` and `export`. Squid decrypts the social networks and sends their
responses here (`sentinelle setup squid` writes its configuration); the service answers at
once (proxy/fronts/icap_service.py) and the watch checks the images in its worker processes.

One service process, `workers` checking processes: Squid's `adaptation_service_set` is an
ordered list of stand-bys, not a balancer (the first service that is up takes every
transaction), so more ICAP processes would not share the load; and the feed that names an
image's account must be read in the process that later sees the image. Reading ICAP is light
(the checking is what costs), so one event loop carries it; `--workers` sets the checkers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from sentinelle.proxy.fronts import memory
from sentinelle.proxy.hosts import normalise_domain
from sentinelle.proxy.fronts.icap_service import IcapService, serve
from sentinelle.proxy.fronts.watch import Watch
from sentinelle.server.alerts.events import Events
from sentinelle.server.alerts.protected import INDEX_FILE, LiveIndex
from sentinelle.server.alerts.recorder import AlertRecorder
from sentinelle.server.alerts.store_thread import StoreThread
from sentinelle.server.api.app import create_app
from sentinelle.server.config import ensure_data_dir, load_or_create_token
from sentinelle.server.contact import Contacts
from sentinelle.server.run.runner import (
    RunError,
    keep_counts,
    listen,
    save_what_was_seen,
)
from sentinelle.server.version import sentinelle_version
from sentinelle.server.watch_counts import write_counts

logger = logging.getLogger("sentinelle")

DEFAULT_ICAP_PORT = 1344  # ICAP's registered port (RFC 3507 §4.2)
DEFAULT_API_PORT = 8765


@dataclass(frozen=True)
class IcapSettings:
    host: str = "127.0.0.1"  # Squid on the same machine: loopback only
    port: int = DEFAULT_ICAP_PORT
    api_port: int = DEFAULT_API_PORT  # 0: no API
    workers: int | None = None  # checking processes; None: all cores but one
    extra_hosts: tuple[str, ...] = ()


def istag() -> str:
    """The service's tag for Squid: it changes with Sentinelle's version, the only thing that
    changes what the service does."""
    return f'"sentinelle-{sentinelle_version()}"'


async def serve_icap(data_dir: Path, settings: IcapSettings = IcapSettings(), say: Callable[[str], None] = print,
                     extension_origins: Sequence[str] = (), stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT or SIGTERM (or `stop` is set), then stop the service and the API and
    close the store."""
    ensure_data_dir(data_dir)
    try:
        extra = tuple(normalise_domain(d) for d in settings.extra_hosts)
    except ValueError as e:
        raise RunError(f"--extra-host: {e}") from None
    store = StoreThread(data_dir)
    try:
        await _serve(store, data_dir, settings, extra, say, extension_origins, stop or asyncio.Event())
    finally:
        store.close()


async def _serve(store: StoreThread, data_dir: Path, settings: IcapSettings, extra: tuple[str, ...],
                 say: Callable[[str], None], extension_origins: Sequence[str], stop: asyncio.Event) -> None:
    events = Events()
    protected = LiveIndex(store, data_dir / INDEX_FILE)
    recorder = AlertRecorder(store, events)
    # Images go to the checker as soon as a worker is free (quiet_seconds=0): a network is never
    # quiet at its peak, and the checkers, at idle priority, take only the cores Squid leaves.
    watch = Watch(protected.current, recorder, watch=recorder.watch, workers=settings.workers, tune_memory=True,
                  quiet_seconds=0)
    service = IcapService(watch, istag(), extra_domains=extra)
    api: web.AppRunner | None = None
    server: asyncio.Server | None = None
    background: list[asyncio.Task] = []
    watch.start()
    try:
        try:
            server = await serve(service, settings.host, settings.port)
        except OSError as e:
            raise RunError(f"cannot listen on {settings.host}:{settings.port} for ICAP: {e.strerror}. "
                           "Is Sentinelle already running? Or choose another --port.") from None
        if settings.api_port:
            app = create_app(store, events, load_or_create_token(data_dir), port=settings.api_port,
                             counts=lambda: watch.report() | {"unsaved": recorder.unsaved,
                                                              "icap": dict(service.answers)},
                             contacts=Contacts(data_dir), protected=protected,
                             extension_origins=extension_origins)
            api = web.AppRunner(app, handle_signals=False, access_log=None)
            await api.setup()
            await listen(api, settings.api_port)
        _stop_on_signals(stop)
        background += [asyncio.create_task(keep_counts(data_dir, watch)),
                       asyncio.create_task(protected.keep_fresh())]
        memory.spare_the_collector()  # what is alive now stays for the process's life
        say("Sentinelle is watching, as an ICAP service.\n"
            f"  Squid's icap_service: icap://{settings.host}:{settings.port}/respmod "
            f"({watch.workers} checking process(es))\n"
            + (f"  Extension API: http://127.0.0.1:{settings.api_port} (token: `sentinelle token`)\n"
               if settings.api_port else "")
            + "Press Ctrl-C to stop.")
        await stop.wait()
    finally:
        for task in background:
            task.cancel()
        if server is not None:
            server.close()
            await service.close()  # the connections Squid keeps open
        if api is not None:
            await api.cleanup()
        watch.stop()
        await save_what_was_seen(recorder)
        with contextlib.suppress(OSError):  # a full disk: the counts of this run are lost, nothing else
            write_counts(data_dir, watch.report())
        say(f"Images from social networks: {watch.counts.summary()}.")


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # Windows' proactor loop
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
