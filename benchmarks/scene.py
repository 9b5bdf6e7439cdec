"""The benchmarks' stage: a fake social CDN, `sentinelle run`, plain mitmproxy and plain mitmproxy
running Sentinelle's add-on, each in its own process, on loopback. Used by
`benchmarks.proxy_overhead` and `benchmarks.load`."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.certs import make_origin_certs
from tests.support.watcher import LOOPBACK_DNS, ROOT, free_port

CDN = "scontent-bench.cdninstagram.com"
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "kodak").glob("*.jpg"))
ENROLLED, FEED = FIXTURES[:12], FIXTURES[12:]  # the feed shows strangers only, as most feeds do
# The proxies' names in the benchmarks' reports.
PLAIN, CONTROL, SENTINELLE = "mitmproxy alone", "mitmproxy alone (control)", "with Sentinelle"
ADDON = "mitmproxy with Sentinelle's add-on"  # mitmdump -s server/run/mitmdump_addon.py
# Browsers open at most 6 HTTP/1.1 connections to one host.
BROWSER_CONNECTIONS = 6


@dataclass
class Proxy:
    name: str
    port: int
    ca_file: Path
    process: subprocess.Popen
    log: Path  # what the process wrote (stdout and stderr)
    api: tuple[int, str] | None = None  # the port and token of its Sentinelle API, if it has one


@dataclass
class Scene:
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sentinelle-bench-")))
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: dict[int, Path] = field(default_factory=dict)  # pid → what that process wrote
    proxies: dict[str, Proxy] = field(default_factory=dict)
    api_port: int = 0
    token: str = ""
    cdn: subprocess.Popen | None = None  # the fake CDN's process
    served: Sequence[Path] = tuple(FEED)  # what the fake CDN serves as /img/0.jpg, /img/1.jpg, …

    def __enter__(self) -> Scene:
        certs = make_origin_certs(self.work / "origin", [CDN])
        origin_port = free_port()
        self._env = {"SENTINELLE_TEST_HOSTS": f"{CDN}={origin_port}"}
        self._common = ["--set", f"scripts={LOOPBACK_DNS}",
                        "--set", f"ssl_verify_upstream_trusted_ca={certs.ca_file}"]
        origin = self._start("fake-cdn", [sys.executable, "-m", "benchmarks.fake_cdn", str(origin_port),
                                          str(certs.cert_file), str(certs.key_file), *map(str, self.served)])
        wait_for_port(origin_port, origin, self.logs[origin.pid])
        self.cdn = origin
        return self

    def __exit__(self, *exc) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    def sentinelle(self, wrap: Sequence[str] = (), start_timeout: float = 30, scripts: Sequence[Path] = (),
                   env: dict[str, str] | None = None) -> Proxy:
        """`sentinelle run` with the ENROLLED photos; `wrap`: a command to run it under
        (valgrind), which may need a longer `start_timeout`; `scripts`: more mitmproxy scripts
        for it to load, with `env` in their environment."""
        data_dir = _enrolled(self.work / "data")
        port, self.api_port = free_port(), free_port()
        process = self._start("sentinelle", [
            *wrap, sys.executable, "-m", "sentinelle.server", "--data-dir", str(data_dir), "run",
            "--proxy-port", str(port), "--api-port", str(self.api_port), *self._common,
            *(arg for script in scripts for arg in ("--set", f"scripts={script}"))], env=env)
        wait_for_port(port, process, self.logs[process.pid], start_timeout)
        self.token = (data_dir / "token").read_text().strip()
        return self._add(SENTINELLE, port, data_dir / "mitmproxy" / "mitmproxy-ca-cert.pem", process,
                         (self.api_port, self.token))

    def mitmproxy_with_addon(self, name: str = ADDON,
                             wrap: Sequence[str] = (), start_timeout: float = 30) -> Proxy:
        """Plain mitmproxy (all of mitmdump's own add-ons) running Sentinelle's add-on as a script
        (`mitmdump -s server/run/mitmdump_addon.py`), the ENROLLED photos in a data dir of its own.
        `wrap` and `start_timeout` as for `sentinelle`."""
        data_dir, port, api_port = _enrolled(self.work / "addon-data"), free_port(), free_port()
        process = self._start("addon", [
            *wrap, str(Path(sys.executable).with_name("mitmdump")), "-q", "--listen-host", "127.0.0.1",
            "-p", str(port), "--set", f"confdir={self.work / 'addon'}",
            "-s", str(LOOPBACK_DNS), "-s", str(ROOT / "server" / "run" / "mitmdump_addon.py"),
            *self._common[2:], "--set", f"sentinelle_api_port={api_port}"],
            env={"SENTINELLE_HOME": str(data_dir)})
        for listening in (port, api_port):  # the API (and its token) comes once the proxy runs
            wait_for_port(listening, process, self.logs[process.pid], start_timeout)
        token = (data_dir / "token").read_text().strip()
        return self._add(name, port, self.work / "addon" / "mitmproxy-ca-cert.pem", process, (api_port, token))

    def plain_mitmproxy(self, name: str = PLAIN, confdir: str = "plain",
                        wrap: Sequence[str] = (), start_timeout: float = 30) -> Proxy:
        """mitmproxy with no add-on; a second one (the benchmark's control) needs its own name and
        confdir (where its CA is made). `wrap` and `start_timeout` as for `sentinelle`."""
        port = free_port()
        process = self._start(confdir, [
            *wrap, str(Path(sys.executable).with_name("mitmdump")), "-q", "--listen-host", "127.0.0.1",
            "-p", str(port), "--set", f"confdir={self.work / confdir}",
            "--set", r"allow_hosts=^(.+\.)?cdninstagram\.com(:\d+)?$", *self._common])
        wait_for_port(port, process, self.logs[process.pid], start_timeout)
        return self._add(name, port, self.work / confdir / "mitmproxy-ca-cert.pem", process)

    def stats(self, proxy: Proxy | None = None) -> dict:
        """/api/stats of `proxy`'s Sentinelle, by default of `sentinelle run`."""
        api_port, token = proxy.api if proxy is not None else (self.api_port, self.token)
        request = urllib.request.Request(f"http://127.0.0.1:{api_port}/api/stats",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def _add(self, name: str, port: int, ca_file: Path, process: subprocess.Popen,
             api: tuple[int, str] | None = None) -> Proxy:
        self.proxies[name] = Proxy(name, port, ca_file, process, self.logs[process.pid], api)
        return self.proxies[name]

    def _start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        # Output goes to a file, never to a pipe: nobody reads a pipe during a run, and once
        # its 64 KB are full the next log line blocks the process writing it — for Sentinelle,
        # its whole event loop, proxy and API (a soak used to stall so after ~55,000 images).
        log = self.work / f"{name}.log"
        with open(log, "w") as out:
            process = subprocess.Popen(args, cwd=ROOT, env=os.environ | self._env | (env or {}), stdout=out,
                                       stderr=subprocess.STDOUT)
        self.logs[process.pid] = log
        self.processes.append(process)
        return process


def _enrolled(data_dir: Path) -> Path:
    """`data_dir`, with the ENROLLED photos enrolled in it."""
    subprocess.run([sys.executable, "-m", "sentinelle.server", "--data-dir", str(data_dir), "enroll",
                    *map(str, ENROLLED)], cwd=ROOT, check=True, capture_output=True)
    return data_dir


async def fetch_image(session, proxy_port: int, n: int, cdn_delay_ms: float = 0) -> float | None:
    """Fetch the feed's n-th image through the proxy: its latency in ms, or None on an error.
    `cdn_delay_ms`: the fake CDN waits that long before answering."""
    query = f"?delay={cdn_delay_ms:g}" if cdn_delay_ms else ""
    return await timed_get(session, f"https://{CDN}/img/{n % len(FEED)}.jpg{query}", f"http://127.0.0.1:{proxy_port}")


async def timed_get(session, url: str, proxy: str | None) -> float | None:
    """GET `url` through `proxy` and read its body: the latency in ms, or None on an error or
    an answer other than 200."""
    import aiohttp

    started = time.perf_counter()
    try:
        async with session.get(url, proxy=proxy) as response:
            await response.read()
            if response.status != 200:
                return None
    except (TimeoutError, aiohttp.ClientError):
        return None
    return (time.perf_counter() - started) * 1000


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    """Until something listens on 127.0.0.1:`port`; the log of `process` if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:4]} exited: {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return f"{platform.machine()}, {model}, {os.cpu_count()} cores"
