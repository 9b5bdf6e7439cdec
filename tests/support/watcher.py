"""Test only: a real `sentinelle run` in a child process, and a browser-like client for it."""

from __future__ import annotations

import http.client
import json
import os
import resource
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK_DNS = Path(__file__).with_name("loopback_dns.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sentinelle(data_dir: Path, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run the `sentinelle` command as a parent would, in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "sentinelle.server", "--data-dir", str(data_dir), *args],
        cwd=ROOT, capture_output=True, text=True, check=check, timeout=120, **kwargs,
    )


@dataclass
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes
    peer_cert: bytes  # DER of the certificate the client was shown


class Child:
    """A `sentinelle` command in a child process (`process`, started with its output piped), its
    output read as it comes, as a terminal or the journal would: a pipe nobody reads fills up
    (64 KB), and the next log line then blocks the whole proxy."""

    process: subprocess.Popen

    def _read_output(self) -> None:
        self._streams: tuple[list[str], list[str]] = ([], [])
        self._readers = [
            threading.Thread(target=_drain, args=(pipe, into), daemon=True)
            for pipe, into in zip((self.process.stdout, self.process.stderr), self._streams)
        ]
        for reader in self._readers:
            reader.start()
        self.output = ("", "")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0, group: bool = False) -> int:
        """Stop it as the system would (`group`: every process of its group, as Ctrl-C in a
        terminal does); returns the exit code and keeps (stdout, stderr)."""
        if self.process.poll() is None:
            if group:
                os.killpg(self.process.pid, sig)
            else:
                self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        finally:
            self._collect()
        return self.process.returncode

    def output_so_far(self) -> tuple[str, str]:
        """What it has written to (stdout, stderr) up to now, while it runs."""
        return "".join(self._streams[0]), "".join(self._streams[1])

    def _collect(self, timeout: float = 10.0) -> tuple[str, str]:
        for reader in self._readers:
            reader.join(timeout)
        self.output = self.output_so_far()
        return self.output


class Watcher(Child):
    """`sentinelle run` with a test-only resolver that sends chosen names to loopback origins.
    `ports`: its (proxy, API) ports, as a run before it had them; by default, free ones."""

    def __init__(self, data_dir: Path, hosts: dict[str, int], origin_ca: Path,
                 extra_set: tuple[str, ...] = (), ports: tuple[int, int] | None = None,
                 open_files: int | None = None) -> None:
        """`open_files`: the soft limit on open files it starts with (a desktop's 1,024, say)."""
        self.data_dir = data_dir
        # A free port picked here may be taken by another process before the run binds it: then
        # it is started again on others (ports given by the caller are the caller's to keep).
        for attempt in range(3):
            self.proxy_port, self.api_port = ports or (free_port(), free_port())
            self._start(hosts, origin_ca, extra_set, open_files)
            try:
                self._wait_ready()
                break
            except RuntimeError as e:
                if ports or "address already in use" not in str(e) or attempt == 2:
                    raise
        self.token = (data_dir / "token").read_text().strip()
        self.ca_file = data_dir / "mitmproxy" / "mitmproxy-ca-cert.pem"

    def _start(self, hosts: dict[str, int], origin_ca: Path, extra_set: tuple[str, ...],
               open_files: int | None) -> None:
        env = os.environ | {"SENTINELLE_TEST_HOSTS": ",".join(f"{h}={p}" for h, p in hosts.items()),
                            "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sentinelle.server", "--data-dir", str(self.data_dir), "run",
             "--proxy-port", str(self.proxy_port), "--api-port", str(self.api_port),
             "--set", f"scripts={LOOPBACK_DNS}",
             "--set", f"ssl_verify_upstream_trusted_ca={origin_ca}",
             *(arg for option in extra_set for arg in ("--set", option))],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,  # its own process group, as in a terminal of its own
            preexec_fn=None if open_files is None else partial(_limit_open_files, open_files),
        )
        self._read_output()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                out, err = self._collect()
                raise RuntimeError(f"sentinelle run exited {self.process.returncode}:\n{out}\n{err}")
            try:
                with socket.create_connection(("127.0.0.1", self.proxy_port), timeout=0.2):
                    pass
                self.api("GET", "/api/health")
                return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("sentinelle run did not start listening")

    def api(self, method: str, path: str, body: dict | None = None, token: str | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, object]:
        """Call the API as the extension does; returns (status, decoded JSON or bytes)."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.api_port}{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        if token or getattr(self, "token", None):
            request.add_header("Authorization", f"Bearer {token or self.token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw, kind = response.status, response.read(), response.headers.get_content_type()
        except urllib.error.HTTPError as e:
            status, raw, kind = e.code, e.read(), e.headers.get_content_type()
        return status, (json.loads(raw) if kind == "application/json" else raw)

    def fetch(self, host: str, path: str, cafile: Path | None = None,
              headers: dict[str, str] | None = None) -> Fetched:
        """GET https://host/path through the proxy, trusting only `cafile` (default: Sentinelle's CA)."""
        context = ssl.create_default_context(cafile=str(cafile or self.ca_file))
        conn = http.client.HTTPSConnection("127.0.0.1", self.proxy_port, context=context, timeout=30)
        conn.set_tunnel(host, 443)
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            body = response.read()
            return Fetched(response.status, dict(response.headers), body,
                           conn.sock.getpeercert(binary_form=True))
        finally:
            conn.close()

    def fetch_many(self, host: str, paths: list[str]) -> list[bytes]:
        """GET each path in turn over one kept-alive connection, as a browser scrolling a feed."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        conn = http.client.HTTPSConnection("127.0.0.1", self.proxy_port, context=context, timeout=30)
        conn.set_tunnel(host, 443)
        bodies = []
        try:
            for path in paths:
                conn.request("GET", path)
                bodies.append(conn.getresponse().read())
        finally:
            conn.close()
        return bodies


def _limit_open_files(soft: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))


def _drain(pipe, into: list[str]) -> None:
    with pipe:
        into.extend(pipe)  # line by line, as it comes
