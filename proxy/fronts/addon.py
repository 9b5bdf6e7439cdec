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

from sentinelle.proxy.feeds.attribution import MAX_FEED_BYTES
from sentinelle.proxy.fronts.sighting import evidence_headers
from sentinelle.proxy.fronts.watch import FEED, IMAGE, MAX_IMAGE_BYTES, MAX_PENDING, Seen, Watch, triage
from sentinelle.proxy.hosts import (
    all_domains,
    allow_hosts_patterns,
    normalise_domain,
    platform_of,
)


def _largest_checked(max_image_bytes: int) -> str:
    """mitmproxy's `stream_large_bodies`: bodies larger than any the watch would look at."""
    return str(max(max_image_bytes, MAX_FEED_BYTES))


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
        # built-in list from the start, and let configure() add the extra hosts. Bodies past
        # the largest one checked are passed on as they come, never held whole: mitmproxy 11
        # holds every body it intercepts (the social hosts, and plain HTTP, which it never
        # tunnels) unless told to stream it, and with `stream_large_bodies` it streams one
        # whose Content-Length is larger, or, without one, once it has held that much. The
        # hosts it tunnels are relayed as bytes, never held.
        loader.master.options.update(allow_hosts=allow_hosts_patterns(all_domains()),
                                     stream_large_bodies=_largest_checked(MAX_IMAGE_BYTES))

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
        if "sentinelle_max_image_bytes" in updated:
            ctx.options.update(stream_large_bodies=_largest_checked(ctx.options.sentinelle_max_image_bytes))
        # Read at every image: kept in the watch, not looked up in the options each time.
        self.watch.max_image_bytes = ctx.options.sentinelle_max_image_bytes
        self.watch.max_pending = ctx.options.sentinelle_max_pending

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        # mitmproxy holds a body whole unless told to stream it, and plain HTTP is never
        # tunnelled: requests, which the watch never looks at, go on as they come (an upload of
        # gigabytes would be held, otherwise).
        flow.request.stream = True

    def request(self, flow: http.HTTPFlow) -> None:
        self.watch.busy()

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        # The response of a host that is no social network's goes on as it comes; a social
        # host's is held up to the largest body checked (stream_large_bodies), then streamed.
        if self._platform(flow) is None:
            assert flow.response is not None  # mitmproxy calls this hook with the response's head read
            flow.response.stream = True

    def response(self, flow: http.HTTPFlow) -> None:
        self.watch.busy()
        response = flow.response
        if response is None:
            return
        if self.watch.reported:  # the parent reported accounts: is this one's profile answered?
            self._reported_profile(flow, response)
        if response.status_code != 200:
            return
        platform = self._platform(flow)
        if platform is None:
            return  # plain HTTP is never tunnelled, so check the host here too
        body = response.raw_content
        content_type = response.headers.get("content-type", "")
        if body is None:
            if response.stream and triage(200, content_type, b"") == IMAGE:
                self.watch.pass_unchecked(platform, "too large")  # streamed past the limit
            return
        kind = triage(response.status_code, content_type, body[:16])
        if kind == FEED:
            self.watch.read_feed(platform, flow.request.url, content_type, body,
                                 response.headers.get("content-encoding", "identity"))
        elif kind is not None:
            # The rest (URLs, headers kept as evidence) is read once the proxy is quiet
            # (`describe`), and a compressed body is decoded in a worker, within the limit:
            # mitmproxy sends the response when this hook returns, and every microsecond here
            # is one each image waits.
            self.watch.take_image(flow, platform, body)

    def _platform(self, flow: http.HTTPFlow) -> str | None:
        """The social network whose host mitmproxy connected to and checked the certificate of.

        `request.host` is where mitmproxy connected (the CONNECT's host, or an absolute URL's),
        and over TLS it checked that the host's certificate names it; never the Host header,
        which any client writes. Plain HTTP counts for nothing: no certificate says whose an
        answer is, and the social networks send none (browsers would refuse it as mixed
        content). Otherwise a program on this PC could send a page of its own through the
        proxy labelled `Host: www.facebook.com`, or from `http://scontent.xx.fbcdn.net` with
        the name resolved its way, and raise alerts naming accounts it made up."""
        if not flow.server_conn.tls_established:
            return None
        return platform_of(flow.request.host, self._extra_domains)

    def _reported_profile(self, flow: http.HTTPFlow, response: http.Response) -> None:
        """Hand the answer for a reported account's profile to the watch, whatever its status
        (a 404 is what a takedown looks like). A live profile's answer goes on to be read as a feed."""
        platform = self._platform(flow)
        url = flow.request.url  # the checked host's, not the Host header's
        if platform is None or response.raw_content is None or not self.watch.wants_profile(platform, url):
            return
        self.watch.read_profile(platform, url, response.status_code, response.headers.get("content-type", ""),
                                response.raw_content, response.headers.get("content-encoding", "identity"))

    # -- the front's part of the watch, off the response path ---------------------

    def describe(self, flow: http.HTTPFlow, platform: str, seen_at: float) -> Seen:
        response = flow.response
        # Only a response whose body was held is queued to be described (`response`, take_image).
        assert response is not None and response.raw_content is not None
        return Seen(
            seen_at=datetime.fromtimestamp(seen_at, UTC),
            image_url=flow.request.url,
            page_url=page_of(flow.request),
            host=flow.request.host,
            platform=platform,
            content_type=response.headers.get("content-type", ""),
            body=response.raw_content,
            headers=evidence_headers(response.headers.items(multi=True)),
            coding=response.headers.get("content-encoding", "identity"),
        )
