"""The mitmproxy add-on: picks the images social networks send and checks them off the response path.

The browser gets every response at once and unchanged. This is the mitmproxy front of the
watch (proxy/fronts/watch.py), which does the work every front shares: images wait for the proxy's
next pause, then go to a process pool to be fingerprinted and searched for; feeds are read
there for who posted which image; only a match is handed on, through the `record` callable
the runner wired in. What is mitmproxy's is here: its options, its hooks, reading a flow.
This is the only module that imports mitmproxy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from mitmproxy import ctx, exceptions, http
from sentinelle.proxy.hosts import (
    all_domains,
    allow_hosts_patterns,
    normalise_domain,
    platform_of,
)
from sentinelle.proxy.fronts.sighting import evidence_headers
from sentinelle.proxy.fronts.watch import (  # noqa: F401 (the add-on's constants, as its users name them)
    CONFIRM_SECONDS,
    FEED,
    LATE_SECONDS,
    MAX_IMAGE_BYTES,
    MAX_PENDING,
    QUIET_SECONDS,
    SHED,
    WORKER_LOST,
    Seen,
    Watch,
    default_workers,
    triage,
)


def page_of(request: http.Request) -> str | None:
    """The page an image was shown on, as far as the browser told: Referer, else Origin."""
    return request.headers.get("referer") or request.headers.get("origin") or None


class Watcher(Watch):
    """Sentinelle's mitmproxy add-on: the watch, fed by mitmproxy's hooks.

    `protected`, `record`, `watch`, `workers`, `tune_memory`: as for `Watch`. Images wait for the
    proxy's quiet moments (QUIET_SECONDS): on a family PC the proxy shares its cores with the
    browser.
    """

    def __init__(self, protected, record, *, watch=None, workers: int | None = None, tune_memory: bool = False) -> None:
        super().__init__(protected, record, watch=watch, workers=workers, tune_memory=tune_memory)
        self._extra_domains: tuple[str, ...] = ()

    # -- mitmproxy hooks --------------------------------------------------------

    def load(self, loader) -> None:
        loader.add_option(
            "sentinelle_extra_hosts", Sequence[str], [],
            "Domains to watch besides the built-in social networks (subdomains included).",
        )
        loader.add_option(
            "sentinelle_max_image_bytes", int, MAX_IMAGE_BYTES,
            "Images larger than this are passed to the browser unchecked, and counted.",
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
        # Read at every image: kept here, not looked up in the options each time.
        self.max_image_bytes = ctx.options.sentinelle_max_image_bytes
        self.max_pending = ctx.options.sentinelle_max_pending

    def running(self) -> None:
        self.start()

    def done(self) -> None:
        self.stop()

    def request(self, flow: http.HTTPFlow) -> None:
        self.busy()

    def response(self, flow: http.HTTPFlow) -> None:
        self.busy()
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
            self._read_feed(flow, platform, content_type)
        elif kind is not None:
            # The rest (URLs, headers kept as evidence, a compressed body's decoding) is read once
            # the proxy is quiet (`describe`): mitmproxy sends the response when this hook returns,
            # and every microsecond here is one each image waits.
            self.take_image(flow, platform, body)

    # -- reading a flow, off the response path ------------------------------------

    def _read_feed(self, flow: http.HTTPFlow, platform: str, content_type: str) -> None:
        if not self.wants_feed(len(flow.response.raw_content)):
            return  # passed unread: its images are still checked, only without an account
        body = flow.response.get_content(strict=False) or b""
        self.read_feed(platform, flow.request.pretty_url, content_type, body)

    def describe(self, flow: http.HTTPFlow, platform: str, seen_at: float) -> Seen | None:
        response = flow.response
        body = response.raw_content
        if response.headers.get("content-encoding", "identity").lower() != "identity":
            body = response.get_content(strict=False) or b""
            if reason := self._unfit(body):
                self._skip(platform, reason)
                return None
        return Seen(
            seen_at=datetime.fromtimestamp(seen_at, UTC),
            image_url=flow.request.pretty_url,
            page_url=page_of(flow.request),
            host=flow.request.pretty_host,
            platform=platform,
            content_type=response.headers.get("content-type", ""),
            body=body,
            headers=evidence_headers(response.headers.items(multi=True)),
        )
