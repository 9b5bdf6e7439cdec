"""`sentinelle run`: the mitmproxy front attached to Sentinelle, in one process and one event
loop, stopped cleanly.

The wiring is the composition root's (server/run/root.py); here is what is mitmproxy's: the
proxy's options (Sentinelle's name-constrained CA, only the add-ons that carry its traffic:
server/run/proxy_master.py), its connections bounded (server/run/proxy_connections.py), the
proxy's rules for the extension and the PAC, the signals that stop it, and the client
connections mitmproxy leaves open at shutdown.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Sequence

from mitmproxy import exceptions
from mitmproxy.master import Master
from mitmproxy.options import Options

from sentinelle.proxy.fronts.addon import Watcher
from sentinelle.proxy.hosts import all_domains, normalise_domain
from sentinelle.server.api.pac import pac_script
from sentinelle.server.config import ca_certificate, mitmproxy_dir
from sentinelle.server.run.connections import proxy_connections
from sentinelle.server.run.proxy_connections import ProxyConnections
from sentinelle.server.run.proxy_master import proxy_master
from sentinelle.server.run.root import RunError, Sentinelle
from sentinelle.server.settings import Settings
from sentinelle.server.setup.ca import ensure_ca, uncovered

__all__ = ["RunError", "serve"]


class _Announce:
    """Says, once the proxy listens, where to point the browser."""

    def __init__(self, settings: Settings, say: Callable[[str], None]) -> None:
        self._settings, self._say = settings, say

    def running(self) -> None:
        s = self._settings
        self._say(
            "Sentinelle is watching.\n"
            f"  Browser proxy (HTTP and HTTPS): 127.0.0.1:{s.proxy_port}\n"
            f"  Proxy rules (social sites only): http://127.0.0.1:{s.api_port}/proxy.pac\n"
            f"  CA certificate for the browser to trust: {ca_certificate(s.data_dir)}\n"
            f"  Extension API: http://127.0.0.1:{s.api_port} (token: `sentinelle token`)\n"
            "Press Ctrl-C to stop."
        )


async def serve(settings: Settings, mitmproxy_options: Sequence[str] = (),
                say: Callable[[str], None] = print) -> None:
    """Run until SIGINT or SIGTERM, then stop the proxy, the API and the rest, in order."""
    sentinelle = Sentinelle(settings)
    try:
        await _serve(sentinelle, mitmproxy_options, say)
    finally:
        say(f"Images from social networks: {await sentinelle.close()}.")


async def _serve(sentinelle: Sentinelle, mitmproxy_options: Sequence[str], say: Callable[[str], None]) -> None:
    settings = sentinelle.settings
    # Sentinelle's name-constrained CA, made here if `sentinelle setup` has not made it yet.
    # Its leaves must carry only the name the browser asked for (upstream_cert=False), or
    # they fall outside the constraint. A CA from an older install is kept, unconstrained.
    ca, _ = ensure_ca(mitmproxy_dir(settings.data_dir))
    if not ca.constrained:
        say("Warning: this CA can vouch for any site. Run `sentinelle setup --new-ca` to "
            "replace it with one limited to the social networks.")
    master = proxy_master(Options(
        listen_host="127.0.0.1", listen_port=settings.proxy_port,
        confdir=str(mitmproxy_dir(settings.data_dir)), upstream_cert=not ca.constrained,
    ))
    try:
        master.addons.add(Watcher(sentinelle.watch), _Announce(settings, say))
        master.options.update(termlog_verbosity="warn")
        if settings.extra_hosts:
            master.options.update(sentinelle_extra_hosts=list(settings.extra_hosts))
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
    await sentinelle.start(proxy=proxy_rules(domains, settings.proxy_port))
    # The proxy's share of the open files, now that the limit is raised: a client hoarding
    # connections leaves the API, and the checkers, theirs.
    master.addons.add(ProxyConnections(proxy_connections(sentinelle.open_files)))
    try:
        _stop_on_signals(master)
        await master.run()
    finally:
        await _close_client_connections(master)


def proxy_rules(domains: Sequence[str], proxy_port: int) -> dict:
    """What the API tells the extension and serves as the PAC: the social domains, to the proxy."""
    return {"pac": pac_script(domains, proxy_port), "port": proxy_port, "domains": list(domains)}


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
