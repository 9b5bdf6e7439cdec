"""server/api/people.py: the children's names and the watch list over HTTP."""

from __future__ import annotations

from tests.server.alerts.test_watchlist import lookalike
from tests.server.api.conftest import AUTH


async def test_a_child_is_set_and_listed_with_her_names_and_accounts(api):
    response = await api.put("/api/children", headers=AUTH, json={
        "name": " Léa Martin ", "aliases": ["Lélé"], "handles": [["instagram", "@lea_mrtn"]]})
    assert response.status == 200, await response.text()
    listed = await (await api.get("/api/children", headers=AUTH)).json()
    assert [(c["name"], c["aliases"], c["handles"]) for c in listed] == [("Léa Martin", ["Lélé"], [["instagram", "lea_mrtn"]])]


async def test_a_wrong_child_is_refused_with_what_to_send(api):
    for body in ({}, {"name": ""}, {"name": "Léa", "aliases": "Lélé"},
                 {"name": "Léa", "handles": [["myspace", "lea"]]}, {"name": "Léa", "handles": [["x"]]}):
        response = await api.put("/api/children", headers=AUTH, json=body)
        assert response.status == 400 and (await response.json())["error"], body
    assert (await api.put("/api/children", headers=AUTH, data=b"not json")).status == 400
    assert (await api.put("/api/children", json={"name": "Léa Martin"})).status == 401


async def test_the_watch_list_is_listed_and_an_account_dismissed(api):
    entry, _, _ = api.store.record_lookalike(lookalike())
    listed = await (await api.get("/api/watchlist", headers=AUTH)).json()
    assert [(e["handle"], e["status"], e["profile_url"], e["what"]) for e in listed] == [
        ("alice.martin_2014", "open", "https://www.instagram.com/alice.martin_2014/", "full name")]
    response = await api.patch(f"/api/watchlist/{entry['id']}", headers=AUTH, json={"status": "dismissed"})
    assert (await response.json())["status"] == "dismissed"
    assert await (await api.get("/api/watchlist?status=open", headers=AUTH)).json() == []
    assert (await api.get("/api/watchlist?status=nope", headers=AUTH)).status == 400
    assert (await api.patch(f"/api/watchlist/{entry['id']}", headers=AUTH, json={"status": "gone"})).status == 400
    assert (await api.patch("/api/watchlist/999", headers=AUTH, json={"status": "open"})).status == 404
    assert (await api.get("/api/watchlist")).status == 401
