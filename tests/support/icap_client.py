"""Test only: an ICAP client that speaks to Sentinelle's service as Squid does (RFC 3507)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sentinelle.proxy.fronts import icap
from sentinelle.proxy.fronts.icap_service import PREVIEW_BYTES


def http_request(url: str, **headers: str) -> bytes:
    host = url.split("/")[2]
    lines = [f"GET {url} HTTP/1.1", f"Host: {host}", *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def http_response(status: int = 200, content_type: str | None = "image/jpeg", length: int | None = None,
                  **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status} {'OK' if status == 200 else 'Other'}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(data: bytes, size: int = 8192) -> bytes:
    return b"".join(icap.chunk(data[at:at + size]) for at in range(0, len(data), size))


def respmod(req_hdr: bytes, res_hdr: bytes, body: bytes | None, preview: int | None,
            allow_204: bool, key: str | None) -> tuple[bytes, bytes]:
    """A RESPMOD as Squid writes it, with the service's `key` as its configuration adds it:
    (what it sends first, what it sends after a 100 Continue)."""
    body_section = "null-body" if body is None else "res-body"
    head = [f"RESPMOD icap://127.0.0.1/respmod {icap.VERSION}", "Host: 127.0.0.1",
            f"Encapsulated: req-hdr=0, res-hdr={len(req_hdr)}, {body_section}={len(req_hdr) + len(res_hdr)}"]
    if key is not None:
        head.append(f"{icap.KEY_HEADER}: {key}")
    if preview is not None:
        head.append(f"Preview: {preview}")
    if allow_204:
        head.append("Allow: 204")
    first = ("\r\n".join(head) + "\r\n\r\n").encode() + req_hdr + res_hdr
    if body is None:
        return first, b""
    if preview is None:
        return first + chunked(body) + icap.LAST_CHUNK, b""
    shown, rest = body[:preview], body[preview:]
    if not rest:
        return first + icap.chunk(shown) + b"0; ieof\r\n\r\n", b""
    return first + icap.chunk(shown) + icap.LAST_CHUNK, chunked(rest) + icap.LAST_CHUNK


@dataclass
class Answer:
    status: int
    head: bytes
    echoed: bytes | None = None  # the HTTP response head and body a 200 gave back
    continued: bool = False  # a 100 Continue came first


class Client:
    """One connection to the service, kept open across requests as Squid keeps it; `key`: the
    one Squid's configuration gives it (None: a program that does not know it)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, key: str | None) -> None:
        self.reader, self.writer, self.key = reader, writer, key

    @classmethod
    async def connect(cls, port: int, key: str | None) -> Client:
        return cls(*await asyncio.open_connection("127.0.0.1", port), key)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()

    async def options(self) -> bytes:
        self.writer.write(b"OPTIONS icap://127.0.0.1/respmod ICAP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        return await self.reader.readuntil(b"\r\n\r\n")

    async def respmod(self, req_hdr: bytes, res_hdr: bytes, body: bytes | None, preview: int | None = PREVIEW_BYTES,
                      allow_204: bool = True) -> Answer:
        first, rest = respmod(req_hdr, res_hdr, body, preview, allow_204, self.key)
        self.writer.write(first)
        head = await self.reader.readuntil(b"\r\n\r\n")
        continued = False
        if head.startswith(b"ICAP/1.0 100"):
            continued = True
            self.writer.write(rest)
            head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ")[1])
        answer = Answer(status, head, continued=continued)
        if status == 200:
            request = icap.parse_request(head.replace(b"ICAP/1.0 200 OK", b"X icap://x ICAP/1.0", 1))
            heads = await self.reader.readexactly(request.heads_size)
            body_read = bytearray()
            while True:
                size, _ = icap.parse_chunk_line(await self.reader.readuntil(b"\r\n"))
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                body_read += await self.reader.readexactly(size)
                await self.reader.readexactly(2)
            answer.echoed = heads + bytes(body_read)
        return answer
