"""`sentinelle run`: the proxy and the API in one process and one event loop, stopped cleanly.

This is where the parts are wired: the watcher add-on gets the protected set to match
against (`LiveIndex`) and a `record` that stores a sighting and pushes the alert to the
extension (`AlertRecorder`); the store runs in a thread of its own (`StoreThread`), so the
event loop that carries the browser's traffic never waits on SQLite or the disk.
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
from mitmproxy import exceptions
from mitmproxy.master import Master
from mitmproxy.options import Options
from sentinelle.proxy.fronts import memory
from sentinelle.proxy.fronts.addon import Watcher
from sentinelle.proxy.hosts import all_domains, normalise_domain
from sentinelle.proxy.fronts.watch import Watch
from sentinelle.server.alerts.events import Events
from sentinelle.server.alerts.protected import INDEX_FILE, LiveIndex
from sentinelle.server.alerts.recorder import AlertRecorder
from sentinelle.server.alerts.store_thread import StoreThread
from sentinelle.server.api.app import create_app
from sentinelle.server.api.pac import pac_script
from sentinelle.server.config import (
    ca_certificate,
    ensure_data_dir,
    load_or_create_token,
    mitmproxy_dir,
)
from sentinelle.server.contact import Contacts
from sentinelle.server.run.proxy_master import proxy_master
from sentinelle.server.setup.ca import ensure_ca, uncovered
from sentinelle.server.watch_counts import write_counts

logger = logging.getLogger("sentinelle")


COUNTS_EVERY_SECONDS = 30.0
# At a stop, how long sightings that wait for the disk may still be tried.
STOP_WRITING_SECONDS = 5.0


class RunError(Exception):
    """Sentinelle cannot start (a port in use, a bad option); the message says what to do."""


async def listen(api: web.AppRunner, port: int) -> None:
    """Serve the extension's API on 127.0.0.1:`port`; RunError says what to do if it is taken."""
    try:
        await web.TCPSite(api, "127.0.0.1", port).start()
    except OSError as e:
        raise RunError(f"cannot listen on 127.0.0.1:{port} for the API: {e.strerror}. "
                       "Is Sentinelle already running? Or choose another --api-port.") from None


@dataclass(frozen=True)
class Ports:
    proxy: int = 8080
    api: int = 8765


class _Announce:
    """Says, once the proxy listens, where to point the browser."""

    def __init__(self, data_dir: Path, ports: Ports, say: Callable[[str], None]) -> None:
        self._data_dir, self._ports, self._say = data_dir, ports, say

    def running(self) -> None:
        self._say(
            "Sentinelle is watching.\n"
            f"  Browser proxy (HTTP and HTTPS): 127.0.0.1:{self._ports.proxy}\n"
            f"  Proxy rules (social sites only): http://127.0.0.1:{self._ports.api}/proxy.pac\n"
            f"  CA certificate for the browser to trust: {ca_certificate(self._data_dir)}\n"
            f"  Extension API: http://127.0.0.1:{self._ports.api} (token: `sentinelle token`)\n"
            "Press Ctrl-C to stop."
        )


async def serve(
    data_dir: Path,
    ports: Ports = Ports(),
    mitmproxy_options: Sequence[str] = (),
    say: Callable[[str], None] = print,
    extension_origins: Sequence[str] = (),
) -> None:
    """Run until SIGINT or SIGTERM, then stop the proxy and the API and close the store.

    `extension_origins`: builds of the extension besides Sentinelle's own that may use the API.
    """
    ensure_data_dir(data_dir)
    # Sentinelle's name-constrained CA, made here if `sentinelle setup` has not made it yet.
    # Its leaves must carry only the name the browser asked for (upstream_cert=False), or
    # they fall outside the constraint. A CA from an older install is kept, unconstrained.
    ca, _ = ensure_ca(mitmproxy_dir(data_dir))
    if not ca.constrained:
        say("Warning: this CA can vouch for any site. Run `sentinelle setup --new-ca` to "
            "replace it with one limited to the social networks.")
    store = StoreThread(data_dir)
    try:
        await _serve(store, data_dir, ca, ports, mitmproxy_options, say, extension_origins)
    finally:
        store.close()


