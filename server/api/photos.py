"""The API's protected photos: listed, uploaded (multipart, within bounds), forgotten, and their
thumbnails.

    GET    /api/photos                 every protected photo
    POST   /api/photos                 multipart: `photo` files, and an optional `child` field before them
    DELETE /api/photos/{id}            stop protecting it
    GET    /api/photos/{id}/thumbnail  what the review page shows of it

An upload or a deletion reaches the proxy's next image: the protected set is refreshed.
"""

from __future__ import annotations

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from sentinelle.server.alerts.enroll import enroll_upload
from sentinelle.server.api.common import ID, STORE, error, refresh_protected, too_large
from sentinelle.server.store.records import Store, StoreError

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_FIELD_BYTES = 4096  # a form field of an upload: a child's name


async def list_photos(request: web.Request) -> web.Response:
    db = request.app[STORE]
    return web.json_response(await db.read(Store.photos))


async def upload_photos(request: web.Request) -> web.Response:
    """Multipart: any number of `photo` files, and an optional `child` field (before them): the
    name of the child it means (server/store/child_names.py) is the one each photo gets."""
    if not request.content_type.startswith("multipart/"):
        raise error(web.HTTPBadRequest, "send the photos as multipart/form-data")
    db = request.app[STORE]
    child: str | None = None
    outcomes = []
    try:
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):  # a multipart nested in the form: neither field
                continue
            if part.name == "child" and (typed := await _field_text(part)):
                try:
                    child = (await db.read(Store.meant_child, typed)).name
                except StoreError as e:  # a first name several children's full names start with
                    raise error(web.HTTPBadRequest, str(e)) from None
            elif part.filename:
                data = await _read_limited(part, MAX_UPLOAD_BYTES)
                outcomes.append(await enroll_upload(db, data, part.filename, child))
    except (ValueError, HttpProcessingError) as e:  # what aiohttp's reader raises for bad bodies
        raise error(web.HTTPBadRequest, f"malformed multipart body: {e}") from None
    if not outcomes:
        raise error(web.HTTPBadRequest, "no photo in the upload")
    await refresh_protected(request.app)
    return web.json_response([o.as_dict() for o in outcomes])


async def delete_photo(request: web.Request) -> web.Response:
    db = request.app[STORE]
    photo_id = int(request.match_info["id"])
    if await db.read(Store.photo, photo_id) is None:
        raise error(web.HTTPNotFound, f"no photo {photo_id}")
    await db.write(Store.forget_photo, photo_id)
    await refresh_protected(request.app)
    return web.json_response({"forgotten": photo_id})


async def photo_thumbnail(request: web.Request) -> web.Response:
    return await send_thumbnail(request, int(request.match_info["id"]))


async def send_thumbnail(request: web.Request, photo_id: int) -> web.Response:
    db = request.app[STORE]
    thumbnail = await db.read(Store.photo_thumbnail, photo_id)
    if thumbnail is None:
        raise error(web.HTTPNotFound, "this photo is no longer enrolled")
    return web.Response(body=thumbnail, content_type="image/jpeg",
                        headers={"Cache-Control": "no-store"})


async def _read_limited(part: BodyPartReader, limit: int) -> bytes:
    """A multipart part, read as it comes; 413 past `limit` bytes (before they are all held)."""
    chunks, size = [], 0
    while chunk := await part.read_chunk():
        size += len(chunk)
        if size > limit:
            raise too_large(f"{part.filename or part.name}: larger than {_size(limit)}", limit, size)
        chunks.append(chunk)
    return b"".join(chunks)


def _size(limit: int) -> str:
    return f"{limit // 2**20} MB" if limit >= 2**20 else f"{limit:,} bytes"


async def _field_text(part: BodyPartReader) -> str:
    """A form field's text (a child's name), stripped; 413 past MAX_FIELD_BYTES."""
    return (await _read_limited(part, MAX_FIELD_BYTES)).decode(part.get_charset("utf-8"), "replace").strip()[:100]


PHOTO_ROUTES = [
    web.get("/api/photos", list_photos),
    web.post("/api/photos", upload_photos),
    web.delete(f"/api/photos/{{id:{ID}}}", delete_photo),
    web.get(f"/api/photos/{{id:{ID}}}/thumbnail", photo_thumbnail),
]
