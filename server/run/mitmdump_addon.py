"""Sentinelle inside a mitmproxy you already run: `mitmdump -s server/run/mitmdump_addon.py`.

The wiring `sentinelle run` does, for someone else's mitmproxy: the watcher add-on with the
store of `$SENTINELLE_HOME` (else the usual data dir), and the API for the extension on
127.0.0.1 (option `sentinelle_api_port`, default 8765; 0 turns it off). Alerts are also in
`sentinelle log`.

mitmproxy must run in a Python where Sentinelle is installed (its own .venv/bin/mitmdump,
or `pipx inject mitmproxy /path/to/sentinelle`). Like `sentinelle run`, the watcher sets
`allow_hosts` to the social networks: every other host is tunnelled untouched. mitmproxy
signs with the CA of its own confdir (`~/.mitmproxy`), which is not name-constrained;
`--set confdir=<data dir>/mitmproxy --set upstream_cert=false` uses Sentinelle's instead.

It is a guest in that process: it changes nothing that is the whole process's (no freeze
of the garbage collector, no tuning of the allocator, as `sentinelle run` does in its own).
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from mitmproxy import ctx
from sentinelle.proxy.fronts.addon import Watcher
from sentinelle.proxy.hosts import all_domains, normalise_domain
from sentinelle.server.alerts.events import Events
from sentinelle.server.alerts.protected import INDEX_FILE, LiveIndex
from sentinelle.server.alerts.recorder import AlertRecorder
from sentinelle.server.alerts.store_thread import StoreThread
from sentinelle.server.api.app import create_app
from sentinelle.server.api.pac import pac_script
from sentinelle.server.config import (
    default_data_dir,
    ensure_data_dir,
    load_or_create_token,
)
from sentinelle.server.contact import Contacts
from sentinelle.server.run.runner import save_what_was_seen

logger = logging.getLogger("sentinelle")


class SentinelleApi:
    """The store's lifetime, the protected set kept fresh, and the extension's API next to
    someone else's proxy."""

    def __init__(self, data_dir, store: StoreThread, events: Events, watcher: Watcher,
                 protected: LiveIndex, recorder: AlertRecorder) -> None:
        self._data_dir, self._store, self._events, self._watcher = data_dir, store, events, watcher
        self._protected, self._recorder = protected, recorder
        self._runner: web.AppRunner | None = None
        self._fresh: asyncio.Task | None = None

    def load(self, loader) -> None:
        loader.add_option("sentinelle_api_port", int, 8765,
                          "Where Sentinelle's API for the extension listens on 127.0.0.1 (0: off).")

    async def running(self) -> None:
        self._fresh = asyncio.create_task(self._protected.keep_fresh())
        port = ctx.options.sentinelle_api_port
        logger.warning("Sentinelle: watching the social networks; data dir %s", self._data_dir)
        if not port:
            return
        domains = all_domains(normalise_domain(d) for d in ctx.options.sentinelle_extra_hosts)
        proxy_port = ctx.options.listen_port or 8080
        app = create_app(self._store, self._events, load_or_create_token(self._data_dir), port=port,
                         counts=lambda: self._watcher.report() | {"unsaved": self._recorder.unsaved},
                         contacts=Contacts(self._data_dir), protected=self._protected,
                         proxy={"pac": pac_script(domains, proxy_port), "port": proxy_port,
                                "domains": domains})
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, "127.0.0.1", port).start()
        except OSError as e:
            logger.error("Sentinelle: cannot listen on 127.0.0.1:%d for the API (%s); "
                         "choose another with --set sentinelle_api_port=PORT", port, e.strerror)

    async def done(self) -> None:
        if self._fresh is not None:
            self._fresh.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        await save_what_was_seen(self._recorder)
        self._store.close()


def _addons() -> list:
    data_dir = ensure_data_dir(default_data_dir())
    store = StoreThread(data_dir)
    events = Events()
    protected = LiveIndex(store, data_dir / INDEX_FILE)
    recorder = AlertRecorder(store, events)
    watcher = Watcher(protected.current, recorder, watch=recorder.watch)  # a guest: the allocator is not its to tune
    return [watcher, SentinelleApi(data_dir, store, events, watcher, protected, recorder)]


addons = _addons()
