"""ICAP (RFC 3507), the part a watching RESPMOD service needs: parsing what Squid sends, writing
what it answers. Pure: bytes in, values out; the asyncio service (proxy/fronts/icap_service.py) does
the reading and writing.

An ICAP request is a head like HTTP's (`RESPMOD icap://host/respmod ICAP/1.0`, headers, an
empty line), then the HTTP message it carries: its request head and response head, back to
back, at the offsets the `Encapsulated` header gives, then its body in HTTP/1.1 chunks. With
`Preview: n` only the body's first n bytes come at first, ended by a last chunk `0` — or
`0; ieof` when they were the whole body; the service then answers `204 No Content` (leave the
message as it is) or `100 Continue` (send the rest). `Allow: 204` says the client may also
take a 204 after the whole body (it kept a copy). Written from RFC 3507 §4.3–4.10, and from
Squid's client (src/adaptation/icap/ModXact.cc) where Squid is particular.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

VERSION = "ICAP/1.0"
# The sections `Encapsulated` may name, and the only orders RFC 3507 §4.4.1 allows them in.
HEAD_SECTIONS = ("req-hdr", "res-hdr")
BODY_SECTIONS = ("req-body", "res-body", "opt-body", "null-body")
# A head longer than this is refused (Squid's own ICAP and HTTP heads stay far below), and so
# are encapsulated HTTP heads longer than this together: both are read whole before anything else.
MAX_HEAD_BYTES = 64 * 1024
# A number in a head (an offset, a preview's size): ASCII digits, nine at most. `str.isdigit`
# takes `²` and `٣`, which int() refuses, and int() of a 5,000-digit string raises too.
_NUMBER = re.compile(r"[0-9]{1,9}\Z")
_STATUS = re.compile(r"[0-9]{3}\Z")  # an HTTP status code

# The header Squid adds to each RESPMOD with the service's key (squid.conf `adaptation_meta`).
KEY_HEADER = "X-Sentinelle-Key"

REASONS = {
    100: "Continue", 200: "OK", 204: "No Content", 400: "Bad Request", 403: "Forbidden",
    404: "ICAP Service Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
    413: "Request Entity Too Large", 500: "Server Error",
    501: "Method Not Implemented", 505: "ICAP Version Not Supported",
}


class IcapError(Exception):
    """A request this service cannot take; `status` is the ICAP status to answer it with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


Headers = tuple[tuple[str, str], ...]


def header(headers: Iterable[tuple[str, str]], name: str, default: str | None = None) -> str | None:
    """The first value of a header, by name whatever its case."""
    name = name.lower()
    return next((value for key, value in headers if key.lower() == name), default)


@dataclass(frozen=True)
class Request:
    """An ICAP request's head: its method, service URI, headers, and what they say."""

    method: str
    uri: str
    headers: Headers
    encapsulated: tuple[tuple[str, int], ...]  # (section, offset), in order

    def header(self, name: str, default: str | None = None) -> str | None:
        return header(self.headers, name, default)

    @property
    def preview(self) -> int | None:
        """The preview's size, when the client sends one."""
        value = self.header("preview")
        if value is None:
            return None
        if not _NUMBER.match(value.strip()):
            raise IcapError(400, f"bad Preview: {value[:20]!r}")
        return int(value)

    @property
    def allows_204(self) -> bool:
        """Whether the client takes a 204 after the whole body, not only after a preview."""
        allow = self.header("allow", "") or ""
        return "204" in (token.strip() for token in allow.split(","))

    @property
    def heads_size(self) -> int:
        """How many bytes of encapsulated heads follow the ICAP head: up to the body's offset."""
        return self.encapsulated[-1][1] if self.encapsulated else 0

    @property
    def has_body(self) -> bool:
        return bool(self.encapsulated) and self.encapsulated[-1][0] != "null-body"

    def sections(self, heads: bytes) -> dict[str, bytes]:
        """The encapsulated heads (`heads_size` bytes) cut at their offsets: section → bytes."""
        if len(heads) != self.heads_size:
            raise IcapError(400, f"expected {self.heads_size} bytes of encapsulated heads, got {len(heads)}")
        cut = {}
        for (name, start), (_, end) in zip(self.encapsulated, self.encapsulated[1:]):
            cut[name] = heads[start:end]
        return cut


