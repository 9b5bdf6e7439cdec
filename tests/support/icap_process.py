"""Test only: a real `sentinelle icap` in a child process, as an administrator starts it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.watcher import ROOT, Child, free_port


class SentinelleIcap(Child):
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
        self._read_output()
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
            if "Press Ctrl-C to stop." in self.output_so_far()[0]:
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
