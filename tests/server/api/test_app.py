"""server/api/app.py and the routes it wires (alerts.py, photos.py, stream.py; the guard: guard.py):
what goes over the wire, and who is refused."""

from __future__ import annotations

import asyncio
import hashlib
import json

import aiohttp
import pytest
from PIL import Image

from sentinelle.server.alerts import enroll as enrolment
from sentinelle.server.alerts.events import Events
from sentinelle.server.api.app import (
    SENTINELLE_EXTENSION,
    addressed_to_loopback,
    create_app,
)
from sentinelle.server.store.door import StoreDoor
from tests.conftest import jpeg_bytes, kodak
from tests.server.api.conftest import AUTH, TOKEN
from tests.server.store.test_store import enroll, sighting


async def test_health_answers_without_a_token(api):
    response = await api.get("/api/health")
    assert response.status == 200 and (await response.json())["status"] == "ok"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
async def test_a_missing_or_wrong_token_gets_401_in_json(api, headers):
    response = await api.get("/api/alerts", headers=headers)
    assert response.status == 401
    assert "token" in (await response.json())["error"]
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_a_web_page_or_another_extension_is_refused_even_with_the_token(api):
    for stranger in ("https://evil.example", "chrome-extension://abcdefabcdefabcdefabcdefabcdefab"):
        response = await api.get("/api/alerts", headers=AUTH | {"Origin": stranger})
        assert response.status == 403
        assert "only Sentinelle's extension" in (await response.json())["error"]
    for ours in (SENTINELLE_EXTENSION, "moz-extension://0d9c1b1e-7c59-4b8e-9d0c-2f8f4f1a3b6e"):
        response = await api.get("/api/alerts", headers=AUTH | {"Origin": ours})
        assert response.status == 200, ours


async def test_a_store_build_of_the_extension_is_accepted_when_named(aiohttp_client, data_dir):
    data_dir.mkdir()
    db = StoreDoor(data_dir)
    other = "chrome-extension://bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    client = await aiohttp_client(create_app(db, Events(), TOKEN, extension_origins=[other]))
    assert (await client.get("/api/alerts", headers=AUTH | {"Origin": other})).status == 200
    db.close()


async def test_a_rebinding_host_name_is_refused(api):
    response = await api.get("/api/health", headers={"Host": "attacker.example:8765"})
    assert response.status == 403


def test_the_host_check_pins_name_and_port():
    assert addressed_to_loopback("127.0.0.1:8765", 8765)
    assert addressed_to_loopback("localhost:8765", 8765)
    assert addressed_to_loopback("[::1]:8765", 8765)
    assert not addressed_to_loopback("127.0.0.1:9999", 8765)
    assert not addressed_to_loopback("evil.example:8765", 8765)
    assert not addressed_to_loopback("127.0.0.1.evil.example", 0)
    assert not addressed_to_loopback("[bad", 8765)


async def test_alerts_list_filter_detail_and_status_change(api):
    photo = enroll(api.store, 5)
    alert, _ = api.store.record_sighting(sighting(photo["id"], "https://cdn/a.jpg"))
    listed = await (await api.get("/api/alerts", headers=AUTH)).json()
    assert [a["id"] for a in listed] == [alert["id"]]
    assert listed[0]["evidence_url"] == f"/api/alerts/{alert['id']}/evidence"
    assert await (await api.get("/api/alerts?status=resolved", headers=AUTH)).json() == []
    bad = await api.get("/api/alerts?status=bogus", headers=AUTH)
    assert bad.status == 400

    detail = await (await api.get(f"/api/alerts/{alert['id']}", headers=AUTH)).json()
    assert detail["sightings"][0]["evidence_sha256"] == hashlib.sha256(b"\xff\xd8evidence").hexdigest()
    assert "evidence_file" not in detail["sightings"][0]

    changed = await api.patch(f"/api/alerts/{alert['id']}", headers=AUTH, json={"status": "reported"})
    assert changed.status == 200 and (await changed.json())["status"] == "reported"
    assert api.store.alert(alert["id"])["status"] == "reported"
    for body in ({"status": "gone"}, [], "x"):
        response = await api.patch(f"/api/alerts/{alert['id']}", headers=AUTH, json=body)
        assert response.status == 400
    response = await api.patch(f"/api/alerts/{alert['id']}", headers=AUTH, data=b"{not json")
    assert response.status == 400
    missing = await api.get("/api/alerts/999", headers=AUTH)
    assert missing.status == 404 and "no alert" in (await missing.json())["error"]


