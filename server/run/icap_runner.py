"""`sentinelle icap`: the ICAP front attached to Sentinelle, behind a network's Squid, in one
process and one event loop, stopped cleanly.

The wiring is the composition root's (server/run/root.py), as for `sentinelle run`: the same
protected set, recorder and store, the same API for the extension, `sentinelle log` and
`export`. Squid decrypts the social networks and sends their responses here (`sentinelle
setup squid` writes its configuration); the service answers at once
(proxy/fronts/icap_service.py) and the watch checks the images in its worker processes. No
mitmproxy here.

One service process, `workers` checking processes: Squid's `adaptation_service_set` is an
ordered list of stand-bys, not a balancer (the first service that is up takes every
transaction), so more ICAP processes would not share the load; and the feed that names an
image's account must be read in the process that later sees the image. Reading ICAP is light
(the checking is what costs), so one event loop carries it; `--workers` sets the checkers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
from collections.abc import Callable

from sentinelle.proxy.fronts.icap_service import LOOPBACK, IcapService, peer_networks, serve
from sentinelle.proxy.hosts import normalise_domain
from sentinelle.server.config import load_or_create_icap_key
from sentinelle.server.run.root import RunError, Sentinelle
from sentinelle.server.settings import Settings
from sentinelle.server.version import sentinelle_version


def istag() -> str:
    """The service's tag for Squid: it changes with Sentinelle's version, the only thing that
    changes what the service does."""
    return f'"sentinelle-{sentinelle_version()}"'


async def serve_icap(settings: Settings, say: Callable[[str], None] = print,
                     stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT or SIGTERM (or `stop` is set), then stop the service, the API and the rest."""
    try:
        extra = tuple(normalise_domain(d) for d in settings.extra_hosts)
    except ValueError as e:
        raise RunError(f"--extra-host: {e}") from None
    allow = settings.icap_allow or LOOPBACK
    try:
        peer_networks(allow)
    except ValueError as e:
        raise RunError(f"--allow: {e}") from None
    # Images go to the checker as soon as a worker is free (quiet_seconds=0): a network is never
    # quiet at its peak, and the checkers, at idle priority, take only the cores Squid leaves.
    sentinelle = Sentinelle(settings, quiet_seconds=0)
    service = IcapService(sentinelle.watch, istag(), key=load_or_create_icap_key(settings.data_dir),
                          allow=allow, extra_domains=extra)
    server: asyncio.Server | None = None
    try:
        try:
            server = await serve(service, settings.icap_host, settings.icap_port)
        except OSError as e:
            raise RunError(f"cannot listen on {settings.icap_host}:{settings.icap_port} for ICAP: "
                           f"{e.strerror}. Is Sentinelle already running? Or choose another --port.") from None
        await sentinelle.start(extra_counts=lambda: {"icap": dict(service.answers)})
        stop = stop or asyncio.Event()
        _stop_on_signals(stop)
        if not is_loopback(settings.icap_host):
            say(beyond_this_machine(settings.icap_host, allow))
        say("Sentinelle is watching, as an ICAP service.\n"
            f"  Squid's icap_service: icap://{settings.icap_host}:{settings.icap_port}/respmod "
            f"({sentinelle.watch.workers} checking process(es))\n"
            + (f"  Extension API: http://127.0.0.1:{settings.api_port} (token: `sentinelle token`)\n"
               if settings.api_port else "")
            + "Press Ctrl-C to stop.")
        await stop.wait()
    finally:
        if server is not None:
            server.close()
            await service.close()  # the connections Squid keeps open
        say(f"Images from social networks: {await sentinelle.close()}.")


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def beyond_this_machine(host: str, allow: tuple[str, ...]) -> str:
    """What to say when the service listens where other machines reach it."""
    return (f"WARNING: the ICAP service listens on {host}, where other machines reach it.\n"
            f"  It answers only {', '.join(allow)} (--allow), and looks only at responses that carry the\n"
            "  key Squid's configuration holds (`sentinelle setup squid` writes it). Any program on an\n"
            "  allowed machine that reads that configuration could still send it images: keep this\n"
            "  port closed to every other machine, and the configuration readable by Squid alone."
            + ("\n  Squid on another machine: allow its address with --allow ADDRESS." if allow == LOOPBACK else ""))


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # Windows' proactor loop
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
