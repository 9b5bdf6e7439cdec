"""Fixtures of the server's tests."""

import pytest

from sentinelle.server.store.records import Store


@pytest.fixture
def store(data_dir):
    """A store in a fresh data dir, closed after the test."""
    data_dir.mkdir()
    store = Store(data_dir)
    yield store
    store.close()
