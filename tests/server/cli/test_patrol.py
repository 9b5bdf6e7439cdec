"""server/cli/patrol.py: `sentinelle patrol [--json]` from the store, and `sentinelle patrol now`
against a real API on loopback: refused with no extension listening, told to one that is."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest
from click.testing import CliRunner

from sentinelle.proxy.hosts import SOCIAL_DOMAINS
from sentinelle.server.alerts.events import Events
from sentinelle.server.api.app import create_app
from sentinelle.server.cli.main import cli
from sentinelle.server.config import load_or_create_token
from sentinelle.server.store.door import StoreDoor
from sentinelle.server.store.patrol import look_fields
from sentinelle.server.store.records import Store
from tests.extension.impostor import AppThread
from tests.support.watcher import free_port


def run(data_dir, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def test_patrol_prints_each_network_s_last_look(data_dir):
    assert "has not looked for her yet" in run(data_dir, "patrol")
    store = Store(data_dir)
    try:
        for platform, url, outcome in (("instagram", "https://www.instagram.com/explore/search/keyword/?q=Alice", "bound"),
                                       ("x", "https://x.com/search?q=Alice&f=user", "login")):
            look = store.start_look(look_fields({"run": "run-0001", "platform": platform, "what": "search",
                                                 "term": "Alice", "url": url}, SOCIAL_DOMAINS))
            store.end_look(look["id"], outcome)
    finally:
        store.close()
    out = run(data_dir, "patrol")
    assert 'instagram  last looked at ' in out and ' UTC: "Alice"' in out and "found: nothing" in out
    assert "x          last looked at" in out and "stopped at a login page" in out
    lines = [json.loads(line) for line in run(data_dir, "patrol", "--json").splitlines()]
    assert [(n["platform"], n["stopped"]) for n in lines] == [("instagram", None), ("x", "login")]


@pytest.fixture
def api(data_dir):
    """Sentinelle's API on a free port of loopback, paired with the data dir's token."""
    port = free_port()
    token = load_or_create_token(data_dir)

    def make():
        store = StoreDoor(data_dir)
        app = create_app(store, Events(), token, port=port)

        async def close(app):
            store.close()
        app.on_cleanup.append(close)
        return app
    with AppThread(make, port):
        yield port, token


def test_patrol_now_says_when_no_extension_is_connected_and_asks_the_one_that_is(data_dir, api):
    port, token = api
    out = run(data_dir, "patrol", "now", "--api-port", str(port), code=1)
    assert "no extension is connected" in out

    heard: list[bytes] = []
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/events",
                                     headers={"Authorization": f"Bearer {token}"})
    stream = urllib.request.urlopen(request, timeout=10)
    assert stream.readline().startswith(b"retry:")

    def listen():
        while not heard or not heard[-1].startswith(b"data:"):
            heard.append(stream.readline())
    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    out = run(data_dir, "patrol", "now", "--api-port", str(port))
    assert "Asked the extension to look for her (1 connected)" in out
    listener.join(10)
    stream.close()
    assert b"event: patrol\n" in heard and heard[-1].startswith(b'data: {"asked_at":')


def test_patrol_now_says_when_sentinelle_is_not_running(data_dir):
    out = run(data_dir, "patrol", "now", "--api-port", str(free_port()), code=1)
    assert "Sentinelle is not running" in out and "sentinelle run" in out
