"""server/api/patrol.py: the extension's looks over HTTP, and `patrol` asked on the event stream."""

from __future__ import annotations

import asyncio

from tests.server.api.conftest import AUTH

LOOK = {"run": "run-0001", "platform": "instagram", "what": "search", "term": "Alice Martin",
        "url": "https://www.instagram.com/explore/search/keyword/?q=Alice%20Martin", "child": "Alice Martin"}


async def test_a_look_is_started_ended_and_summed_up_per_network(api):
    assert await (await api.get("/api/patrol", headers=AUTH)).json() == {"networks": [], "extension_connected": False}
    started = await api.post("/api/patrol", headers=AUTH, json=LOOK)
    assert started.status == 201, await started.text()
    look = await started.json()
    assert look["started_at"] and look["ended_at"] is None
    ended = await api.patch(f"/api/patrol/{look['id']}", headers=AUTH,
                            json={"outcome": "login", "scrolls": 0, "requests": 12})
    assert ended.status == 200 and (await ended.json())["outcome"] == "login"
    [network] = (await (await api.get("/api/patrol", headers=AUTH)).json())["networks"]
    assert (network["platform"], network["stopped"], network["looks"][0]["term"]) == ("instagram", "login", "Alice Martin")

    for body in ({"outcome": "done"}, {"outcome": "bound", "scrolls": -1}, {"outcome": "bound", "scrolls": True}, []):
        response = await api.patch(f"/api/patrol/{look['id']}", headers=AUTH, json=body)
        assert response.status == 400 and (await response.json())["error"], body
    response = await api.post("/api/patrol", headers=AUTH, json=LOOK | {"url": "javascript:alert(1)"})
    assert response.status == 400 and "url" in (await response.json())["error"]
    assert (await api.get("/api/patrol")).status == 401  # the token, as for every route


async def test_patrol_now_is_told_to_the_listening_extension_and_refused_without_one(api):
    response = await api.post("/api/patrol/now", headers=AUTH)
    assert response.status == 409 and "no extension is connected" in (await response.json())["error"]

    stream = await api.get("/api/events", headers=AUTH)
    assert (await stream.content.readuntil(b"\n\n")).startswith(b"retry:")
    assert (await (await api.get("/api/patrol", headers=AUTH)).json())["extension_connected"] is True
    asked = await api.post("/api/patrol/now", headers=AUTH)
    assert asked.status == 202 and (await asked.json())["listening"] == 1
    event = await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 5)
    assert event.startswith(b"event: patrol\ndata: {\"asked_at\":")
    stream.close()
