"""When the browser last reached Sentinelle: the extension (a request with the token) and the
proxy rules (`/proxy.pac`). `sentinelle doctor` reads them to say whether the extension is
paired and the PAC is in use.

Each is an empty file in the data dir whose modification time is the time of the last
contact, touched at most once a minute: no database write on every request.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

EXTENSION = "extension"
PAC = "pac"
_FILES = {EXTENSION: "last-contact-extension", PAC: "last-contact-pac"}
THROTTLE_SECONDS = 60.0


class Contacts:
    """Records contacts for a data dir; `clock` is a seam for tests."""

    def __init__(self, data_dir: Path, clock=time.time) -> None:
        self._data_dir = data_dir
        self._clock = clock
        self._written: dict[str, float] = {}

    def touch(self, kind: str) -> None:
        now = self._clock()
        if now - self._written.get(kind, float("-inf")) < THROTTLE_SECONDS:
            return
        path = self._data_dir / _FILES[kind]
        try:
            path.touch(mode=0o600)
            os.utime(path, (now, now))
        except OSError:
            return  # a full or read-only disk must not fail the request; doctor says so
        self._written[kind] = now


def last_contact(data_dir: Path, kind: str) -> datetime | None:
    """When `kind` last reached the server, or None if never."""
    try:
        return datetime.fromtimestamp((data_dir / _FILES[kind]).stat().st_mtime, UTC)
    except FileNotFoundError:
        return None