def parse_request(head: bytes) -> Request:
    """An ICAP request head, up to and with its empty line."""
    lines = _lines(head)
    try:
        method, uri, version = lines[0].split(" ")
    except ValueError:
        raise IcapError(400, f"bad request line: {lines[0][:80]!r}") from None
    if version != VERSION:
        raise IcapError(505, f"not ICAP/1.0: {version[:20]!r}")
    if not method.isascii() or not method.isalpha() or not method.isupper():
        raise IcapError(400, f"bad method: {method[:20]!r}")
    headers = _headers(lines[1:])
    value = header(headers, "encapsulated")
    encapsulated = parse_encapsulated(value) if value is not None else ()
    if method in ("REQMOD", "RESPMOD") and not encapsulated:
        raise IcapError(400, f"{method} without Encapsulated")
    return Request(method, uri, headers, encapsulated)


def parse_encapsulated(value: str) -> tuple[tuple[str, int], ...]:
    """`req-hdr=0, res-hdr=137, res-body=296` → (("req-hdr", 0), ("res-hdr", 137), ("res-body", 296)).

    Heads first, one body section last, offsets from 0 and growing (RFC 3507 §4.4.1).
    """
    found = []
    for part in value.split(","):
        name, _, offset = part.strip().partition("=")
        name = name.strip().lower()
        if name not in HEAD_SECTIONS + BODY_SECTIONS or not _NUMBER.match(offset.strip()):
            raise IcapError(400, f"bad Encapsulated: {value[:100]!r}")
        found.append((name, int(offset)))
    names = [name for name, _ in found]
    offsets = [offset for _, offset in found]
    if (names[-1] not in BODY_SECTIONS or any(n not in HEAD_SECTIONS for n in names[:-1])
            or len(set(names)) != len(names) or offsets[0] != 0 or offsets != sorted(offsets)):
        raise IcapError(400, f"bad Encapsulated: {value[:100]!r}")
    if offsets[-1] > MAX_HEAD_BYTES:
        raise IcapError(413, f"encapsulated heads of {offsets[-1]} bytes: over {MAX_HEAD_BYTES}")
    return tuple(found)


@dataclass(frozen=True)
class HttpHead:
    """An encapsulated HTTP head: its start line's three parts, and its headers."""

    start: tuple[str, str, str]  # (method, target, version) or (version, status, reason)
    headers: Headers

    def header(self, name: str, default: str | None = None) -> str | None:
        return header(self.headers, name, default)

    @property
    def status(self) -> int:
        """A response head's status code (0 when it is not one)."""
        code = self.start[1]
        return int(code) if _STATUS.match(code) and self.start[0].startswith("HTTP/") else 0


def parse_http_head(block: bytes) -> HttpHead:
    """An HTTP request or response head, as Squid encapsulates it."""
    lines = _lines(block)
    parts = lines[0].split(" ", 2)
    if len(parts) == 2:  # a response without a reason phrase
        parts.append("")
    if len(parts) != 3:
        raise IcapError(400, f"bad HTTP start line: {lines[0][:80]!r}")
    return HttpHead((parts[0], parts[1], parts[2]), _headers(lines[1:]))


def request_url(request: HttpHead) -> str:
    """The address an encapsulated HTTP request asked for. Squid writes it absolute
    (`GET https://host/path HTTP/1.1`); a relative target is completed from Host."""
    target = request.start[1]
    if "://" in target:
        scheme, _, rest = target.partition("://")
        host, slash, path = rest.partition("/")
        return f"{scheme.lower()}://{_without_default_port(host, scheme.lower())}{slash}{path}"
    host = request.header("host", "") or ""
    return f"http://{_without_default_port(host, 'http')}{target}"


def url_host(url: str) -> str:
    """The host name of an absolute URL, without port, user or brackets."""
    rest = url.partition("://")[2]
    authority = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    if authority.startswith("["):
        return authority[1:].partition("]")[0]
    return authority.rpartition(":")[0] if re.search(r":\d*$", authority) else authority


