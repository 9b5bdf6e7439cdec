"""The API on a real store in a temporary data dir, for the tests of server/api and the case file."""

from __future__ import annotations

import pytest

from sentinelle.server.alerts.events import Events
from sentinelle.server.api.app import create_app
from sentinelle.server.store.door import StoreDoor
from sentinelle.server.store.records import Store

TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def api(aiohttp_client, data_dir):
    data_dir.mkdir()
    db = StoreDoor(data_dir)
    store = Store(data_dir)  # the test's own connection, to set the scene the API reads
    events = Events()
    client = await aiohttp_client(create_app(db, events, TOKEN, counts=lambda: {"seen": 3}))
    client.store, client.events = store, events
    yield client
    store.close()
    db.close()
