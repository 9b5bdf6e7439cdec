"""An index of the protected set written for a test, as `sentinelle enroll` would leave it beside a store."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sentinelle.proxy.engine.fingerprint import Fingerprint
from sentinelle.proxy.engine.index import IndexFolder
from sentinelle.proxy.engine.segment import grouped
from sentinelle.proxy.fronts.worker import IndexRef


def saved_index(folder: Path, entries: Iterable[tuple[int, str, Fingerprint]], children: Iterable[dict] = ()) -> IndexRef:
    """`entries` (photo id, view, fingerprint) and the `children` (name, aliases, handles) written as
    an index in `folder`: what the checking processes are handed."""
    photos = {photo.photo_id: photo for photo in grouped(entries)}
    keys = [(photo_id, photo_id.to_bytes(32, "big")) for photo_id in photos]  # one key a photo, as a SHA-256 would be
    manifest = IndexFolder(folder).update(1, keys, lambda ids: [photos[i] for i in ids], {"children": list(children)})
    return IndexRef(str(manifest.path), manifest.generation)
