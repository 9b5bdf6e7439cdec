"""How the API tells a browser to send only the social hosts through the proxy: the PAC script
(`GET /proxy.pac`, for a browser set up by hand) and the proxy's settings (`GET /api/proxy`,
for the extension). The script itself is server/api/pac.py.
"""

from __future__ import annotations

from aiohttp import web

from sentinelle.server.api.common import error
from sentinelle.server.api.guard import PORT, contact
from sentinelle.server.api.pac import CONTENT_TYPE as PAC_CONTENT_TYPE
from sentinelle.server.contact import PAC

PROXY = web.AppKey("proxy", dict)


async def proxy_pac(request: web.Request) -> web.Response:
    """The PAC script: social hosts through the proxy, every other host DIRECT.

    A browser's proxy resolver fetches it without fetch metadata; a web page including it
    as a `<script>` sends no Origin but `Sec-Fetch-Site: cross-site`, and the guard refuses
    it: a site must not learn that Sentinelle runs on this PC."""
    pac = request.app[PROXY].get("pac")
    if pac is None:
        raise error(web.HTTPNotFound, "no proxy is running with this API")
    contact(request.app, PAC)
    return web.Response(text=pac, content_type=PAC_CONTENT_TYPE, headers={"Cache-Control": "no-store"})


async def proxy_settings(request: web.Request) -> web.Response:
    """What the extension needs to send only the social hosts to the proxy: the PAC script
    itself (Chrome's `chrome.proxy`, `pacScript.data`), or the domains and the proxy's port
    (Firefox's `proxy.onRequest`)."""
    proxy = request.app[PROXY]
    if "port" not in proxy:
        raise error(web.HTTPNotFound, "no proxy is running with this API")
    contact(request.app, PAC)
    return web.json_response({"host": "127.0.0.1", "port": proxy["port"],
                              "domains": proxy["domains"], "pac": proxy["pac"],
                              "pac_url": f"http://127.0.0.1:{request.app[PORT]}/proxy.pac"})


PROXY_ROUTES = [
    web.get("/api/proxy", proxy_settings),
    web.get("/proxy.pac", proxy_pac),
]
