"""Enrolling photos: from files or uploaded bytes to protected photos in the store.

Shared by `sentinelle enroll` and `POST /api/photos`, so both accept and refuse the same
things for the same reasons. The photo itself is not copied: the store keeps its
fingerprints, a small thumbnail for the review page, and its SHA-256.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sentinelle.proxy.engine.fingerprint import protected_picture, protected_views
from sentinelle.proxy.engine.images import ImageError, thumbnail_jpeg, upright_size
from sentinelle.server.store.door import StoreThread
from sentinelle.server.store.records import NewPhoto, Store

THUMBNAIL_SIDE = 256
_DECODING = threading.Lock()

ENROLLED = "enrolled"
ALREADY = "already enrolled"
SKIPPED = "skipped"


@dataclass(frozen=True)
class Outcome:
    """What became of one file: enrolled, already enrolled, or skipped (and why)."""

    source: str  # the path or upload name as given
    status: str
    reason: str | None = None
    photo: dict | None = None

    def as_dict(self) -> dict:
        return {"file": self.source, "status": self.status, "reason": self.reason,
                "photo": self.photo}


def prepare_photo(data: bytes, name: str, child: str | None) -> NewPhoto:
    """Everything the store keeps of a photo (pure and CPU-bound: fine in a worker thread).

    The photo is decoded once, already shrunk (`protected_picture`): its views and its
    thumbnail are both taken of that picture. Raises ImageError when the bytes are not a
    photo Sentinelle can protect.
    """
    img = protected_picture(data)
    width, height = upright_size(data)
    return NewPhoto(
        sha256=hashlib.sha256(data).hexdigest(), name=Path(name).name, child=child,
        width=width, height=height, thumbnail=thumbnail_jpeg(img, THUMBNAIL_SIDE), views=protected_views(img),
    )


def enroll_bytes(store: Store, data: bytes, name: str, child: str | None) -> Outcome:
    """Protect the photo in `data`; the same bytes again is a no-op."""
    if existing := store.photo_by_sha256(hashlib.sha256(data).hexdigest()):
        return Outcome(name, ALREADY, photo=existing)
    try:
        photo = prepare_photo(data, name, child)
    except ImageError as e:
        return Outcome(name, SKIPPED, e.reason)
    return Outcome(name, ENROLLED, photo=store.add_photo(photo)[0])


async def enroll_upload(db: StoreThread, data: bytes, name: str, child: str | None) -> Outcome:
    """`enroll_bytes` for the API: the fingerprinting runs in a thread, the store's calls in
    the store's thread; the proxy's loop waits on neither."""
    sha256 = hashlib.sha256(data).hexdigest()
    if existing := await db.run(db.store.photo_by_sha256, sha256):
        return Outcome(name, ALREADY, photo=existing)
    try:
        photo = await asyncio.to_thread(_prepare_one_at_a_time, data, name, child)
    except ImageError as e:
        return Outcome(name, SKIPPED, e.reason)
    return Outcome(name, ENROLLED, photo=(await db.run(db.store.add_photo, photo))[0])


def enroll_file(store: Store, path: Path, child: str | None) -> Outcome:
    try:
        data = path.read_bytes()
    except OSError as e:
        return Outcome(str(path), SKIPPED, f"unreadable ({e.strerror or e})")
    outcome = enroll_bytes(store, data, path.name, child)
    return Outcome(str(path), outcome.status, outcome.reason, outcome.photo)


def _prepare_one_at_a_time(data: bytes, name: str, child: str | None) -> NewPhoto:
    # open_image changes warning filters, which are process-wide, and a photo's decoding may
    # take hundreds of MB: one decode at a time.
    with _DECODING:
        return prepare_photo(data, name, child)


def files_under(paths: Iterable[Path]) -> Iterator[Path]:
    """The files named, and every file in the folders named (recursively, in name order)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path
