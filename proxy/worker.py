"""What runs in each of the watcher's worker processes: fingerprint an image and search the
protected set, all off the proxy's event loop. Kept apart from mitmproxy, which a worker
never needs.

The protected set reaches the workers as a file (`save_matcher`), named in each task with
its version: a worker loads it once per version and keeps it, so a task carries only the
image's bytes.
"""

from __future__ import annotations

import os
import pickle
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

from proxy.fingerprint import fingerprint
from proxy.matcher import Match, Matcher


@dataclass(frozen=True)
class IndexRef:
    """Where the protected set is saved, and which version of it that file holds."""

    path: str
    version: int


def save_matcher(matcher: Matcher, path: Path) -> None:
    """Write the protected set for the workers, at once (a worker never reads half a file).

    The file holds fingerprints only, as the database does, in the same private data dir.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".index-")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(matcher, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_loaded: tuple[IndexRef, Matcher] | None = None


def check(data: bytes, index: IndexRef) -> Match | None:
    """Fingerprint an image seen on the wire and say which protected photo it copies, if any.
    Raises ImageError for bytes that are not a usable image."""
    return _matcher(index).match(fingerprint(data))


def _matcher(index: IndexRef) -> Matcher:
    global _loaded
    if _loaded is None or _loaded[0] != index:
        with open(index.path, "rb") as f:
            _loaded = (index, pickle.load(f))  # our own file, in the private data dir
    return _loaded[1]


def start() -> None:
    """Initialise a worker: fingerprinting waits for spare CPU, the proxy and browser never
    wait for it. Its imports are done by then, at normal priority."""
    # Ctrl-C in a terminal reaches every process of the group: the main process stops the
    # workers itself, so they must not die with a traceback of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        os.nice(10)
    except (AttributeError, OSError):  # Windows has no nice(); a refused nice is harmless
        pass


def ready() -> bool:
    """A task that does nothing: submitted at start so the workers are up before the first image."""
    return True