_CHUNK_LINE = re.compile(rb"^([0-9a-fA-F]{1,8})[ \t]*(;[^\r\n]*)?\r\n\Z")


def parse_chunk_line(line: bytes) -> tuple[int, bool]:
    """A chunk's size line (`1e\\r\\n`, `0; ieof\\r\\n`) → (size, ieof)."""
    found = _CHUNK_LINE.match(line)
    if found is None:
        raise IcapError(400, f"bad chunk size line: {line[:40]!r}")
    extensions = [e.strip().lower() for e in (found.group(2) or b"").split(b";") if e.strip()]
    return int(found.group(1), 16), b"ieof" in extensions


def chunked_body(data: bytes) -> tuple[bytes, bool, int]:
    """A whole chunked body at the start of `data` → (body, ieof, bytes it took). For tests and
    whole messages; the service reads chunk by chunk as they come."""
    body, at = bytearray(), 0
    while True:
        end = data.index(b"\r\n", at) + 2
        size, ieof = parse_chunk_line(data[at:end])
        if size == 0:
            while not data.startswith(b"\r\n", end):  # trailer lines, if any, until the empty one
                end = data.index(b"\r\n", end) + 2
            return bytes(body), ieof, end + 2
        body += data[end:end + size]
        if data[end + size:end + size + 2] != b"\r\n":
            raise IcapError(400, "a chunk does not end with CRLF")
        at = end + size + 2


# -- answers ------------------------------------------------------------------------

def response_head(status: int, headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """An ICAP response head, with its empty line."""
    lines = [f"{VERSION} {status} {REASONS.get(status, 'Unknown')}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


CONTINUE = response_head(100)


def no_content(istag: str) -> bytes:
    """`204 No Content`: leave the message exactly as it is."""
    return response_head(204, [("ISTag", istag), ("Encapsulated", "null-body=0")])


def echo_head(istag: str, response_head_block: bytes, has_body: bool) -> bytes:
    """The head of a `200 OK` that gives the message back unchanged: the ICAP head, then the HTTP
    response head as it came; its body follows in chunks (`chunk`, then `LAST_CHUNK`)."""
    size = len(response_head_block)
    body = f"res-body={size}" if has_body else f"null-body={size}"
    return response_head(200, [("ISTag", istag), ("Encapsulated", f"res-hdr=0, {body}")]) + response_head_block


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""


LAST_CHUNK = b"0\r\n\r\n"


def error(status: int, istag: str, close: bool = True) -> bytes:
    headers = [("ISTag", istag), ("Encapsulated", "null-body=0")]
    return response_head(status, headers + ([("Connection", "close")] if close else []))


def options(istag: str, service: str, preview: int, max_connections: int, ttl: int = 3600) -> bytes:
    """The answer to OPTIONS: RESPMOD only; a preview of every message (`Transfer-Preview: *`)
    of `preview` bytes; 204 taken whenever the client can (`Allow: 204`)."""
    return response_head(200, [
        ("Methods", "RESPMOD"), ("Service", service), ("ISTag", istag),
        ("Encapsulated", "null-body=0"), ("Max-Connections", str(max_connections)),
        ("Options-TTL", str(ttl)), ("Allow", "204"), ("Preview", str(preview)),
        ("Transfer-Preview", "*"),
    ])


# -- helpers --------------------------------------------------------------------------

def _lines(block: bytes) -> list[str]:
    if len(block) > MAX_HEAD_BYTES:
        raise IcapError(413, "head too large")
    if not block.endswith(b"\r\n\r\n"):
        raise IcapError(400, "head does not end with an empty line")
    return block[:-4].decode("latin-1").split("\r\n")


def _headers(lines: list[str]) -> Headers:
    headers: list[tuple[str, str]] = []
    for line in lines:
        if line[:1] in (" ", "\t") and headers:  # an obsolete folded line: part of the last value
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise IcapError(400, f"bad header line: {line[:80]!r}")
        headers.append((name, value.strip()))
    return tuple(headers)


def _without_default_port(host: str, scheme: str) -> str:
    default = {"http": ":80", "https": ":443"}.get(scheme)
    return host[: -len(default)] if default and host.endswith(default) else host
