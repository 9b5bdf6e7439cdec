"""Writing a file whole or not at all: the one way Sentinelle replaces a file.

A reader (a checking process loading the index, `sentinelle doctor` reading the counts, a
browser reading the CA, Squid reading its copy of it) sees the old file or the new one, never
half of either, even if the machine loses power: the new bytes go to a temporary file beside
the old one, created with its final mode from its first byte (a key is never readable by
others, even for an instant), flushed to the disk, renamed over the old one, and the rename
itself made durable by syncing the folder.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: Path, data: bytes | str | Callable[[BinaryIO], object], mode: int = 0o600, *,
                     prefix: str = ".partial-", owner: tuple[int, int] | None = None) -> None:
    """Replace `path` with `data` (bytes, text as UTF-8, or a function that writes to the open
    file), with permissions `mode` and, when given, the (uid, gid) `owner`. `prefix` names the
    temporary file, so that a caller can find what a killed process left behind."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix)  # 0600 from its first byte
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), mode)
            if owner is not None:
                os.fchown(f.fileno(), *owner)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX; Windows has no folder to open, nor needs it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
