"""Test only: malformed and odd ICAP requests, each sent on a connection of its own to the real
service, and what became of each. Shared by tests/test_fuzz_icap.py and `benchmarks.fuzz`.

Each case starts from a RESPMOD as Squid writes it (an image of a social host, its body
whole or in a preview) and is mutated: truncated, a byte flipped, junk inserted, numbers
too large or of other digits, lines too long, chunks that lie, another method, no key or a
wrong one, or random bytes. A request without the key carries a copy of the protected photo:
it must raise nothing.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass

from sentinelle.proxy.fronts import icap
from tests.support.icap_client import chunked, http_request, http_response

IMAGE = "https://scontent-cdg4-1.cdninstagram.com/v/t51.29350-15/{}_1_n.jpg"
MUTATIONS = ("valid", "no key", "wrong key", "truncated", "byte flipped", "junk inserted", "huge offset",
             "other digits", "long header line", "lying chunk", "bad chunk line", "long trailer", "bad preview",
             "other method", "random bytes")


@dataclass(frozen=True)
class IcapCase:
    mutation: str
    data: bytes


def respmod(body: bytes, key: str | None, preview: bool, url: str) -> bytes:
    """A whole RESPMOD as Squid sends it: the body whole (`Allow: 204`, no preview) or in a
    preview that holds it (`0; ieof`)."""
    req, res = http_request(url, Referer="https://www.instagram.com/"), http_response(length=len(body))
    head = [f"RESPMOD icap://127.0.0.1/respmod {icap.VERSION}", "Host: 127.0.0.1",
            f"Encapsulated: req-hdr=0, res-hdr={len(req)}, res-body={len(req) + len(res)}"]
    if key is not None:
        head.append(f"{icap.KEY_HEADER}: {key}")
    head.append(f"Preview: {len(body)}" if preview else "Allow: 204")
    end = b"0; ieof\r\n\r\n" if preview else icap.LAST_CHUNK
    return ("\r\n".join(head) + "\r\n\r\n").encode() + req + res + chunked(body) + end


def make_icap_cases(count: int, key: str, protected_copy: bytes, images: list[bytes], seed: int = 0) -> list[IcapCase]:
    """`count` cases, every mutation in turn; `protected_copy` goes only in requests without
    the key, `images` (none of them protected) in the others."""
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        mutation = MUTATIONS[i % len(MUTATIONS)]
        url = IMAGE.format(430000000 + i)
        preview = rng.random() < 0.5
        if mutation in ("no key", "wrong key"):
            wrong = None if mutation == "no key" else rng.choice(["", key[:-1], key + "x", "x" * len(key)])
            cases.append(IcapCase(mutation, respmod(protected_copy, wrong, preview, url)))
            continue
        data = respmod(rng.choice(images), key, preview, url)
        cases.append(IcapCase(mutation, _mutate(mutation, data, rng)))
    return cases


def _mutate(mutation: str, data: bytes, rng: random.Random) -> bytes:
    head_end = data.index(b"\r\n\r\n") + 4
    if mutation == "truncated":
        return data[:rng.randint(0, len(data) - 1)]
    if mutation == "byte flipped":
        at = rng.randrange(head_end + 400)
        return data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1:]
    if mutation == "junk inserted":
        at = rng.randrange(head_end + 400)
        return data[:at] + rng.randbytes(rng.randint(1, 64)) + data[at:]
    if mutation == "huge offset":
        return data.replace(b"res-body=", b"res-body=" + b"9" * rng.choice([6, 10, 20, 5000]) + b"0", 1)
    if mutation == "other digits":
        return data.replace(b"res-hdr=", "res-hdr=²٣".encode(), 1)
    if mutation == "long header line":
        long_line = b"X-Long: " + b"a" * rng.randint(60_000, 200_000) + b"\r\n"
        return data.replace(b"Host: 127.0.0.1\r\n", b"Host: 127.0.0.1\r\n" + long_line, 1)
    # The body's first chunk, after the encapsulated request and response heads.
    body_at = data.index(b"\r\n\r\n", data.index(b"\r\n\r\n", head_end) + 4) + 4
    size_end = data.index(b"\r\n", body_at)
    if mutation == "lying chunk":  # announces more than comes, up to 4 GiB
        return data[:body_at] + rng.choice([b"ffffffff", b"10000", b"7fffffff"]) + data[size_end:]
    if mutation == "bad chunk line":
        return data[:body_at] + rng.choice([b"zz\r\n", b"-1\r\n", b"f" * 70_000 + b"\r\n", b"123456789\r\n", b"\r\n"])
    if mutation == "long trailer":
        return data.removesuffix(b"\r\n") + b"X-T: " + b"t" * rng.randint(60_000, 120_000) + b"\r\n\r\n"
    if mutation == "bad preview":
        value = rng.choice([b"\xb2", b"-1", b"99999999999", b"", b"1e3"])
        if b"Preview: " in data[:head_end]:
            return data.replace(b"Preview: ", b"Preview: " + value + b"\r\nX-Was: ", 1)
        return data.replace(b"Allow: 204", b"Preview: " + value, 1)
    if mutation == "other method":
        method = rng.choice([b"REQMOD", b"OPTIONS", b"GET", b"respmod", b"R\xc9SPMOD", b"OPTIONS  "])
        return method + data[len(b"RESPMOD"):]
    if mutation == "random bytes":
        return rng.randbytes(rng.randint(1, 4000))
    return data  # valid


async def send_one(port: int, case: IcapCase, timeout: float) -> str:
    """Send a case then end the connection's sending side; what the service did: its status,
    or `closed` (it closed without answering), or `timeout`."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as e:
        return f"could not connect: {e.strerror}"
    try:
        writer.write(case.data)
        try:
            await writer.drain()
            writer.write_eof()
        except (ConnectionError, OSError):
            pass  # answered and closed before it took everything (a 413, a 403): read the answer
        answer = await asyncio.wait_for(reader.read(), timeout)
    except TimeoutError:
        return "timeout"
    except ConnectionError:
        return "reset"
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass
    if not answer:
        return "closed"
    line = answer.split(b"\r\n", 1)[0]
    return line.split(b" ")[1].decode() if line.startswith(b"ICAP/1.0 ") else f"odd answer {line[:40]!r}"


async def send_icap_cases(port: int, cases: list[IcapCase], concurrency: int = 16,
                          timeout: float = 20.0) -> Counter:
    """Send every case, `concurrency` at a time; outcome → count, and for a 500 (a fault of the
    service's: 501 and 505 are RFC 3507's refusals of a method or a version), a timeout or an
    odd answer, which mutation gave it."""
    gate = asyncio.Semaphore(concurrency)
    outcomes: Counter = Counter()

    async def one(case: IcapCase) -> None:
        async with gate:
            outcome = await send_one(port, case, timeout)
        if outcome == "500" or not (outcome[:1].isdigit() or outcome in ("closed", "reset")):
            outcome = f"{outcome} ({case.mutation})"
        outcomes[outcome] += 1

    await asyncio.gather(*(one(case) for case in cases))
    return outcomes
