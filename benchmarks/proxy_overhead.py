"""Measures what Sentinelle's add-on adds to the latency of images going through the proxy.

    python -m benchmarks.proxy_overhead [--requests 400] [--rounds 4] [--concurrency 1 8 32]

In one run, on loopback and over HTTPS: a fake Instagram CDN (its own process) serving
1080-px JPEGs, plain mitmproxy with no add-on (`mitmdump`), and `sentinelle run` with
the Kodak fixtures enrolled, both intercepting the CDN's host. A client (this process)
fetches the images through each proxy in turn, rounds interleaved so that drift on the
machine falls on both alike, at each number of concurrent connections. Every image is
fingerprinted by Sentinelle (none matches, as in a real feed). Writes
benchmarks/results/proxy-overhead.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shlex
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.support.certs import make_origin_certs
from tests.support.watcher import LOOPBACK_DNS, ROOT, free_port

RESULTS = Path(__file__).parent / "results" / "proxy-overhead.md"
CDN = "scontent-bench.cdninstagram.com"
IMAGES = 12  # distinct images the feed cycles through: the Kodak fixtures not enrolled


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=ROOT, env=os.environ | env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited: {process.stdout.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


async def fetch_all(proxy_port: int, ca_file: Path, concurrency: int, requests: int) -> tuple[list[float], int]:
    """Latency in ms of `requests` image fetches over `concurrency` kept-alive connections."""
    context = ssl.create_default_context(cafile=str(ca_file))
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=context)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            nonlocal errors
            for n in counter:
                started = time.perf_counter()
                try:
                    async with session.get(f"https://{CDN}/img/{n % IMAGES}.jpg",
                                           proxy=f"http://127.0.0.1:{proxy_port}") as response:
                        await response.read()
                        if response.status != 200:
                            errors += 1
                            continue
                except aiohttp.ClientError:
                    errors += 1
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return f"{platform.machine()}, {model}, {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per round and proxy")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds per proxy")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sentinelle-bench-"))
    certs = make_origin_certs(work / "origin", [CDN])
    origin_port, plain_port = free_port(), free_port()
    data_dir = work / "data"
    fixtures = sorted((ROOT / "tests" / "fixtures" / "kodak").glob("*.jpg"))
    subprocess.run([sys.executable, "-m", "server", "--data-dir", str(data_dir), "enroll",
                    *map(str, fixtures[:12])], cwd=ROOT, check=True, capture_output=True)
    env = {"SENTINELLE_TEST_HOSTS": f"{CDN}={origin_port}"}
    common = ["--set", f"scripts={LOOPBACK_DNS}", "--set", f"ssl_verify_upstream_trusted_ca={certs.ca_file}"]
    origin = start([sys.executable, "-m", "benchmarks.fake_cdn", str(origin_port), str(certs.cert_file),
                    str(certs.key_file), *map(str, fixtures[12:12 + IMAGES])], env)
    plain = start([str(Path(sys.executable).with_name("mitmdump")), "-q", "--listen-host", "127.0.0.1",
                   "-p", str(plain_port), "--set", f"confdir={work / 'plain'}",
                   "--set", r"allow_hosts=^(.+\.)?cdninstagram\.com(:\d+)?$", *common], env)
    sentinelle = start([sys.executable, "-m", "server", "--data-dir", str(data_dir), "run",
                        "--proxy-port", str(free_port()), "--api-port", str(free_port()), *common], env)
    sentinelle_port = int(sentinelle.args[sentinelle.args.index("--proxy-port") + 1])
    try:
        for port, process in ((origin_port, origin), (plain_port, plain), (sentinelle_port, sentinelle)):
            wait_for_port(port, process)
        proxies = {"mitmproxy alone": (plain_port, work / "plain" / "mitmproxy-ca-cert.pem"),
                   "with Sentinelle": (sentinelle_port, data_dir / "mitmproxy" / "mitmproxy-ca-cert.pem")}
        for port, ca in proxies.values():  # warm up: TLS leaves minted, workers spawned
            asyncio.run(fetch_all(port, ca, 4, 40))
        rows = []
        for concurrency in args.concurrency:
            results = {name: ([], 0) for name in proxies}
            for _ in range(args.rounds):
                for name, (port, ca) in proxies.items():
                    latencies, errors = asyncio.run(fetch_all(port, ca, concurrency, args.requests))
                    results[name] = (results[name][0] + latencies, results[name][1] + errors)
            (plain_ms, plain_errors), (ours_ms, our_errors) = results.values()
            rows.append((concurrency, len(plain_ms), len(ours_ms),
                         statistics.median(plain_ms), statistics.median(ours_ms),
                         percentile(plain_ms, 99), percentile(ours_ms, 99), plain_errors + our_errors))
            print(rows[-1], flush=True)
    finally:
        for process in (sentinelle, plain, origin):
            process.terminate()
        stopped = sentinelle.communicate(timeout=30)[0]
        for process in (plain, origin):
            process.communicate(timeout=30)
    write_report(rows, args, stopped)


def write_report(rows, args, sentinelle_output: str) -> None:
    command = "python -m benchmarks.proxy_overhead " + shlex.join(sys.argv[1:])
    lines = [
        "# Proxy overhead benchmark", "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {machine()} (client, fake CDN, both proxies and Sentinelle's workers share them)",
        f"- command: `{command.strip()}`",
        f"- {args.rounds} interleaved rounds of {args.requests} HTTPS image fetches per proxy and concurrency; "
        f"{IMAGES} distinct 1080-px JPEGs (Kodak fixtures, upscaled, not enrolled), 12 photos enrolled",
        "", "| connections | requests (plain / Sentinelle) | p50 plain | p50 Sentinelle | added p50 | "
        "p99 plain | p99 Sentinelle | added p99 | client errors |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c, n_plain, n_ours, p50a, p50b, p99a, p99b, errors in rows:
        lines.append(f"| {c} | {n_plain} / {n_ours} | {p50a:.2f} ms | {p50b:.2f} ms | {p50b - p50a:+.2f} ms | "
                     f"{p99a:.2f} ms | {p99b:.2f} ms | {p99b - p99a:+.2f} ms | {errors} |")
    summary = next((line for line in sentinelle_output.splitlines() if line.startswith("Images from")), "")
    lines += ["", f"Sentinelle at the end of the run: {summary}", ""]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
