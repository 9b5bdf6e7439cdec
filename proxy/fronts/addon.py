"""The mitmproxy front: an add-on that picks the images social networks send and hands them to
the watch, off the response path.

The browser gets every response at once and unchanged. The watch (proxy/fronts/watch.py) does
the work every front shares: images wait for the proxy's next pause, then go to a process
pool to be decoded within a limit, fingerprinted and searched for; feeds are read there for
who posted which image; only a match is handed on, through the `record` callable the root
wired in. What is mitmproxy's is here: its options, its hooks, reading a flow. This is the
only module of proxy/ that imports mitmproxy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from mitmproxy import ctx, exceptions, http
from sentinelle.proxy.fronts.sighting import evidence_headers
from sentinelle.proxy.fronts.watch import FEED, MAX_IMAGE_BYTES, MAX_PENDING, Seen, Watch, triage
from sentinelle.proxy.hosts import (
    all_domains,
    allow_hosts_patterns,
    normalise_domain,
    platform_of,
)


def page_of(request: http.Request) -> str | None:
    """The page an image was shown on, as far as the browser told: Referer, else Origin."""
    return request.headers.get("referer") or request.headers.get("origin") or None


class Watcher:
    """Sentinelle's mitmproxy add-on: the front of `watch` (it attaches itself), fed by
    mitmproxy's hooks. Starting and stopping the watch is its owner's (the composition root)."""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch
        watch.attach(self)
        self._extra_domains: tuple[str, ...] = ()

    # -- mitmproxy hooks --------------------------------------------------------

    def load(self, loader) -> None:
        loader.add_option(
            "sentinelle_extra_hosts", Sequence[str], [],
            "Domains to watch besides the built-in social networks (subdomains included).",
        )
        loader.add_option(
            "sentinelle_max_image_bytes", int, MAX_IMAGE_BYTES,
            "Images larger than this, as received or once decoded, are passed to the browser "
            "unchecked, and counted.",
        )
        loader.add_option(
            "sentinelle_max_pending", int, MAX_PENDING,
            "Images waiting to be checked before new ones are shed, and counted.",
        )
        # configure() is not called for an add-on's own defaults: intercept the
        # built-in list from the start, and let configure() add the extra hosts.
        loader.master.options.update(allow_hosts=allow_hosts_patterns(all_domains()))

    def configure(self, updated: set[str]) -> None:
        if "sentinelle_extra_hosts" in updated:
            try:
                extra = tuple(normalise_domain(d) for d in ctx.options.sentinelle_extra_hosts)
            except ValueError as e:
                raise exceptions.OptionsError(f"sentinelle_extra_hosts: {e}") from e
            self._extra_domains = extra
            # Only these hosts are intercepted; every other one is tunnelled untouched.
            ctx.options.update(allow_hosts=allow_hosts_patterns(all_domains(extra)))
        for name in ("sentinelle_max_image_bytes", "sentinelle_max_pending"):
            if name in updated and getattr(ctx.options, name) < 1:
                raise exceptions.OptionsError(f"{name} must be at least 1")
        # Read at every image: kept in the watch, not looked up in the options each time.
        self.watch.max_image_bytes = ctx.options.sentinelle_max_image_bytes
        self.watch.max_pending = ctx.options.sentinelle_max_pending

    def request(self, flow: http.HTTPFlow) -> None:
        self.watch.busy()

    def response(self, flow: http.HTTPFlow) -> None:
        self.watch.busy()
        response = flow.response
        if response is None or response.status_code != 200:
            return
        # The host mitmproxy connected to; the Host header only when that is no social host
        # (an address): reading the header costs 6 µs, most of this hook's work.
        platform = (platform_of(flow.request.host, self._extra_domains)
                    or platform_of(flow.request.pretty_host, self._extra_domains))
        if platform is None:
            return  # plain HTTP is never tunnelled, so check the host here too
        body = response.raw_content
        if body is None:
            return
        content_type = response.headers.get("content-type", "")
        kind = triage(response.status_code, content_type, body[:16])
        if kind == FEED:
            self.watch.read_feed(platform, flow.request.pretty_url, content_type, body,
                                 response.headers.get("content-encoding", "identity"))
        elif kind is not None:
            # The rest (URLs, headers kept as evidence) is read once the proxy is quiet
            # (`describe`), and a compressed body is decoded in a worker, within the limit:
            # mitmproxy sends the response when this hook returns, and every microsecond here
            # is one each image waits.
            self.watch.take_image(flow, platform, body)

    # -- the front's part of the watch, off the response path ---------------------

    def describe(self, flow: http.HTTPFlow, platform: str, seen_at: float) -> Seen:
        response = flow.response
        return Seen(
            seen_at=datetime.fromtimestamp(seen_at, UTC),
            image_url=flow.request.pretty_url,
            page_url=page_of(flow.request),
            host=flow.request.pretty_host,
            platform=platform,
            content_type=response.headers.get("content-type", ""),
            body=response.raw_content,
            headers=evidence_headers(response.headers.items(multi=True)),
            coding=response.headers.get("content-encoding", "identity"),
        )
