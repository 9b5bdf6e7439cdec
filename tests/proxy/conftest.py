"""A watch with Kodak 5 protected, as the ICAP service runs it, for the tests of the watch and its fronts (each attaches its front)."""

from __future__ import annotations

import pytest

from sentinelle.proxy.engine.fingerprint import enrollment_views
from sentinelle.proxy.feeds.attribution import AccountNamed
from sentinelle.proxy.feeds.gone import Gone
from sentinelle.proxy.fronts.sighting import Sighting
from sentinelle.proxy.fronts.watch import Watch
from tests.conftest import kodak
from tests.support.index import saved_index


@pytest.fixture
async def watch(tmp_path):
    """Started; what it records is in `watch.recorded`, the accounts it names in `watch.named_accounts`,
    the reported accounts it saw gone (those in `watch.reported`) in `watch.gone_accounts`."""
    entries = [(5, view, fp) for view, fp in enrollment_views(kodak(5).read_bytes())]
    index = saved_index(tmp_path / "index", entries)
    recorded: list[Sighting] = []
    named: list[AccountNamed] = []
    gone: list[Gone] = []
    # As the ICAP service runs it: images go to the checker as soon as a worker is free.
    watch = Watch(lambda: index, recorded.append, named=named.append, gone=gone.append, workers=1, quiet_seconds=0)
    watch.recorded, watch.named_accounts, watch.gone_accounts = recorded, named, gone
    watch.start()
    yield watch
    watch.stop()
