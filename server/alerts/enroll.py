"""Enrolling photos: from files, archive members or uploaded bytes to protected photos in the store.

Shared by `sentinelle enroll` and `POST /api/photos`, so both accept and refuse the same
things for the same reasons. The photo itself is not copied: the store keeps its
fingerprints, a small thumbnail for the review page, and its SHA-256, all written in one
transaction (`Store.add_photo`). A photo that cannot be enrolled is skipped with its reason,
and the others go on.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from sentinelle.proxy.engine.fingerprint import protected_picture, protected_views
from sentinelle.proxy.engine.images import ImageError, thumbnail_jpeg, upright_size
from sentinelle.server.alerts.album import Candidate, Unreadable
from sentinelle.server.store.door import StoreDoor
from sentinelle.server.store.records import NewPhoto, Store

THUMBNAIL_SIDE = 256
_DECODING = threading.Lock()

ENROLLED = "enrolled"
ALREADY = "already enrolled"
SKIPPED = "skipped"
# Reasons besides the images module's (proxy/engine/images.py) and the album's (server/alerts/album.py).
NO_MEMORY = "not enough memory to decode it"
FAULT = "Sentinelle could not fingerprint it (please report this)"


@dataclass(frozen=True)
class Outcome:
    """What became of one file: enrolled, already enrolled, or skipped (and why)."""

    source: str  # the path or upload name as given
    status: str
    reason: str | None = None
    photo: dict | None = None
    detail: str | None = None  # what exactly, when skipped: "40×40, the short side must be at least 128 px"

    def as_dict(self) -> dict:
        return {"file": self.source, "status": self.status, "reason": self.reason,
                "detail": self.detail, "photo": self.photo}


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
    photo = _prepared(prepare_photo, data, name, child)
    if isinstance(photo, Outcome):
        return photo
    return Outcome(name, ENROLLED, photo=store.add_photo(photo)[0])


def enroll_candidate(store: Store, candidate: Candidate, child: str | None) -> Outcome:
    """Read one photo of an album (a file, or a member of an archive) and protect it."""
    try:
        data = candidate.read()
    except Unreadable as refused:
        return Outcome(candidate.source, SKIPPED, refused.reason)
    return replace(enroll_bytes(store, data, candidate.name, child), source=candidate.source)


async def enroll_upload(db: StoreDoor, data: bytes, name: str, child: str | None) -> Outcome:
    """`enroll_bytes` for the API: the fingerprinting runs in a thread, one photo at a time in
    the whole process, and the store's calls through its door; the proxy's loop waits on
    neither."""
    sha256 = hashlib.sha256(data).hexdigest()
    if existing := await db.read(Store.photo_by_sha256, sha256):
        return Outcome(name, ALREADY, photo=existing)
    photo = await asyncio.to_thread(_prepared, _prepare_one_at_a_time, data, name, child)
    if isinstance(photo, Outcome):
        return photo
    return Outcome(name, ENROLLED, photo=(await db.write(Store.add_photo, photo))[0])


def _prepared(prepare, data: bytes, name: str, child: str | None) -> NewPhoto | Outcome:
    """`prepare(data, name, child)`, or the outcome of a photo that cannot be enrolled: one photo
    that fails, whatever the reason, is skipped with it and the rest of the album goes on."""
    try:
        return prepare(data, name, child)
    except ImageError as e:
        return Outcome(name, SKIPPED, e.reason, detail=e.detail or None)
    except MemoryError:
        return Outcome(name, SKIPPED, NO_MEMORY)
    except Exception as e:  # noqa: BLE001 - a fault of Sentinelle's on one photo: said, and the album goes on
        kind = type(e).__name__ if type(e).__module__ == "builtins" else f"{type(e).__module__}.{type(e).__name__}"
        return Outcome(name, SKIPPED, FAULT, detail=f"{kind}: {e}")


def _prepare_one_at_a_time(data: bytes, name: str, child: str | None) -> NewPhoto:
    # open_image changes warning filters, which are process-wide, and a photo's decoding may
    # take hundreds of MB: one decode at a time.
    with _DECODING:
        return prepare_photo(data, name, child)
