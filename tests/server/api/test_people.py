"""server/api/people.py: the children's names and the watch list over HTTP."""

from __future__ import annotations

import aiohttp

from tests.conftest import kodak
from tests.server.api.conftest import AUTH
from tests.server.store.test_watchlist import lookalike


async def test_a_child_is_set_and_listed_with_her_names_and_accounts(api):
    response = await api.put("/api/children", headers=AUTH, json={
        "name": " Léa Martin ", "aliases": ["Lélé"], "handles": [["instagram", "@lea_mrtn"]]})
    assert response.status == 200, await response.text()
    listed = await (await api.get("/api/children", headers=AUTH)).json()
    assert [(c["name"], c["aliases"], c["handles"]) for c in listed] == [("Léa Martin", ["Lélé"], [["instagram", "lea_mrtn"]])]


async def test_one_child_one_name_through_the_api(api):
    form = aiohttp.FormData()
    form.add_field("child", "Alice")
    form.add_field("photo", kodak(5).read_bytes(), filename="beach.jpg", content_type="image/jpeg")
    assert (await api.post("/api/photos", headers=AUTH, data=form)).status == 200
    response = await api.put("/api/children", headers=AUTH, json={"name": "Alice Dupont", "aliases": ["Lili"]})
    saved = await response.json()
    assert (saved["name"], saved["was"], saved["photos"]) == ("Alice Dupont", "Alice", 1)
    again = await (await api.put("/api/children", headers=AUTH, json={"name": "alice"})).json()
    assert (again["name"], again["was"], again["aliases"]) == ("Alice Dupont", None, ["Lili"])
    form = aiohttp.FormData()
    form.add_field("child", "ALICE")
    form.add_field("photo", kodak(7).read_bytes(), filename="park.jpg", content_type="image/jpeg")
    [outcome] = await (await api.post("/api/photos", headers=AUTH, data=form)).json()
    assert outcome["photo"]["child"] == "Alice Dupont"
    listed = await (await api.get("/api/children", headers=AUTH)).json()
    assert [(c["name"], c["photos"]) for c in listed] == [("Alice Dupont", 2)]


async def test_the_options_page_renames_the_child_it_edits(api):
    alice, _ = api.store.set_child("Alice Dupond", ["Lili"])
    response = await api.put("/api/children", headers=AUTH, json={"id": alice["id"], "name": "Alice Dupont"})
    renamed = await response.json()
    assert (renamed["id"], renamed["name"], renamed["was"], renamed["aliases"]) == (
        alice["id"], "Alice Dupont", "Alice Dupond", ["Lili"])
    for wrong, status in (("3", 400), (True, 400), (2**70, 400), (999, 404)):
        response = await api.put("/api/children", headers=AUTH, json={"id": wrong, "name": "Jules Roy"})
        assert response.status == status and (await response.json())["error"], wrong
    assert [c["name"] for c in api.store.children()] == ["Alice Dupont"]


async def test_a_first_name_two_children_share_is_refused_with_what_to_send(api):
    api.store.set_child("Alice Dupont")
    api.store.set_child("Alice Martin")
    response = await api.put("/api/children", headers=AUTH, json={"name": "Alice"})
    assert response.status == 400 and "give her full name" in (await response.json())["error"]
    form = aiohttp.FormData()
    form.add_field("child", "Alice")
    form.add_field("photo", kodak(5).read_bytes(), filename="beach.jpg", content_type="image/jpeg")
    response = await api.post("/api/photos", headers=AUTH, data=form)
    assert response.status == 400 and "could be Alice Dupont or Alice Martin" in (await response.json())["error"]
    assert api.store.photos() == []


async def test_a_child_is_removed_her_photos_with_her_and_her_alerts_kept(api):
    form = aiohttp.FormData()
    form.add_field("child", "Alice Dupont")
    form.add_field("photo", kodak(5).read_bytes(), filename="beach.jpg", content_type="image/jpeg")
    await api.post("/api/photos", headers=AUTH, data=form)
    [alice] = api.store.children()
    response = await api.delete(f"/api/children/{alice['id']}", headers=AUTH)
    assert response.status == 200 and await response.json() == {"name": "Alice Dupont", "photos": 1, "alerts": 0}
    assert await (await api.get("/api/children", headers=AUTH)).json() == []
    assert await (await api.get("/api/photos", headers=AUTH)).json() == []
    assert (await api.delete(f"/api/children/{alice['id']}", headers=AUTH)).status == 404
    assert (await api.delete(f"/api/children/{alice['id']}")).status == 401


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
