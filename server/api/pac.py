"""The proxy auto-config (PAC) script: social hosts go to Sentinelle's proxy, everything else DIRECT.

The browser then sends Sentinelle nothing but the social networks' traffic: a bank, a
school or a doctor never even reaches the proxy. The script holds only what is public
already: the list of social domains in `proxy/hosts.py` and the proxy's loopback port.

No `; DIRECT` fallback for the social hosts: when Sentinelle is stopped they fail to load
rather than pass unwatched, so a stopped Sentinelle is noticed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

CONTENT_TYPE = "application/x-ns-proxy-autoconfig"


def proxy_directive(proxy_port: int, proxy_host: str = "127.0.0.1") -> str:
    return f"PROXY {proxy_host}:{proxy_port}"


def pac_script(domains: Iterable[str], proxy_port: int, proxy_host: str = "127.0.0.1") -> str:
    """A PAC script (plain ES5, for every browser's PAC engine) for these domains and their subdomains."""
    listed = json.dumps(list(dict.fromkeys(domains)))
    return (
        "// Sentinelle: social networks through the local proxy, every other site direct.\n"
        f"var SOCIAL = {listed};\n"
        "function FindProxyForURL(url, host) {\n"
        "  host = host.toLowerCase();\n"
        "  for (var i = 0; i < SOCIAL.length; i++) {\n"
        "    var d = SOCIAL[i];\n"
        '    if (host === d || dnsDomainIs(host, "." + d)) {\n'
        f'      return "{proxy_directive(proxy_port, proxy_host)}";\n'
        "    }\n"
        "  }\n"
        '  return "DIRECT";\n'
        "}\n"
    )
