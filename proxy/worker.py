"""What runs in each of the watcher's worker processes, kept apart from mitmproxy.

A worker imports this module, not the add-on: it needs the fingerprinting code only, and
starts faster and smaller without mitmproxy.
"""

from __future__ import annotations

import os
import signal

import proxy.fingerprint  # noqa: F401 - imported before lowering priority, so start-up is quick


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
