"""The API's cases: each child's case with its accounts and timeline, and the parent's reports.

    GET  /api/cases[?escalate_after=DAYS]  every case: its accounts, its reports (answered, or
                                           for how many days not, and whether to escalate) and
                                           its timeline
    POST /api/reports                      {"target": alert id or account, "channel", "ref", "on"}:
                                           the report, kept in the case (201)

The review page's "Reported" button posts here; the proxy follows the reported account from
the next second on (server/run/root.py), for its takedown.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from sentinelle.server.api.common import STORE, error
from sentinelle.server.casefile.timeline import ESCALATE_AFTER_DAYS, accounts, reports, timeline
from sentinelle.server.store.records import Store
from sentinelle.server.store.schema import StoreError

MAX_FIELD = 200


async def list_cases(request: web.Request) -> web.Response:
    raw = request.query.get("escalate_after", str(ESCALATE_AFTER_DAYS))
    if not raw.isdigit() or not 1 <= int(raw) <= 365:
        raise error(web.HTTPBadRequest, "escalate_after: a number of days, from 1 to 365")
    records = await request.app[STORE].read(_all_cases)
    now = datetime.now(UTC)
    return web.json_response([
        {"case": record["case"], "accounts": accounts(record), "reports": reports(record, now, int(raw)),
         "timeline": timeline(record, now, int(raw))} for record in records])


def _all_cases(store: Store) -> list[dict]:
    return [store.case_record(case["id"]) for case in store.cases()]


async def add_report(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise error(web.HTTPBadRequest, 'the body must be JSON like {"target": "12", "channel": "platform"}')
    fields = {}
    for name in ("target", "channel", "ref", "on"):
        value = body.get(name)
        if value is not None and (not isinstance(value, (str, int)) or len(str(value)) > MAX_FIELD):
            raise error(web.HTTPBadRequest, f"{name}: a text of at most {MAX_FIELD} characters")
        fields[name] = str(value).strip() if value is not None and str(value).strip() else None
    if fields["target"] is None:
        raise error(web.HTTPBadRequest, "target: an alert's number or an account")
    try:
        report = await request.app[STORE].write(Store.record_report, fields["target"], fields["channel"] or "platform",
                                                fields["ref"], fields["on"])
    except StoreError as e:
        raise error(web.HTTPNotFound if str(e).startswith("no ") else web.HTTPBadRequest, str(e)) from None
    return web.json_response(report, status=201)


CASE_ROUTES = [
    web.get("/api/cases", list_cases),
    web.post("/api/reports", add_report),
]
