"""The watcher's counts on disk (`watch-counts.json`), so that `sentinelle doctor` can say how many
images were checked and how many passed unchecked. Counts only: nothing of any image."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

FILE = "watch-counts.json"


def write_counts(data_dir: Path, counts: dict) -> None:
    """Replace the file at once (a reader never sees half of it)."""
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".counts-")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(counts, f)
        os.replace(tmp, data_dir / FILE)
    except BaseException:
        os.unlink(tmp)
        raise


def read_counts(data_dir: Path) -> dict | None:
    try:
        return json.loads((data_dir / FILE).read_text())
    except (OSError, ValueError):
        return None