async def test_evidence_and_protected_photo_of_an_alert(api):
    photo = enroll(api.store, 5)
    alert, _ = api.store.record_sighting(sighting(photo["id"], "https://cdn/a.jpg", body=b"\xff\xd8abc"))
    evidence = await api.get(f"/api/alerts/{alert['id']}/evidence", headers=AUTH)
    assert evidence.status == 200 and await evidence.read() == b"\xff\xd8abc"
    assert evidence.headers["Content-Type"] == "image/jpeg"
    thumbnail = await api.get(f"/api/alerts/{alert['id']}/photo", headers=AUTH)
    assert thumbnail.status == 200 and (await thumbnail.read())[:2] == b"\xff\xd8"
    api.store.forget_photo(photo["id"])
    gone = await api.get(f"/api/alerts/{alert['id']}/photo", headers=AUTH)
    assert gone.status == 404 and "no longer enrolled" in (await gone.json())["error"]


async def test_enroll_list_and_remove_photos_through_the_api(api):
    form = aiohttp.FormData()
    form.add_field("child", "Alice")
    form.add_field("photo", kodak(5).read_bytes(), filename="beach.jpg", content_type="image/jpeg")
    form.add_field("photo", kodak(5).read_bytes(), filename="beach-again.jpg", content_type="image/jpeg")
    form.add_field("photo", b"hello", filename="notes.txt", content_type="text/plain")
    response = await api.post("/api/photos", headers=AUTH, data=form)
    outcomes = await response.json()
    assert response.status == 200
    assert [(o["file"], o["status"]) for o in outcomes] == [
        ("beach.jpg", "enrolled"), ("beach-again.jpg", "already enrolled"), ("notes.txt", "skipped")]
    assert outcomes[2]["reason"] == "not an image"
    photos = await (await api.get("/api/photos", headers=AUTH)).json()
    assert [(p["name"], p["child"]) for p in photos] == [("beach.jpg", "Alice")]
    thumb = await api.get(f"/api/photos/{photos[0]['id']}/thumbnail", headers=AUTH)
    assert thumb.status == 200
    removed = await api.delete(f"/api/photos/{photos[0]['id']}", headers=AUTH)
    assert removed.status == 200 and api.store.photos() == []
    assert (await api.delete(f"/api/photos/{photos[0]['id']}", headers=AUTH)).status == 404


async def test_uploads_are_decoded_one_photo_at_a_time(api, monkeypatch):
    # Two uploads at once, of three photos each (one of them 1,045 × 588, the size a tester's
    # photo crashed at): never two photos decoded together, whatever the requests.
    running, most = 0, 0
    real = enrolment.prepare_photo

    def counted(data, name, child):
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            return real(data, name, child)
        finally:
            running -= 1

    monkeypatch.setattr(enrolment, "prepare_photo", counted)
    wide = jpeg_bytes(Image.open(kodak(5)).resize((1045, 588)))

    def upload(numbers):
        form = aiohttp.FormData()
        for number in numbers:
            form.add_field("photo", kodak(number).read_bytes(), filename=f"{number}.jpg", content_type="image/jpeg")
        form.add_field("photo", wide if numbers[0] == 1 else kodak(9).read_bytes(), filename="more.jpg")
        return api.post("/api/photos", headers=AUTH, data=form)

    responses = await asyncio.gather(upload([1, 2]), upload([3, 4]))
    outcomes = [o for r in responses for o in await r.json()]
    assert [o["status"] for o in outcomes] == ["enrolled"] * 6
    assert most == 1 and len(api.store.photos()) == 6


async def test_a_malformed_upload_gets_a_clear_error(api):
    response = await api.post("/api/photos", headers=AUTH, json={"photo": "x"})
    assert response.status == 400 and "multipart" in (await response.json())["error"]
    response = await api.post(
        "/api/photos", headers=AUTH | {"Content-Type": "multipart/form-data; boundary=xyz"},
        data=b"--xyz\r\nbroken")
    assert response.status == 400
    truncated = (b'--xyz\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"\r\n'
                 b"Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xe0 and then nothing")
    response = await api.post(
        "/api/photos", headers=AUTH | {"Content-Type": "multipart/form-data; boundary=xyz"},
        data=truncated)
    assert response.status == 400 and api.store.photos() == []


async def test_unknown_routes_and_methods_answer_json(api):
    response = await api.get("/api/nothing", headers=AUTH)
    assert response.status == 404 and "error" in await response.json()
    response = await api.get("/api/alerts/99999999999999999999", headers=AUTH)  # found by fuzzing
    assert response.status == 404 and "error" in await response.json()
    response = await api.put("/api/alerts", headers=AUTH)  # found by benchmarks/fuzz.py: was a 500
    assert response.status == 405 and "error" in await response.json()
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/api/hello", "/api/alerts/1", "/api/children"])
async def test_json_nested_past_python_s_parser_is_a_400(api, path):
    # `[` a hundred thousand times raised RecursionError, a 500, on the public /api/hello.
    method = api.post if path == "/api/hello" else api.patch if "alerts" in path else api.put
    if "alerts" in path:
        enroll_and_alert(api)
    response = await method(path, headers=AUTH | {"Content-Type": "application/json"}, data=b"[" * 100_000)
    assert response.status == 400 and "error" in await response.json()


