"""The case file on a story (it disappears a day after it is posted: the evidence is what
Sentinelle kept) and on an account a feed named by its id alone (account id …, post …, until a
feed names its handle), in English and French."""

from __future__ import annotations

import html
import zipfile
from dataclasses import replace
from io import BytesIO

import pytest
from click.testing import CliRunner

from sentinelle.proxy.feeds.attribution import AccountNamed
from sentinelle.server.casefile import case as casefile
from sentinelle.server.cli.main import cli
from sentinelle.server.store.records import Store
from tests.conftest import kodak, square_crop_copy
from tests.server.store.test_store import enroll, sighting
from tests.server.store.test_store_account_ids import by_id

POST = "https://www.instagram.com/p/CHaShTaG061/"


@pytest.fixture
def store(data_dir):
    data_dir.mkdir()
    store = Store(data_dir)
    photo = enroll(store, 5, child="Alice")
    story = by_id("4300000050", "x", "story.fake.alice", shown_as="story", posted_at="2025-11-24T16:00:00+00:00",
                  expires_at="2025-11-25T16:00:00+00:00")
    store.record_sighting(replace(sighting(photo["id"], "https://scontent.cdninstagram.com/v/t51.12442-15/51_n.jpg",
                                           body=square_crop_copy(kodak(5))), attribution=story))
    store.record_sighting(replace(sighting(photo["id"], "https://scontent.cdninstagram.com/v/t51.2885-15/61_n.jpg",
                                           body=square_crop_copy(kodak(5), 400), minutes=1),
                                  attribution=by_id("4300000061", "CHaShTaG061")))
    yield store
    store.close()


def report(store: Store, alert: dict, lang: str) -> str:
    built = casefile.build(casefile.collect(store, alert_ids=[alert["id"]]), lang, "FR")
    with zipfile.ZipFile(BytesIO(built)) as z:
        return " ".join(html.unescape(z.read("report.html").decode()).split())


def of(store: Store, shown_as: str) -> dict:
    return next(a for a in store.alerts() if a["shown_as"] == shown_as)


def test_the_case_file_says_it_was_a_story_and_when_it_disappears(store):
    story = of(store, "story")
    english = report(store, story, "en")
    assert "shown by @story.fake.alice in a story on Instagram" in english
    assert "it disappears from the network a day after it is posted (this one at 2025-11-25 16:00:00.000 UTC)" in english
    assert "the evidence is what Sentinelle kept" in english
    assert "Story posted (UTC)" in english and "2025-11-24 16:00:00.000" in english
    french = report(store, story, "fr")
    assert "montrée par @story.fake.alice dans une story sur Instagram" in french
    assert "la preuve est ce que Sentinelle a conservé" in french


def test_the_case_file_names_an_account_by_id_and_its_post_until_a_feed_names_it(store):
    alert = of(store, "post")
    english = report(store, alert, "en")
    assert f"posted on Instagram by account id 4300000061, post {POST}" in english
    assert "account id 4300000061 (its handle not yet named by a feed: open the post)" in english
    assert f'<a href="{POST}">' in english  # the post's address to open
    assert "par le compte d'identifiant 4300000061, publication" in report(store, alert, "fr")
    store.name_account(AccountNamed("instagram", "4300000061", "grid.owner", "https://www.instagram.com/grid.owner/"))
    named = report(store, store.alert(alert["id"]), "en")
    assert "posted by @grid.owner on Instagram" in named and "account id 4300000061" not in named


def test_the_log_says_it_too(store):
    out = CliRunner().invoke(cli, ["--data-dir", str(store.evidence_dir.parent), "log"]).output
    assert "in a story of @story.fake.alice" in out
    assert "posted by account id 4300000061 (no feed has named its handle yet)  on https://www.instagram.com/someone/" in out
    assert POST in out
