"""server/api/cases.py and `/api/casefile?case=`: the review page's "Reported" button, the cases
with their reports (answered or for how long not) and timeline, and a whole case's file."""

from __future__ import annotations

import io
import json
import zipfile

from tests.server.api.conftest import AUTH
from tests.server.store.test_cases import gone, post
from tests.server.store.test_store import enroll


async def test_a_report_from_the_review_page_joins_the_case_and_its_takedown_answers_it(api):
    photo = enroll(api.store, 5, "Alice Martin")
    alert, _ = api.store.record_sighting(post(photo["id"], "fake.alice", 1))
    response = await api.post("/api/reports", headers=AUTH, json={
        "target": str(alert["id"]), "channel": "pharos", "ref": "PH-9", "on": "2026-11-25"})
    assert response.status == 201, await response.text()
    report = await response.json()
    assert (report["handle"], report["channel"], report["ref"], report["case_id"]) == (
        "fake.alice", "pharos", "PH-9", alert["case_id"])
    [case] = await (await api.get("/api/cases?escalate_after=3", headers=AUTH)).json()
    [shown] = case["reports"]
    assert not shown["answered"] and shown["days"] >= 3 and shown["escalate"]
    api.store.record_takedown(gone("fake.alice", 1))
    [case] = await (await api.get("/api/cases", headers=AUTH)).json()
    assert case["reports"][0]["answered"] and not case["reports"][0]["escalate"]
    assert [e["kind"] for e in case["timeline"]] == ["account", "sighting", "report", "taken down"]
    assert case["accounts"][0]["taken_down"]


async def test_a_report_of_nothing_known_or_badly_sent_is_refused(api):
    for body, status in (({"target": "@nobody"}, 404), ({"target": "#77"}, 404), ({}, 400), ([], 400),
                         ({"target": "1", "ref": "x" * 300}, 400), ({"target": {"a": 1}}, 400)):
        response = await api.post("/api/reports", headers=AUTH, json=body)
        assert response.status == status, (body, await response.text())
    assert (await api.get("/api/cases?escalate_after=0", headers=AUTH)).status == 400
    assert (await api.post("/api/reports", json={"target": "1"})).status == 401


async def test_a_whole_case_s_file_from_the_review_page(api):
    photo = enroll(api.store, 5, "Alice Martin")
    api.store.record_sighting(post(photo["id"], "fake.alice", 1))
    response = await api.get("/api/casefile?case=Alice&lang=fr&country=FR", headers=AUTH)
    assert response.status == 200, await response.text()
    with zipfile.ZipFile(io.BytesIO(await response.read())) as z:
        assert json.loads(z.read("case.json"))["case"]["child"] == "Alice Martin"
    assert (await api.get("/api/casefile?case=Nobody", headers=AUTH)).status == 404
