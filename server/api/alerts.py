"""The API's alerts: each alert with its sightings, its status, its evidence and the photo it
copies, and the case file to hand to a platform, a help line or the police.

    GET   /api/alerts[?status=]       alerts, newest sighting first
    GET   /api/alerts/{id}            one alert with its sightings
    PATCH /api/alerts/{id}            {"status": "seen" | "reported" | ...}
    GET   /api/alerts/{id}/evidence   the newest evidence file, as the browser received it
    GET   /api/alerts/{id}/photo      the protected photo's thumbnail
    GET   /api/casefile               ?alert=ID (repeatable), ?account=NAME or ?case=CHILD: a ZIP
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import re

from aiohttp import web

from sentinelle.server.api.common import ID, STORE, error, status_of, with_links
from sentinelle.server.api.photos import send_thumbnail
from sentinelle.server.casefile import case as casefile
from sentinelle.server.store.records import STATUSES, Store, StoreError


async def list_alerts(request: web.Request) -> web.Response:
    status = request.query.get("status")
    db = request.app[STORE]
    try:
        alerts = await db.read(Store.alerts, status)
    except StoreError as e:
        raise error(web.HTTPBadRequest, str(e)) from None
    return web.json_response([with_links(a) for a in alerts])


async def get_alert(request: web.Request) -> web.Response:
    db = request.app[STORE]
    alert = await _alert_or_404(request)
    sightings = [
        {k: v for k, v in s.items() if k != "evidence_file"} for s in await db.read(Store.sightings, alert["id"])
    ]
    return web.json_response(with_links(alert) | {"sightings": sightings})


async def patch_alert(request: web.Request) -> web.Response:
    await _alert_or_404(request)
    status = await status_of(request, STATUSES)
    db = request.app[STORE]
    alert = await db.write(Store.set_status, int(request.match_info["id"]), status)
    return web.json_response(with_links(alert))


async def alert_evidence(request: web.Request) -> web.StreamResponse:
    alert = await _alert_or_404(request)
    db = request.app[STORE]
    found = await db.read(Store.latest_evidence, alert["id"])
    if found is None or not await asyncio.to_thread(found[0].is_file):
        raise error(web.HTTPNotFound, "the evidence file is missing")
    path, content_type = found
    return web.FileResponse(path, headers={"Content-Type": content_type or "application/octet-stream",
                                           "Cache-Control": "no-store"})


async def alert_photo(request: web.Request) -> web.Response:
    alert = await _alert_or_404(request)
    return await send_thumbnail(request, alert["photo_id"])


async def case_file(request: web.Request) -> web.Response:
    """The case file (a ZIP) of `?alert=ID` (repeatable), `?account=NAME` or a child's whole case
    (`?case=CHILD`), in `?lang=en|fr` with the help lines of `?country=FR|US|GB|BE|CA|OTHER`."""
    query = request.query
    if child := query.get("case"):
        try:
            case = await request.app[STORE].read(casefile.collect_case, child)
        except (casefile.CaseFileError, StoreError) as e:
            raise error(web.HTTPNotFound, str(e)) from None
        return await _zip(case, query)
    named = query.getall("alert", [])
    if not all(re.fullmatch(ID, i) for i in named):
        raise error(web.HTTPBadRequest, "alert must be an alert's number")
    ids = [int(i) for i in named]
    try:
        db = request.app[STORE]
        case = await db.read(casefile.collect, ids, query.get("account") or None)
    except casefile.CaseFileError as e:
        raise error(web.HTTPNotFound if ids or query.get("account") else web.HTTPBadRequest, str(e)) from None
    return await _zip(case, query)


async def _zip(case, query) -> web.Response:
    data = await build_away(case, query.get("lang", "en"), query.get("country", "OTHER"))
    return web.Response(body=data, content_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{casefile.file_name(case)}"',
        "Cache-Control": "no-store"})


async def build_away(case, lang: str, country: str) -> bytes:
    """The case file, written in a process of its own: the PDF (reportlab, pure Python) would hold
    the interpreter's lock for a second or more, and with it the event loop that carries the
    browser's traffic, were it written in a thread here. Spawned, as the checkers are (a
    forked copy of a running loop and its threads is not safe); an export is rare enough to
    pay for the process's start. Started from a thread, not the loop: starting a process writes
    its preparation to the new interpreter through a pipe, which waits for it to read."""
    return await asyncio.to_thread(_build_in_a_process, case, lang, country)


def _build_in_a_process(case, lang: str, country: str) -> bytes:
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(casefile.build, case, lang, country).result()


async def _alert_or_404(request: web.Request) -> dict:
    alert_id = int(request.match_info["id"])
    db = request.app[STORE]
    alert = await db.read(Store.alert, alert_id)
    if alert is None:
        raise error(web.HTTPNotFound, f"no alert {alert_id}")
    return alert


ALERT_ROUTES = [
    web.get("/api/alerts", list_alerts),
    web.get(f"/api/alerts/{{id:{ID}}}", get_alert),
    web.patch(f"/api/alerts/{{id:{ID}}}", patch_alert),
    web.get(f"/api/alerts/{{id:{ID}}}/evidence", alert_evidence),
    web.get(f"/api/alerts/{{id:{ID}}}/photo", alert_photo),
    web.get("/api/casefile", case_file),
]