def enroll_and_alert(api) -> dict:
    photo = enroll(api.store, 5)
    alert, _ = api.store.record_sighting(sighting(photo["id"], "https://cdn/a.jpg"))
    return alert


async def test_an_upload_past_the_limit_is_a_413_in_json(api, monkeypatch):
    monkeypatch.setattr("sentinelle.server.api.photos.MAX_UPLOAD_BYTES", 2**20)
    form = aiohttp.FormData()
    form.add_field("photo", b"\xff\xd8\xff\xe0" + bytes(2**20), filename="big.jpg", content_type="image/jpeg")
    response = await api.post("/api/photos", headers=AUTH, data=form)
    assert response.status == 413 and (await response.json())["error"] == "big.jpg: larger than 1 MB"
    # A child's name of a megabyte: refused before it is held whole.
    form = aiohttp.FormData()
    form.add_field("child", "A" * 2**20)
    form.add_field("photo", kodak(5).read_bytes(), filename="a.jpg", content_type="image/jpeg")
    response = await api.post("/api/photos", headers=AUTH, data=form)
    assert response.status == 413 and (await response.json())["error"] == "child: larger than 4,096 bytes"
    assert api.store.photos() == []


@pytest.mark.parametrize("path", ["/api/alerts/\u0663", "/api/alerts/\u00b2", "/api/photos/\uff11/thumbnail",
                                  "/api/casefile?alert=\u0663", "/api/casefile?alert=1_0"])
async def test_ids_are_ascii_digits(api, path):
    enroll_and_alert(api)  # alert 1, photo 1: `٣` or `１` must not reach them
    response = await api.get(path, headers=AUTH)
    assert response.status in (400, 404) and "error" in await response.json()


async def test_event_streams_are_capped_and_a_gone_client_s_is_freed(api, monkeypatch):
    monkeypatch.setattr("sentinelle.server.api.stream.MAX_STREAMS", 2)
    monkeypatch.setattr("sentinelle.server.api.stream.LIVENESS_SECONDS", 0.05)
    streams = [await api.get("/api/events", headers=AUTH) for _ in range(2)]
    refused = await api.get("/api/events", headers=AUTH)
    assert refused.status == 429 and "2 event streams" in (await refused.json())["error"]
    streams[0].close()  # the client goes away: its place is free again without a write
    await asyncio.sleep(0.3)
    again = await api.get("/api/events", headers=AUTH)
    assert again.status == 200
    for response in (streams[1], again):
        response.close()


async def test_stats_count_photos_alerts_and_images(api):
    enroll(api.store, 5)
    stats = await (await api.get("/api/stats", headers=AUTH)).json()
    assert {k: stats[k] for k in ("photos", "alerts", "images")} == {
        "photos": 1, "alerts": 0, "images": {"seen": 3}}
    assert stats["process"]["rss_bytes"] > 10 * 2**20 and stats["process"]["open_fds"] > 3
    assert stats["process"]["tasks"] >= 1


async def test_the_event_stream_pushes_each_new_alert(api):
    photo = enroll(api.store, 5)
    response = await api.get("/api/events", headers=AUTH)
    assert response.headers["Content-Type"] == "text/event-stream"
    assert (await response.content.readuntil(b"\n\n")).startswith(b"retry:")
    alert, _ = api.store.record_sighting(sighting(photo["id"], "https://cdn/a.jpg"))
    api.events.publish("alert", alert)
    message = await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)
    kind, data = message.decode().strip().split("\n")
    sent = json.loads(data[len("data: "):])
    assert kind == "event: alert" and sent["id"] == alert["id"]
    assert sent["evidence_url"] == f"/api/alerts/{alert['id']}/evidence"  # the API's links, added on the wire
    response.close()


async def test_the_event_stream_needs_the_token(api):
    response = await api.get("/api/events")
    assert response.status == 401


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost:3000", "null"])
async def test_no_web_page_gets_past_cors(api, origin):
    preflight = await api.options("/api/alerts", headers={
        "Origin": origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers
    for method, path in (("GET", "/api/alerts"), ("GET", "/api/photos"), ("POST", "/api/photos"),
                         ("GET", "/api/events")):
        response = await api.request(method, path, headers=AUTH | {"Origin": origin})
        assert response.status == 403, (method, path)
        assert "Access-Control-Allow-Origin" not in response.headers


def test_the_accepted_origin_is_the_id_of_the_extension_in_this_repository():
    import base64
    from pathlib import Path

    manifest = json.loads((Path(__file__).parents[3] / "extension" / "manifest.json").read_text())
    digest = hashlib.sha256(base64.b64decode(manifest["key"])).hexdigest()[:32]
    extension_id = "".join(chr(ord("a") + int(c, 16)) for c in digest)  # Chromium's encoding
    assert f"chrome-extension://{extension_id}" == SENTINELLE_EXTENSION
