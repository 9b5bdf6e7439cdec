"""server/store/migrations.py, migrations 5 and 6 (`_platform_image_keys`, `_add_first_poster`): one
alert per image whatever its size or signature; who showed it, who posted it first, and profile
pictures."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlite_utils

from sentinelle.proxy.feeds.image_keys import image_key
from sentinelle.server.store import migrations, schema
from sentinelle.server.store.records import Store
from tests.server.store.test_store import enroll, sighting
from tests.server.store.test_store_attribution import posted_by

TWO_SIZES = {
    "instagram": ("https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-15/451_2_3_n.jpg?stp=dst-jpg_s1080x1080&oh=00_A&oe=1",
                  "https://instagram.fcdg1-1.fna.fbcdn.net/v/t51.2885-15/451_2_3_n.jpg?stp=dst-webp_s640x640&oh=00_B&oe=2"),
    "x": ("https://pbs.twimg.com/media/GeAbCdEf123.jpg", "https://pbs.twimg.com/media/GeAbCdEf123?format=webp&name=small"),
    "tiktok": ("https://p16-sign-va.tiktokcdn.com/tos-maliva-i-photomode-us/0a0b~tplv-photomode-image.jpeg?x-signature=A",
               "https://p19-sign.tiktokcdn-us.com/tos-maliva-i-photomode-us/0a0b~tplv-photomode-2k.jpeg?x-signature=B"),
    "reddit": ("https://i.redd.it/abc123xyz.jpeg", "https://preview.redd.it/abc123xyz.jpeg?width=640&crop=smart&s=ff"),
    "pinterest": ("https://i.pinimg.com/236x/1f/2e/3d/1f2e3d4c5b6a79881f2e3d4c5b6a7988.jpg",
                  "https://i.pinimg.com/originals/1f/2e/3d/1f2e3d4c5b6a79881f2e3d4c5b6a7988.png"),
}


@pytest.mark.parametrize("platform", sorted(TWO_SIZES))
def test_two_sizes_or_signatures_of_one_image_make_one_alert(store, platform):
    photo = enroll(store, 5)
    small, large = TWO_SIZES[platform]
    assert image_key(small) == image_key(large)
    first, new = store.record_sighting(replace(sighting(photo["id"], small), platform=platform))
    again, new_again = store.record_sighting(replace(sighting(photo["id"], large, minutes=2), platform=platform))
    assert new and not new_again and again["id"] == first["id"] and again["count"] == 2
    assert store.counts()["alerts"] == 1
    # Both fetches stay as evidence, each with its own address.
    assert [s["image_url"] for s in store.sightings(first["id"])] == [small, large]


def test_a_repost_names_who_showed_it_and_who_posted_it_first(store):
    photo = enroll(store, 5)
    retweet = replace(posted_by("the_retweeter", platform="x"), repost="retweet", first_account="first_poster",
                      first_account_url="https://x.com/first_poster",
                      first_post_url="https://x.com/first_poster/status/1")
    alert, _ = store.record_sighting(replace(sighting(photo["id"], TWO_SIZES["x"][0]), platform="x", attribution=retweet))
    assert (alert["account"], alert["repost"], alert["first_account"]) == ("the_retweeter", "retweet", "first_poster")
    assert alert["first_post_url"] == "https://x.com/first_poster/status/1" and alert["shown_as"] == "post"
    [s] = store.sightings(alert["id"])
    assert s["first_account"] == "first_poster" and s["attribution"]["first_account"] == "first_poster"


def test_an_account_s_profile_picture_is_its_own_alert_beside_its_posts(store):
    photo = enroll(store, 5)
    post, _ = store.record_sighting(replace(sighting(photo["id"], "https://scontent.cdninstagram.com/v/t51.2885-15/1_n.jpg"),
                                            attribution=posted_by("alice.fan.page")))
    picture = replace(posted_by("alice.fan.page"), shown_as="profile_picture", post_url="https://www.instagram.com/alice.fan.page/")
    worn, new = store.record_sighting(replace(
        sighting(photo["id"], "https://scontent.cdninstagram.com/v/t51.2885-19/2_n.jpg", minutes=1), attribution=picture))
    assert new and worn["id"] != post["id"]
    assert (worn["shown_as"], worn["account"], post["shown_as"]) == ("profile_picture", "alice.fan.page", "post")
    again, new = store.record_sighting(replace(
        sighting(photo["id"], "https://scontent.cdninstagram.com/v/t51.2885-19/2_n.jpg?stp=s320x320", minutes=2),
        attribution=picture))
    assert not new and again["id"] == worn["id"]


def test_a_database_keyed_by_address_is_rekeyed_by_image_and_stays_append_only(data_dir):
    data_dir.mkdir()
    db = sqlite_utils.Database(data_dir / "sentinelle.db")
    schema.migrate(db, until=migrations._platform_image_keys)
    small, large = TWO_SIZES["instagram"]
    old_key = small.split("?")[0]  # what the store keyed by before: scheme, host and path
    db["alerts"].insert({"photo_id": 1, "photo_name": "kodim05.jpg", "image_key": old_key, "image_url": small,
                         "platform": "instagram", "count": 1, "status": "new", "first_seen": "2026-11-01",
                         "last_seen": "2026-11-01"})
    db["sightings"].insert({"alert_id": 1, "seen_at": "2026-11-01", "image_url": small, "image_key": old_key,
                            "evidence_sha256": "ab", "evidence_file": "ab.jpg"})
    db.close()
    store = Store(data_dir)
    try:
        (old,) = store.alerts()
        assert store.sightings(old["id"])[0]["image_key"] == "fbcdn:451_2_3_n"
        assert old["shown_as"] == "post" and old["first_account"] is None
        photo = enroll(store, 5)
        again, new = store.record_sighting(sighting(photo["id"], large))
        assert not new and again["id"] == old["id"] and again["count"] == 2
        with pytest.raises(Exception, match="append-only"):
            store._db.execute("UPDATE sightings SET image_key = 'x'")
    finally:
        store.close()
