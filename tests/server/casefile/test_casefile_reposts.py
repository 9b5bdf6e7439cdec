"""The case file and `sentinelle log` on a re-post and on a profile picture: who showed the
copy, who posted it first, and whose picture it is."""

from __future__ import annotations

import html
import json
import zipfile
from dataclasses import replace
from io import BytesIO

import pytest
from click.testing import CliRunner

from sentinelle.server.casefile import case as casefile
from sentinelle.server.cli.main import cli
from sentinelle.server.store.records import Store
from tests.conftest import kodak, square_crop_copy
from tests.server.store.test_store import enroll, sighting
from tests.server.store.test_store_attribution import posted_by


@pytest.fixture
def store(data_dir):
    data_dir.mkdir()
    store = Store(data_dir)
    photo = enroll(store, 5, child="Alice")
    retweet = replace(posted_by("the_retweeter", platform="x"), repost="retweet", first_account="first_poster",
                      first_account_url="https://x.com/first_poster", first_post_url="https://x.com/first_poster/status/1")
    store.record_sighting(replace(sighting(photo["id"], "https://pbs.twimg.com/media/GeA.jpg", body=square_crop_copy(kodak(5))),
                                  platform="x", attribution=retweet))
    picture = replace(posted_by("alice.fan.page"), shown_as="profile_picture", post_url="https://www.instagram.com/alice.fan.page/")
    store.record_sighting(replace(sighting(photo["id"], "https://scontent.cdninstagram.com/v/t51.2885-19/9_n.jpg",
                                           body=square_crop_copy(kodak(5), 150), minutes=1), attribution=picture))
    yield store
    store.close()


def report_of(store: Store, account: str, lang: str) -> str:
    built = casefile.build(casefile.collect(store, account=account), lang, "FR")
    with zipfile.ZipFile(BytesIO(built)) as z:
        return html.unescape(z.read("report.html").decode())


def test_the_case_file_says_who_re_posted_it_and_who_posted_it_first(store):
    report = report_of(store, "the_retweeter", "en")
    assert "re-posted by @the_retweeter, first posted by @first_poster on X (Twitter)" in report
    assert "https://x.com/first_poster/status/1" in report
    assert "republiée par @the_retweeter, publiée d'abord par @first_poster" in report_of(store, "the_retweeter", "fr")


def test_the_case_file_says_whose_profile_picture_it_is(store):
    assert "@alice.fan.page uses a photo of Alice as its profile picture on Instagram" in report_of(store, "alice.fan.page", "en")
    assert "@alice.fan.page utilise une photo d'Alice comme photo de profil" in report_of(store, "alice.fan.page", "fr")


def test_the_log_says_it_too(store):
    data_dir = store.evidence_dir.parent
    out = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "log"]).output
    assert "re-posted by @the_retweeter, first posted by @first_poster" in out
    assert "the profile picture of @alice.fan.page" in out
    rows = [json.loads(line) for line in CliRunner().invoke(cli, ["--data-dir", str(data_dir), "log", "--json"]).output.splitlines()]
    assert {(r["shown_as"], r["first_account"]) for r in rows} == {("post", "first_poster"), ("profile_picture", None)}
