"""The mitmproxy that `sentinelle run` runs: only the parts a watching proxy needs.

mitmdump loads 36 add-ons (saving and replaying flows, rewriting requests and responses, a
browser launcher…), and mitmproxy offers every event of every flow to each of them in turn:
some 1.5 µs per add-on and event on the benchmark machine, eight events per image, whether
the add-on has a hook for it or not. Sentinelle runs 9: the ones that carry its traffic, and
none that could write flows to disk or change what the browser gets — their options are
unknown here, so `--set save_stream_file=…` is refused. Counted under callgrind, 500 images
over 32 connections, its proxy executes a quarter fewer instructions per image than plain
mitmdump, its own add-on's work included (benchmarks/proxy_overhead.py).
"""

from __future__ import annotations

from mitmproxy import master
from mitmproxy.addons import (
    block,
    core,
    disable_h2c,
    errorcheck,
    next_layer,
    proxyserver,
    script,
    tlsconfig,
)
from mitmproxy.options import Options


def carrying_addons() -> list[object]:
    """mitmproxy's add-ons that Sentinelle's proxy runs, in mitmproxy's own order."""
    return [
        core.Core(),  # the core options and commands
        block.Block(),  # refuses clients from other machines (block_global)
        disable_h2c.DisableH2C(),  # refuses the cleartext HTTP/2 upgrade mitmproxy cannot carry
        proxyserver.Proxyserver(),  # listens, and carries the connections
        script.ScriptLoader(),  # --set scripts=…, as the tests' loopback DNS uses
        next_layer.NextLayer(),  # intercepts the social hosts only (allow_hosts), tunnels the rest
        tlsconfig.TlsConfig(),  # the certificates the browser gets, the checks of the origin's
        errorcheck.ErrorCheck(),  # stops at start-up on an error (a port in use), as mitmdump does
    ]


def proxy_master(options: Options) -> master.Master:
    """A mitmproxy master with the carrying add-ons and mitmproxy's terminal log; Sentinelle's
    own add-ons are added by the caller."""
    proxy = master.Master(options, with_termlog=True)
    proxy.addons.add(*carrying_addons())
    return proxy
