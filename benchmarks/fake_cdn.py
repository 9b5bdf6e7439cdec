"""A fake social CDN for benchmarks: serves photos as 1080-px JPEGs over HTTPS on loopback.

    python -m benchmarks.fake_cdn PORT CERT KEY PHOTO...

`/img/N.jpg` is the N-th photo, upscaled to 1080 px wide as platforms serve them;
`/img/N.jpg?delay=40` answers it after 40 ms, as a real CDN does across the internet.
"""

from __future__ import annotations

import asyncio
import io
import ssl
import sys

from aiohttp import web
from PIL import Image


def served(path: str) -> bytes:
    with Image.open(path) as image:
        image = image.convert("RGB").resize((1080, round(image.height * 1080 / image.width)))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
        return out.getvalue()


def main() -> None:
    port, cert, key, *photos = sys.argv[1:]
    bodies = [served(p) for p in photos]

    async def image(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if n >= len(bodies):
            raise web.HTTPNotFound()
        # The delay is asked per request, so one CDN serves both the loopback-fast legs and
        # the paced one (a sleep, not work: the CDN's own CPU use stays the same).
        try:
            delay_ms = float(request.query.get("delay", 0))
        except ValueError:
            raise web.HTTPBadRequest() from None
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        return web.Response(body=bodies[n], content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/img/{n:\\d+}.jpg", image)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    web.run_app(app, host="127.0.0.1", port=int(port), ssl_context=context, print=None,
                access_log=None)


if __name__ == "__main__":
    main()
