"""The watcher's counts on disk (`watch-counts.json`), so that `sentinelle doctor` can say how many
images were checked and how many passed unchecked. Counts only: nothing of any image."""

from __future__ import annotations

import json
from pathlib import Path

from sentinelle.proxy.files import write_atomically

FILE = "watch-counts.json"


def write_counts(data_dir: Path, counts: dict) -> None:
    """Replace the file at once (a reader never sees half of it)."""
    write_atomically(data_dir / FILE, json.dumps(counts), prefix=".counts-")


def read_counts(data_dir: Path) -> dict | None:
    try:
        return json.loads((data_dir / FILE).read_text())
    except (OSError, ValueError):
        return None
