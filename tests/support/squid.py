"""Test only: a real Squid (Debian's squid-openssl) on loopback, configured by `sentinelle setup squid`,
and curl through it.

Squid runs on free ports with a folder of its own (pid file, logs, certificate database, its
copy of Sentinelle's CA) and its own resolver: a `hosts_file` sends the fake social hosts and
the fake bank to 127.0.0.1, where the origin listens on a port of its own (the URLs name it:
an origin on 443 would need root). Squid trusts the origin's CA (`tls_outgoing_options`), as
it trusts the real CAs in a school. Run as root (as CI does), Squid works as its own user,
`proxy`: its folder is then given to it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.watcher import free_port, sentinelle

SQUID = shutil.which("squid") or next((p for p in ("/usr/sbin/squid",) if Path(p).exists()), None)
CERTGEN = Path("/usr/lib/squid/security_file_certgen")
CURL = shutil.which("curl")


def missing() -> str | None:
    """Why Squid tests cannot run here, or None."""
    if SQUID is None:
        return "Squid is not installed (Debian: squid-openssl)"
    if not CERTGEN.exists():
        return f"{CERTGEN} is missing: Squid was built without TLS (Debian: squid-openssl, not squid)"
    if CURL is None:
        return "curl is not installed"
    return None


@dataclass
class Fetched:
    code: int  # curl's exit code: 0 when the transfer worked
    status: int  # the HTTP status (0 when there was none)
    body: bytes
    log: str  # curl's -v output: the certificate it was shown, the errors

    @property
    def issuer(self) -> str:
        return next((line.split("issuer:", 1)[1].strip() for line in self.log.splitlines() if "issuer:" in line), "")


class Squid:
    """Squid configured by `sentinelle setup squid --write` for `data_dir`'s CA and an ICAP
    service on `icap_port`; `hosts` are resolved to 127.0.0.1."""

    def __init__(self, data_dir: Path, origin_ca: Path, hosts: list[str], icap_ports: list[int],
                 extra_config: tuple[str, ...] = ()) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="sentinelle-squid-"))
        self.folder.chmod(0o755)  # Squid's user must reach it
        self.port = free_port()
        conf_d = self.folder / "conf.d"
        written = sentinelle(
            data_dir, "setup", "squid", "--write", str(conf_d), "--port", str(self.port), "--listen", "127.0.0.1",
            "--ssl-db", str(self.folder / "ssl_db"), "--certgen", str(CERTGEN),
            *(arg for port in icap_ports for arg in ("--icap", f"127.0.0.1:{port}")),
        )
        self.said = written.stdout
        subprocess.run([str(CERTGEN), "-c", "-s", str(self.folder / "ssl_db"), "-M", "4MB"],
                       check=True, capture_output=True, timeout=60)
        (self.folder / "hosts").write_text(f"127.0.0.1 {' '.join(hosts)}\n")
        self.config = self.folder / "squid.conf"
        self.config.write_text("\n".join([
            f"pid_filename {self.folder}/squid.pid",
            f"cache_log {self.folder}/cache.log",
            f"access_log stdio:{self.folder}/access.log",
            "cache deny all",
            "cache_mem 8 MB",
            "shutdown_lifetime 1 seconds",
            "pinger_enable off",
            f"coredump_dir {self.folder}",
            f"hosts_file {self.folder}/hosts",
            "dns_nameservers 127.0.0.1",
            f"tls_outgoing_options cafile={origin_ca}",
            "http_access allow localhost",
            f"include {conf_d}/sentinelle.conf",
            "http_access deny all",
            *extra_config,
        ]) + "\n")
        if os.geteuid() == 0:  # Squid will work as `proxy`: its folder is its own
            proxy = pwd.getpwnam("proxy")
            for path in [self.folder, *self.folder.rglob("*")]:
                os.chown(path, proxy.pw_uid, proxy.pw_gid)
        self.process = subprocess.Popen([SQUID, "-N", "-f", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, start_new_session=True)
        self._wait_listening()

    def _wait_listening(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"squid exited {self.process.returncode}:\n{self.process.stderr.read().decode()}"
                                   f"\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("squid did not start listening")

    def log(self) -> str:
        path = self.folder / "cache.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def fetch(self, url: str, cacert: Path, headers: dict[str, str] | None = None) -> Fetched:
        """GET `url` with curl through Squid, trusting only `cacert`."""
        out = self.folder / f"body-{time.monotonic_ns()}"
        command = [CURL, "-sS", "-v", "--proxy", f"http://127.0.0.1:{self.port}", "--cacert", str(cacert),
                   "--capath", "/nonexistent", "-o", str(out), "-w", "%{http_code}", "--max-time", "30", url]
        for name, value in (headers or {}).items():
            command += ["-H", f"{name}: {value}"]
        done = subprocess.run(command, capture_output=True, timeout=60, check=False)
        body = out.read_bytes() if out.exists() else b""
        out.unlink(missing_ok=True)
        status = done.stdout.decode().strip()
        return Fetched(done.returncode, int(status) if status.isdigit() else 0, body,
                       done.stderr.decode(errors="replace"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process.stderr.close()
        shutil.rmtree(self.folder, ignore_errors=True)
