"""The ICAP front: Sentinelle's watch behind a network's Squid, as a RESPMOD service.

Squid sends each response of a social host it decrypted (squid.conf: `adaptation_access`);
this service reads it, answers at once with the message unchanged, and hands the image (or
the feed) to the watch (proxy/fronts/watch.py), which checks it off the response path as it does
for the mitmproxy front. It never changes a response and never waits for a check.

How it answers, cheapest first (RFC 3507 §4.5; Squid's ModXact.cc):
- a response of no interest (another host, not an image nor a feed, not a 200, no body;
  unless it answers for the profile of an account the parent reported, read whatever its
  status, as the mitmproxy front does): `204 No Content` as soon as its preview is read;
- a body that fits in the preview (`0; ieof`): it came whole; `204`;
- a larger body: `100 Continue`, then the rest; `204` when Squid said `Allow: 204` (it kept a
  copy: Squid does for a body whose size it knows and under 64 KB, its backup limit), else
  the message given back unchanged, chunk by chunk as it comes (`200`, an echo): Squid keeps
  no copy of a larger body, so there is no other way to see it and pass it on.

The preview is 32 KB: most avatars and thumbnails come whole in it. Every connection carries requests one after another (Squid keeps them open);
one event loop serves them all, and the checking happens in the watch's worker processes.

Only its Squid is served, and nothing a request says costs more than a bounded amount: a peer
outside the allow-list (loopback unless told otherwise) is closed on arrival, and so is a
connection past MAX_CONNECTIONS; a RESPMOD without the key Squid's configuration adds (squid.conf
`adaptation_meta`, written by `sentinelle setup squid`) is refused with 403, before its body is
read, so that no other program can raise an alert; heads are read whole only up to 64 KB and
within HEAD_SECONDS, a connection waits IDLE_SECONDS at most for its next request, and bodies
are read in slices whatever their chunks announce. Every malformed request gets its 4xx and a
log line.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import hmac
import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sentinelle.proxy.feeds.attribution import MAX_FEED_BYTES
from sentinelle.proxy.fronts import icap
from sentinelle.proxy.fronts.icap_reading import Body, drop, read_chunks, read_line
from sentinelle.proxy.fronts.sighting import evidence_headers
from sentinelle.proxy.fronts.watch import FEED, IMAGE, Seen, Watch, page_from, triage
from sentinelle.proxy.hosts import platform_of

logger = logging.getLogger("sentinelle")

# Half of what Squid can keep a copy of (BodyPipe::MaxCapacity, 64 KB). Squid offers a
# preview up to that whole 64 KB, but its pipe holds a few bytes less: asked for 65,536 bytes,
# Squid 5.7 sends 65,535 and waits forever for room to read the last one (seen with a 91 KB
# image: the device timed out). Half leaves Squid all the room it needs.
PREVIEW_BYTES = 32 * 1024
# Told to Squid in OPTIONS: it opens up to this many connections to the service. One more is
# closed as soon as it is accepted.
MAX_CONNECTIONS = 512
# A head must arrive whole within this once begun, and a new connection's first head within
# this of its opening: Squid opens a connection when it has a request to send.
HEAD_SECONDS = 10.0
# How long a connection may wait for its next request: longer than Squid keeps an idle
# connection to a service (server_idle_pconn_timeout, a minute), so that Squid closes it first
# and never sends a request on a connection this side is closing.
IDLE_SECONDS = 120.0
# Bytes written in an echo before waiting for Squid to take them.
ECHO_HIGH_WATER = 256 * 1024
# The peers served when no other is allowed: this machine's Squid.
LOOPBACK = ("127.0.0.0/8", "::1/128")
SERVICE = "Sentinelle (watches images of social networks; never changes a response)"


@dataclass(frozen=True)
class Response:
    """A social host's image response as Squid sent it: its body as received, still
    content-encoded if it was. What the service keeps of an image until the watch describes it."""

    url: str
    host: str
    page_url: str | None
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str, default: str = "") -> str:
        name = name.lower()
        return next((value for key, value in self.headers if key.lower() == name), default)


class IcapService:
    """Serves ICAP connections, the front of `watch` (it attaches itself): RESPMOD and OPTIONS,
    any service path, to its Squid only.

    `istag` names the service's behaviour (Squid forgets what it knew of the service when it
    changes); `key`: what Squid's configuration adds to every RESPMOD (`KEY_HEADER`), without
    which a response is not looked at; `allow`: the addresses or networks of the peers served
    (others are closed on arrival); `extra_domains`: hosts to watch besides the built-in social
    networks.
    """

    def __init__(self, watch: Watch, istag: str, *, key: str, allow: Sequence[str] = LOOPBACK,
                 extra_domains: Sequence[str] = (), preview: int = PREVIEW_BYTES,
                 max_connections: int = MAX_CONNECTIONS, head_seconds: float = HEAD_SECONDS,
                 idle_seconds: float = IDLE_SECONDS) -> None:
        if not key:
            raise ValueError("the ICAP service needs a key")
        self._watch = watch
        watch.attach(self)
        self._istag = istag
        self._key = key.encode()
        self._allowed = peer_networks(allow)
        self._extra_domains = tuple(extra_domains)
        self._preview = preview
        self._max_connections = max_connections
        self._head_seconds, self._idle_seconds = head_seconds, idle_seconds
        # What the service answered, by kind: options, 204 (no interest / whole in preview / after
        # the body), echo, error; and the connections it closed unserved, by why.
        self.answers: collections.Counter[str] = collections.Counter()
        self._connections: set[asyncio.Task] = set()  # one task a connection Squid keeps open
        self._told: set[str] = set()  # what the log has already said loudly once

    async def close(self, timeout: float = 2.0) -> None:
        """End every connection (Squid keeps them open between requests), and wait for them to
        end: a handler left to the loop's end would be cancelled there, and Python prints it."""
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=timeout)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection from Squid: requests one after another until it closes."""
        if (refusal := self._refusal(writer)) is not None:
            self.answers[refusal] += 1
            writer.transport.abort()  # nothing read, nothing answered: the port says no more
            return
        task = asyncio.current_task()
        assert task is not None  # asyncio.start_server runs each connection's handler as a task
        self._connections.add(task)
        try:
            fresh = True
            while (head := await self._next_head(reader, fresh)) is not None:
                fresh = False
                request = icap.parse_request(head)
                self._watch.busy()
                if request.method == "OPTIONS":  # says what the service does, and nothing else
                    self.answers["options"] += 1
                    writer.write(icap.options(self._istag, SERVICE, self._preview, self._max_connections))
                elif request.method == "RESPMOD":
                    self._check_key(request)
                    await self._respmod(request, reader, writer)
                else:
                    raise icap.IcapError(405 if request.method == "REQMOD" else 501,
                                         f"{request.method} is not served here")
                await writer.drain()
                if (request.header("connection", "") or "").lower() == "close":
                    return
        except icap.IcapError as e:
            self.answers["error"] += 1
            self._say_refused(e)
            with contextlib.suppress(ConnectionError):
                writer.write(icap.error(e.status, self._istag))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # Squid closed mid-request (its client went away): nothing to answer
        except asyncio.CancelledError:
            pass  # Sentinelle is stopping (`close`)
        except Exception:  # a fault of this service's, not of the request: said, with where it is
            self.answers["error"] += 1
            logger.exception("Sentinelle's ICAP service failed on a request")
            with contextlib.suppress(ConnectionError):
                writer.write(icap.error(500, self._istag))
                await writer.drain()
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _refusal(self, writer: asyncio.StreamWriter) -> str | None:
        """Why a new connection is closed unserved, if it is: a peer not allowed, or too many."""
        peer = peer_address(writer.get_extra_info("peername"))
        if peer is None or not any(peer in network for network in self._allowed):
            self._say_once("peer", logging.WARNING, "Sentinelle's ICAP service closed a connection from %s: "
                           "not an allowed peer (`sentinelle icap --allow ADDRESS` allows a Squid)", peer)
            return "refused peer"
        if len(self._connections) >= self._max_connections:
            self._say_once("full", logging.WARNING, "Sentinelle's ICAP service has %d connections open, "
                           "its most: it closes new ones until some end", len(self._connections))
            return "refused: too many connections"
        return None

    async def _next_head(self, reader: asyncio.StreamReader, fresh: bool) -> bytes | None:
        """The next request's head; None when the client closed the connection between requests,
        or left it idle too long (a new connection: HEAD_SECONDS, else IDLE_SECONDS)."""
        try:
            async with asyncio.timeout(self._head_seconds if fresh else self._idle_seconds):
                first = await reader.readexactly(1)
        except (asyncio.IncompleteReadError, TimeoutError):
            return None
        async with self._head_time():
            return first + await read_line(reader, b"\r\n\r\n", 413)

    @contextlib.asynccontextmanager
    async def _head_time(self):
        """Bounds the reading of a head (and its encapsulated heads) in time: 408 past it."""
        try:
            async with asyncio.timeout(self._head_seconds):
                yield
        except TimeoutError:
            raise icap.IcapError(408, f"a head still unfinished after {self._head_seconds:g} s") from None

    def _check_key(self, request: icap.Request) -> None:
        given = (request.header(icap.KEY_HEADER, "") or "").encode("latin-1")
        if not hmac.compare_digest(given, self._key):
            raise icap.IcapError(403, f"{'a wrong' if given else 'no'} {icap.KEY_HEADER}: only Squid "
                                      "configured by `sentinelle setup squid` is served")

    def _say_refused(self, e: icap.IcapError) -> None:
        if e.status == 403:  # most likely a Squid configured before the key: what to do, once
            self._say_once("key", logging.WARNING, "Sentinelle's ICAP service refused a response (%d): %s. "
                           "Squid configured by an older Sentinelle? Run `sentinelle setup squid --write "
                           "FOLDER` again and restart Squid.", e.status, e)
        logger.info("Sentinelle's ICAP service refused a request (%d): %s", e.status, e)

    def _say_once(self, what: str, level: int, message: str, *args: object) -> None:
        if what not in self._told:
            self._told.add(what)
            logger.log(level, message, *args)
        else:
            logger.debug(message, *args)

    async def _respmod(self, request: icap.Request, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> None:
        async with self._head_time():
            sections = request.sections(await reader.readexactly(request.heads_size))
        res_hdr = sections.get("res-hdr")
        kind, platform, url, http_request, response = None, None, "", None, None
        if res_hdr is not None:
            response = icap.parse_http_head(res_hdr)
            if "req-hdr" in sections:
                http_request = icap.parse_http_head(sections["req-hdr"])
                url = icap.request_url(http_request)
                platform = platform_of(icap.url_host(url), self._extra_domains)
        # The answer for the profile of an account the parent reported is read whatever its
        # status (a 404 is what a takedown looks like), as the mitmproxy front reads it: given
        # its body, once read. None for any other response.
        profile = None
        if platform is not None and response is not None and self._watch.wants_profile(platform, url):
            profile = functools.partial(self._read_profile, platform, url, response)
        if not request.has_body:
            self._no_content(writer, "no body")
            if profile is not None:
                profile(b"")
            return
        if res_hdr is None:  # a body with no head to hand it back under
            raise icap.IcapError(400, "a RESPMOD with a body needs its response's head (res-hdr)")
        body = Body(MAX_FEED_BYTES)
        ieof = await read_chunks(reader, body.add) if request.preview is not None else False
        if platform is not None and response is not None:
            kind = triage(response.status, response.header("content-type", "") or "", bytes(body.data[:16]))
        if kind is None and profile is None:
            if request.preview is not None:
                self._no_content(writer, "of no interest")
            elif request.allows_204:  # no preview (squid.conf says so): the whole body comes, unread
                await read_chunks(reader, drop)
                self._no_content(writer, "of no interest")
            else:
                await self._echo(writer, res_hdr, body, reader, keep=False)
            return
        # A kind or a profile is found only in a response head (res-hdr) for a platform's URL, above.
        assert platform is not None and response is not None
        body.limit = self._watch.max_image_bytes if kind == IMAGE else MAX_FEED_BYTES
        if request.preview is not None and ieof:
            self._no_content(writer, "whole in preview")
        elif request.allows_204:
            if request.preview is not None:
                writer.write(icap.CONTINUE)
            await read_chunks(reader, body.add)
            self._no_content(writer, "after the body")
        else:
            if request.preview is not None:
                writer.write(icap.CONTINUE)
            await self._echo(writer, res_hdr, body, reader, keep=True)
        if profile is not None:
            profile(bytes(body.data))
        if kind is not None:
            self._hand_over(kind, platform, url, http_request, response, body)

    def _no_content(self, writer: asyncio.StreamWriter, why: str) -> None:
        self.answers[f"204 {why}"] += 1
        writer.write(icap.no_content(self._istag))

    async def _echo(self, writer: asyncio.StreamWriter, res_hdr: bytes, body: Body,
                    reader: asyncio.StreamReader, *, keep: bool) -> None:
        """Give the response back unchanged: its head, what came of the body, then the rest as it comes."""
        self.answers["echo"] += 1
        writer.write(icap.echo_head(self._istag, res_hdr, has_body=True) + icap.chunk(bytes(body.data)))
        if not keep:
            body.data.clear()

        async def send(data: bytes) -> None:
            writer.write(icap.chunk(data))
            if keep:
                body.add(data)
            if writer.transport.get_write_buffer_size() > ECHO_HIGH_WATER:
                await writer.drain()

        await read_chunks(reader, send)
        writer.write(icap.LAST_CHUNK)

    def _read_profile(self, platform: str, url: str, response: icap.HttpHead, body: bytes) -> None:
        self._watch.read_profile(platform, url, response.status, response.header("content-type", "") or "",
                                 body, _coding(response))

    def _hand_over(self, kind: str, platform: str, url: str, http_request: icap.HttpHead | None,
                   response: icap.HttpHead, body: Body) -> None:
        raw = bytes(body.data)
        if kind == FEED:
            if body.over:
                return  # passed unread: its images are still checked, only without an account
            self._watch.read_feed(platform, url, response.header("content-type", "") or "", raw, _coding(response))
        elif kind == IMAGE:
            page = page_from(http_request.headers) if http_request is not None else None
            seen = Response(url=url, host=icap.url_host(url), page_url=page, headers=response.headers, body=raw)
            # An image over the limit was kept only up to it, plus a byte: refused, and counted, as too large.
            self._watch.take_image(seen, platform, raw)

    def describe(self, kept: Response, platform: str, seen_at: float) -> Seen:
        """What the watch keeps of an image while it is checked (the front's part of the watch)."""
        return Seen(
            seen_at=datetime.fromtimestamp(seen_at, UTC), image_url=kept.url, page_url=kept.page_url,
            host=kept.host, platform=platform, content_type=kept.header("content-type"),
            body=kept.body, headers=evidence_headers(kept.headers),
            coding=kept.header("content-encoding", "identity").strip().lower() or "identity",
        )


def _coding(response: icap.HttpHead) -> str:
    return response.header("content-encoding", "identity") or "identity"


def peer_networks(allow: Sequence[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """`192.168.1.5`, `192.168.1.0/24`, `::1` → networks; ValueError for anything else."""
    networks = []
    for value in allow:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an address or a network (192.168.1.5, 192.168.1.0/24)") from None
    return tuple(networks)


def peer_address(peername: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address of a socket's peer (an IPv4 one when it came mapped into IPv6); `peername`:
    what `get_extra_info("peername")` gives, None or a tuple whose first item is the address."""
    try:
        address = ipaddress.ip_address(peername[0].partition("%")[0])
    except (TypeError, ValueError, IndexError):
        return None
    return getattr(address, "ipv4_mapped", None) or address


async def serve(service: IcapService, host: str, port: int) -> asyncio.Server:
    """Listen for Squid on host:port."""
    return await asyncio.start_server(service.handle, host, port, limit=icap.MAX_HEAD_BYTES + 1024)
