"""Fuzzes Sentinelle with more than 10,000 bad inputs and counts what became of them.

    python -m benchmarks.fuzz [--decoder 10000] [--proxy 2000] [--http2 200] [--api 1000] [--icap 2000]

- decoder: broken images of every supported format (truncated, bit-flipped, junk inserted,
  header only, random bytes, enormous declared sizes) through `fingerprint()`: each must give
  a fingerprint or an ImageError, nothing else;
- proxy: broken and odd responses of a social host (wrong or missing content types, gzip,
  chunked, HTTP/1.1 and HTTP/2) through a real `sentinelle run`: the client must get each
  body exactly as the origin sent it; plus websocket exchanges;
- api: malformed requests and multipart uploads, with and without the token, JSON nested past
  Python's parser, ids of other digits, form fields of a megabyte: never a 5xx, and nothing
  enrolled without the token; and more event streams at once than it keeps;
- icap: malformed and odd ICAP requests through a real `sentinelle icap`, one connection each
  (tests/support/icap_fuzz.py): a refusal, a 204 or a close, never a 500, a hang or a
  traceback, and a copy of the protected photo sent without Squid's key raises nothing.
Writes benchmarks/results/fuzz.md.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shlex
import ssl
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

from benchmarks.scene import machine
from sentinelle.proxy.engine.fingerprint import fingerprint
from sentinelle.proxy.engine.images import ImageError
from tests.conftest import square_crop_copy
from tests.support.broken_images import FORMATS, broken, seed_images
from tests.support.icap_fuzz import make_icap_cases, send_icap_cases
from tests.support.icap_process import SentinelleIcap
from tests.support.proxy_fuzz import make_cases, origin_files, send_all
from tests.support.scenario import CDN, wait_for, watching
from tests.support.watcher import ROOT, sentinelle

RESULTS = Path(__file__).parent / "results" / "fuzz.md"


def fuzz_decoder(count: int) -> tuple[Counter, float]:
    seeds = seed_images()
    outcomes: Counter = Counter()
    slowest = 0.0
    for i in range(count):
        fmt = FORMATS[i % len(FORMATS)]
        mutation, data = broken(seeds, fmt, i)
        started = time.perf_counter()
        try:
            fingerprint(data)
            outcomes["fingerprinted"] += 1
        except ImageError as e:
            outcomes[f"ImageError: {e.reason}"] += 1
        except Exception as e:  # noqa: BLE001 - what the fuzzer is looking for
            outcomes[f"CRASH {type(e).__name__} ({fmt}, {mutation}, case {i})"] += 1
        slowest = max(slowest, time.perf_counter() - started)
    return outcomes, slowest


async def fuzz_api(watcher, count: int) -> Counter:
    rng = random.Random(3)
    base = f"http://127.0.0.1:{watcher.api_port}"
    paths = ["/api/alerts", "/api/alerts/1", "/api/alerts/99999999999999999999", "/api/photos",
             "/api/photos/1", "/api/photos/1/thumbnail", "/api/alerts/1/evidence", "/api/stats",
             "/api/%00", "/api/alerts/-1", "/api/alerts/1/../../token", "/proxy.pac", "/api/events?x=1",
             "/api/hello", "/api/children", "/api/children/1", "/api/watchlist/1", "/api/alerts/\u0663",
             "/api/photos/\uff11/thumbnail", "/api/casefile?alert=\u00b2", "/api/casefile?alert=1_0"]
    outcomes: Counter = Counter()
    async with aiohttp.ClientSession() as session:
        for _ in range(count):
            method = rng.choice(["GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"])
            path = rng.choice(paths)
            headers = {}
            if rng.random() < 0.5:
                headers["Authorization"] = "Bearer " + (watcher.token if rng.random() < 0.7 else "x" * 43)
            if rng.random() < 0.3:
                headers["Origin"] = rng.choice(["https://evil.example", "chrome-extension://abc", "null"])
            kind = rng.choice(["none", "json", "junk", "multipart", "nested", "big field"])
            data = None
            if kind == "json":
                data, headers["Content-Type"] = rng.choice([b'{"status": 1}', b"[]", b'{"status":"seen"}',
                                                             b"{", b'{"nonce": [], "check": {}}']), "application/json"
            elif kind == "nested":  # past Python's parser: was a RecursionError, a 500
                headers["Content-Type"] = "application/json"
                data = rng.choice([b"[", b'{"a":']) * rng.choice([1000, 100_000])
            elif kind == "big field":  # a child's name of a megabyte
                boundary = "b" + str(rng.getrandbits(32))
                headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
                data = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"child\"\r\n\r\n".encode()
                        + b"A" * 2**20 + f"\r\n--{boundary}--\r\n".encode())
            elif kind == "junk":
                data = rng.randbytes(rng.randint(0, 2000))
            elif kind == "multipart":
                boundary = "b" + str(rng.getrandbits(32))
                headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
                data = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; "
                        f"filename=\"x.jpg\"\r\n\r\n").encode() + rng.randbytes(rng.randint(0, 3000))
                if rng.random() < 0.5:
                    data += f"\r\n--{boundary}--\r\n".encode()
            try:
                async with session.request(method, base + path, data=data, headers=headers,
                                           timeout=aiohttp.ClientTimeout(total=2)) as response:
                    if response.status >= 500:  # what the fuzzer is looking for: say which
                        outcomes[f"5xx: {method} {path} ({kind} body)"] += 1
                    else:
                        outcomes[f"{response.status // 100}xx"] += 1
            except TimeoutError:
                outcomes["no answer within 2 s (event stream)" if "events" in path else "TIMEOUT"] += 1
    return outcomes


async def many_streams(watcher, count: int) -> Counter:
    """`count` event streams opened at once: the API keeps MAX_STREAMS, and refuses the rest."""
    outcomes: Counter = Counter()
    async with aiohttp.ClientSession() as session:
        responses = [await session.get(f"http://127.0.0.1:{watcher.api_port}/api/events",
                                       headers={"Authorization": f"Bearer {watcher.token}"}) for _ in range(count)]
        for response in responses:
            outcomes[str(response.status)] += 1
            response.close()
    return outcomes


async def fuzz_icap(data_dir: Path, count: int) -> dict[str, object]:
    """The ICAP cases through a real `sentinelle icap` on the data dir (its photo protected)."""
    service = await asyncio.to_thread(SentinelleIcap, data_dir)
    try:
        photo = square_crop_copy(ROOT / "tests" / "fixtures" / "kodak" / "kodim15.jpg", width=320)
        cases = make_icap_cases(count, service.key, photo, list(seed_images().values()), seed=12)
        outcomes = await send_icap_cases(service.port, cases)
        await wait_for(lambda: service.api("/api/stats")["images"]["waiting"] == 0, timeout=300)
        stats = service.api("/api/stats")
    finally:
        code = await asyncio.to_thread(service.stop)
    return {"icap": outcomes, "icap: alerts raised": stats["alerts"], "icap: images seen": stats["images"]["seen"],
            "icap: tracebacks in its log": service.output[1].count("Traceback"), "icap: exit code": code}


# Cases are sent in batches this size, each followed by a pause until Sentinelle has checked
# them all: it checks images in the proxy's pauses, and a batch fits in its queue, so every
# case reaches its decoders (sent back to back, most would be shed, counted, unchecked).
BATCH = 100


async def send_checked(watcher, cases) -> Counter:
    """Send the cases through the proxy, letting Sentinelle check each batch before the next."""
    outcomes: Counter = Counter()
    for start in range(0, len(cases), BATCH):
        outcomes += await asyncio.to_thread(send_all, watcher, CDN, cases[start:start + BATCH])
        await wait_for(lambda: watcher.api("GET", "/api/stats")[1]["images"]["waiting"] == 0, timeout=120)
    return outcomes


async def fuzz_through_proxy(args) -> dict[str, Counter]:
    work = Path(tempfile.mkdtemp(prefix="sentinelle-fuzz-"))
    data_dir = work / "data"
    sentinelle(data_dir, "enroll", str(ROOT / "tests" / "fixtures" / "kodak" / "kodim15.jpg"))
    seeds = seed_images()
    results = {}
    cases = make_cases(seeds, args.proxy, seed=10)
    async with watching(work / "h1", data_dir, origin_files(cases)) as (watcher, _):
        results["proxy, HTTP/1.1"] = await send_checked(watcher, cases)
        results["websocket exchanges"] = await websockets(watcher, 50)
        _, before = await asyncio.to_thread(watcher.api, "GET", "/api/photos")
        results["api"] = await fuzz_api(watcher, args.api)
        _, after = await asyncio.to_thread(watcher.api, "GET", "/api/photos")
        results["photos enrolled by the api fuzz"] = len({p["id"] for p in after} - {p["id"] for p in before})
        results["event streams opened at once (40)"] = await many_streams(watcher, 40)
        _, stats = await asyncio.to_thread(watcher.api, "GET", "/api/stats")
        results["watcher counts"] = stats["images"]
    h2_cases = make_cases(seeds, args.http2, seed=11, http2=1.0)
    async with watching(work / "h2", data_dir, origin_files(h2_cases),
                        extra_set=("connection_strategy=lazy",)) as (watcher, _):
        results["proxy, HTTP/2"] = await send_checked(watcher, h2_cases)
    results |= await fuzz_icap(data_dir, args.icap)
    return results


async def websockets(watcher, count: int) -> Counter:
    rng = random.Random(4)
    context = ssl.create_default_context(cafile=str(watcher.ca_file))
    outcomes: Counter = Counter()
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"wss://{CDN}/ws", proxy=f"http://127.0.0.1:{watcher.proxy_port}",
                                      ssl=context) as ws:
            for _ in range(count):
                message = rng.randbytes(rng.randint(1, 100_000))
                await ws.send_bytes(message)
                outcomes["ok" if await ws.receive_bytes(timeout=10) == message else "changed"] += 1
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decoder", type=int, default=10_000)
    parser.add_argument("--proxy", type=int, default=2_000)
    parser.add_argument("--http2", type=int, default=200)
    parser.add_argument("--api", type=int, default=1_000)
    parser.add_argument("--icap", type=int, default=2_000)
    args = parser.parse_args()
    started = time.time()
    decoder, slowest = fuzz_decoder(args.decoder)
    print("decoder:", dict(decoder), flush=True)
    results = asyncio.run(fuzz_through_proxy(args))
    for name, outcome in results.items():
        print(f"{name}: {outcome}", flush=True)
    total = args.decoder + args.proxy + args.http2 + args.api + 50 + 40 + args.icap
    lines = [
        "# Fuzz benchmark", "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {machine()}",
        f"- command: `{('python -m benchmarks.fuzz ' + shlex.join(sys.argv[1:])).strip()}`",
        f"- {total:,} cases in {time.time() - started:.0f} s", "",
        f"## Decoder: {args.decoder:,} broken images of {', '.join(FORMATS)}", "",
        "| outcome | cases |", "| --- | ---: |",
        *(f"| {k} | {v} |" for k, v in sorted(decoder.items())),
        "", f"Slowest case: {slowest * 1000:.1f} ms. Any `CRASH` line above is a bug.", "",
        "## Through the real proxy, the API and the ICAP service", "",
        "| what | outcome |", "| --- | --- |",
        *(f"| {name} | {dict(outcome) if isinstance(outcome, Counter) else outcome} |"
          for name, outcome in results.items()),
        "", "`ok`: the client got the body exactly as the origin sent it. `api`: status classes of "
        "the answers (4xx: refused with a JSON error; no 5xx is allowed). `icap`: the status each "
        "request got (403: without Squid's key; 400 and 413: malformed, a head or a line too long; 405: a REQMOD, "
        "which this service does not take; 501 and 505: RFC 3507's refusals of another method or a "
        "version; `closed`: it ended before its end, and was closed unanswered; `reset`: refused "
        "and closed with bytes of it unread, so the kernel reset the connection; a 500, a timeout "
        "or an odd answer would name its mutation).", "",
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
