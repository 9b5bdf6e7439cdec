"""Where the browser extension shipped inside the `sentinelle` package lies on this disk.

The extension is a data package (`sentinelle.extension`, the project's `extension/`
folder): the case file reads the reporting channels from the same file the review page
shows. `importlib.resources` cannot open a namespace package that an editable install
extends with its own path hook, so the package's search path is read directly.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


class ExtensionMissing(Exception):
    """The installed Sentinelle has no extension folder: an incomplete install."""


def extension_dir() -> Path:
    spec = importlib.util.find_spec("sentinelle.extension")
    for entry in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(entry)
        if (folder / "manifest.json").is_file():
            return folder
    raise ExtensionMissing("Sentinelle's extension folder is not installed: reinstall Sentinelle")


def extension_file(relative: str) -> Path:
    """A file of the extension, e.g. `data/next-steps.json`."""
    return extension_dir() / relative