async def _serve(store: StoreThread, data_dir: Path, ca, ports: Ports, mitmproxy_options: Sequence[str],
                 say: Callable[[str], None], extension_origins: Sequence[str]) -> None:
    events = Events()
    protected = LiveIndex(store, data_dir / INDEX_FILE)
    recorder = AlertRecorder(store, events)
    watcher = Watcher(protected.current, recorder, watch=recorder.watch, tune_memory=True)
    master = proxy_master(Options(
        listen_host="127.0.0.1", listen_port=ports.proxy,
        confdir=str(mitmproxy_dir(data_dir)), upstream_cert=not ca.constrained,
    ))
    try:
        master.addons.add(watcher, _Announce(data_dir, ports, say))
        master.options.update(termlog_verbosity="warn")
        # Deferred, so that options of the scripts they load are known once the scripts are;
        # what is still unknown then (a typo, or an add-on this proxy does not run) is refused.
        master.options.set(*mitmproxy_options, defer=True)
        if master.options.deferred:
            raise exceptions.OptionsError(f"unknown option(s): {', '.join(master.options.deferred)}")
    except exceptions.OptionsError as e:
        raise RunError(f"bad --set option: {e}") from None
    domains = all_domains(normalise_domain(d) for d in master.options.sentinelle_extra_hosts)
    if outside := uncovered(ca.certificate, domains):
        say(f"Warning: Sentinelle's CA cannot vouch for {', '.join(outside)}: browsers will refuse "
            "them. `sentinelle setup --new-ca --extra-host DOMAIN` makes a CA that can.")
    proxy = {"pac": pac_script(domains, ports.proxy), "port": ports.proxy, "domains": domains}
    app = create_app(store, events, load_or_create_token(data_dir), port=ports.api,
                     counts=lambda: watcher.report() | {"unsaved": recorder.unsaved},
                     proxy=proxy, contacts=Contacts(data_dir), protected=protected,
                     extension_origins=extension_origins)
    api = web.AppRunner(app, handle_signals=False, access_log=None)
    await api.setup()
    background: list[asyncio.Task] = []
    try:
        await listen(api, ports.api)
        _stop_on_signals(master)
        background += [asyncio.create_task(keep_counts(data_dir, watcher)),
                       asyncio.create_task(protected.keep_fresh())]
        memory.spare_the_collector()  # what is alive now stays for the process's life
        await master.run()
    finally:
        for task in background:
            task.cancel()
        await _close_client_connections(master)
        await api.cleanup()
        await save_what_was_seen(recorder)
        with contextlib.suppress(OSError):  # a full disk: the counts of this run are lost, nothing else
            write_counts(data_dir, watcher.report())
        say(f"Images from social networks: {watcher.counts.summary()}.")


async def save_what_was_seen(recorder: AlertRecorder, timeout: float = STOP_WRITING_SECONDS) -> None:
    """Give the sightings still waiting for the disk a last chance to be written."""
    try:
        await asyncio.wait_for(recorder.flush(), timeout)
    except TimeoutError:
        logger.error("Sentinelle stops with %d sighting(s) it could not write (the disk refused them): "
                     "they are lost.", recorder.unsaved)


async def keep_counts(data_dir: Path, watcher: Watch, every: float = COUNTS_EVERY_SECONDS) -> None:
    """Write the watch's counts for `sentinelle doctor`, now and every so often."""
    while True:
        try:  # in a thread: a slow disk must not hold the proxy's loop
            await asyncio.to_thread(write_counts, data_dir, watcher.report())
        except OSError as e:  # a full disk: `doctor` reads older counts; the proxy goes on
            logger.debug("Sentinelle could not write its counts: %s", e)
        await asyncio.sleep(every)


def _stop_on_signals(master: Master) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, master.shutdown)
        except NotImplementedError:  # Windows' proactor loop
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(master.shutdown))


async def _close_client_connections(master: Master, timeout: float = 2.0) -> None:
    """mitmproxy leaves client connections open at shutdown: close them, and wait until
    they are closed, or the loop's end cancels their tasks and Python prints errors."""
    connections = master.addons.get("proxyserver").connections
    for handler in list(connections.values()):
        for io in list(handler.transports.values()):
            if io.handler is not None:
                io.handler.cancel("Sentinelle is stopping")
    deadline = asyncio.get_running_loop().time() + timeout
    while connections and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
