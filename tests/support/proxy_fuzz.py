"""Test only: odd responses from a social host, sent through the real proxy, and the check that
the browser got each one exactly as the origin sent it. Shared by the tests and `benchmarks.fuzz`."""

from __future__ import annotations

import gzip
import random
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.support.broken_images import FORMATS, broken

CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/avif", "image/heic",
                 "application/octet-stream", "text/html", "image/svg+xml", "")
ENCODINGS = ("identity", "gzip", "chunked")


@dataclass(frozen=True)
class Case:
    path: str
    content_type: str
    body: bytes
    encoding: str  # how the origin sends it
    http2: bool  # how the client talks to the proxy


def make_cases(seeds: dict[str, bytes], count: int, seed: int = 0, http2: float = 0.0) -> list[Case]:
    """`count` cases; a fraction `http2` of them fetched over HTTP/2."""
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        fmt = rng.choice(FORMATS)
        body = seeds[fmt] if rng.random() < 0.2 else broken(seeds, fmt, rng.getrandbits(32))[1]
        cases.append(Case(f"/fuzz/{i}", rng.choice(CONTENT_TYPES), body, rng.choice(ENCODINGS),
                          http2=rng.random() < http2))
    return cases


def origin_files(cases: list[Case]) -> dict[str, tuple[str, bytes]]:
    return {case.path: (case.content_type, case.body) for case in cases}


def send(watcher, host: str, case: Case) -> str:
    """Fetch one case through the proxy; returns 'ok' or what went wrong."""
    path = f"{case.path}?enc={case.encoding}"
    if case.http2:
        return _send_http2(watcher, host, path, case.body)
    got = watcher.fetch(host, path)
    body = gzip.decompress(got.body) if got.headers.get("Content-Encoding") == "gzip" else got.body
    if got.status != 200:
        return f"status {got.status}"
    return "ok" if body == case.body else "body changed"


def _send_http2(watcher, host: str, path: str, expected: bytes) -> str:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "body"
        result = subprocess.run(
            ["curl", "-sS", "--http2", "--compressed", "-x", f"http://127.0.0.1:{watcher.proxy_port}",
             "--cacert", str(watcher.ca_file), "-o", str(out), "-w", "%{http_version} %{http_code}",
             f"https://{host}{path}"], capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            return f"curl failed: {result.stderr.strip()}"
        if result.stdout != "2 200":
            return f"not HTTP/2 200: {result.stdout}"
        return "ok" if out.read_bytes() == expected else "body changed"


def send_all(watcher, host: str, cases: list[Case]) -> Counter:
    return Counter(send(watcher, host, case) for case in cases)
