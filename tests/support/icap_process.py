"""Test only: a real `sentinelle icap` in a child process, as an administrator starts it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from tests.support.watcher import ROOT, _drain, free_port


class SentinelleIcap:
    """`sentinelle icap` on free ports; `api()` reads its API as the extension would."""

    def __init__(self, data_dir: Path, workers: int = 1, port: int | None = None, api: bool = True,
                 options: tuple[str, ...] = ()) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.api_port = free_port() if api else 0
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sentinelle.server", "--data-dir", str(data_dir), "icap",
             "--port", str(self.port), "--api-port", str(self.api_port), "--workers", str(workers), *options],
            cwd=ROOT, env=os.environ | {"PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        self._streams: tuple[list[str], list[str]] = ([], [])
        self._readers = [threading.Thread(target=_drain, args=(pipe, into), daemon=True)
                         for pipe, into in zip((self.process.stdout, self.process.stderr), self._streams)]
        for reader in self._readers:
            reader.start()
        self.output = ("", "")
        self._wait_ready()
        self.token = (data_dir / "token").read_text().strip() if api else ""
        self.key = (data_dir / "icap-key").read_text().strip()  # as `setup squid` gives it to Squid

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"sentinelle icap exited {self.process.returncode}:\n{self.output}")
            # Ready once it says so: the API (if any) listens too by then.
            if "Press Ctrl-C to stop." in "".join(self._streams[0]):
                return
            time.sleep(0.05)
        raise TimeoutError("sentinelle icap did not start")

    def listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def api(self, path: str) -> object:
        request = urllib.request.Request(f"http://127.0.0.1:{self.api_port}{path}",
                                         headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stop(self, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        finally:
            for reader in self._readers:
                reader.join(10)
            self.output = ("".join(self._streams[0]), "".join(self._streams[1]))
        return self.process.returncode
