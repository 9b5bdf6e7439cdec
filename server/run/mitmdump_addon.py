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
"""

from __future__ import annotations

import logging

from aiohttp import web
from mitmproxy import ctx
from sentinelle.proxy import memory
from sentinelle.proxy.addon import Watcher
from sentinelle.proxy.hosts import all_domains, normalise_domain
from sentinelle.server.alerts.events import Events
from sentinelle.server.alerts.protected import INDEX_FILE, ProtectedSet
from sentinelle.server.alerts.store import Store
from sentinelle.server.api.app import create_app
from sentinelle.server.api.pac import pac_script
from sentinelle.server.config import (
    default_data_dir,
    ensure_data_dir,
    load_or_create_token,
)
from sentinelle.server.contact import Contacts
from sentinelle.server.run.runner import alert_recorder

logger = logging.getLogger("sentinelle")


class SentinelleApi:
    """The store's lifetime, and the extension's API next to someone else's proxy."""

    def __init__(self, data_dir, store: Store, events: Events, watcher: Watcher) -> None:
        self._data_dir, self._store, self._events, self._watcher = data_dir, store, events, watcher
        self._runner: web.AppRunner | None = None

    def load(self, loader) -> None:
        loader.add_option("sentinelle_api_port", int, 8765,
                          "Where Sentinelle's API for the extension listens on 127.0.0.1 (0: off).")

    async def running(self) -> None:
        memory.spare_the_collector()  # as `sentinelle run` does, once everything is loaded
        port = ctx.options.sentinelle_api_port
        logger.warning("Sentinelle: watching the social networks; data dir %s", self._data_dir)
        if not port:
            return
        domains = all_domains(normalise_domain(d) for d in ctx.options.sentinelle_extra_hosts)
        proxy_port = ctx.options.listen_port or 8080
        app = create_app(self._store, self._events, load_or_create_token(self._data_dir), port=port,
                         counts=self._watcher.report, contacts=Contacts(self._data_dir),
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
        if self._runner is not None:
            await self._runner.cleanup()
        self._store.close()


def _addons() -> list:
    data_dir = ensure_data_dir(default_data_dir())
    store = Store(data_dir)
    events = Events()
    watcher = Watcher(ProtectedSet(store, data_dir / INDEX_FILE).index, alert_recorder(store, events))
    return [watcher, SentinelleApi(data_dir, store, events, watcher)]


addons = _addons()
