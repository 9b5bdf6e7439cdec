"""Sentinelle inside a mitmproxy you already run: `mitmdump -s server/run/mitmdump_addon.py`.

The composition root (server/run/root.py) with the mitmproxy front, for someone else's
mitmproxy: the store of `$SENTINELLE_HOME` (else the usual data dir), and the API for the
extension on 127.0.0.1 (option `sentinelle_api_port`; 0 turns it off; another build of the
extension: `sentinelle_extension_origins`). Alerts are also in `sentinelle log`, and the
counts in `sentinelle doctor`, as with `sentinelle run`.

mitmproxy must run in a Python where Sentinelle is installed (its own .venv/bin/mitmdump,
or `pipx inject mitmproxy /path/to/sentinelle`). Like `sentinelle run`, the watcher sets
`allow_hosts` to the social networks: every other host is tunnelled untouched. mitmproxy
signs with the CA of its own confdir (`~/.mitmproxy`), which is not name-constrained;
`--set confdir=<data dir>/mitmproxy --set upstream_cert=false` uses Sentinelle's instead.

It is a guest in that process: it changes nothing that is the whole process's (no freeze
of the garbage collector, no tuning of the allocator, as `sentinelle run` does in its own).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from mitmproxy import ctx

from sentinelle.proxy.fronts.addon import Watcher
from sentinelle.proxy.hosts import all_domains, normalise_domain
from sentinelle.server.config import default_data_dir
from sentinelle.server.run.root import RunError, Sentinelle
from sentinelle.server.run.runner import proxy_rules
from sentinelle.server.settings import API_PORT, PROXY_PORT, Settings, help_of

logger = logging.getLogger("sentinelle")


class Guest:
    """Starts and stops Sentinelle with someone else's proxy, with the API next to it."""

    def __init__(self, sentinelle: Sentinelle) -> None:
        self._sentinelle = sentinelle

    def load(self, loader) -> None:
        loader.add_option("sentinelle_api_port", int, API_PORT,
                          f"{help_of('api_port')} 0: no API.")
        loader.add_option("sentinelle_extension_origins", Sequence[str], [], help_of("extension_origins"))

    async def running(self) -> None:
        sentinelle = self._sentinelle
        domains = all_domains(normalise_domain(d) for d in ctx.options.sentinelle_extra_hosts)
        proxy_port = ctx.options.listen_port or PROXY_PORT
        sentinelle.settings = replace(sentinelle.settings, api_port=ctx.options.sentinelle_api_port,
                                      proxy_port=proxy_port, extra_hosts=tuple(domains),
                                      extension_origins=tuple(ctx.options.sentinelle_extension_origins))
        logger.warning("Sentinelle: watching the social networks; data dir %s", sentinelle.data_dir)
        try:
            await sentinelle.start(proxy=proxy_rules(domains, proxy_port))
        except RunError as e:
            logger.error("Sentinelle: %s (mitmdump: --set sentinelle_api_port=PORT)", e)

    async def done(self) -> None:
        logger.warning("Sentinelle: images from social networks: %s.", await self._sentinelle.close())


def _addons() -> list:
    # A guest: the allocator and the collector are not its to tune.
    sentinelle = Sentinelle(Settings(default_data_dir()), own_process=False)
    return [Watcher(sentinelle.watch), Guest(sentinelle)]


addons = _addons()
