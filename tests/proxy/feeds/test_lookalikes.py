"""proxy/feeds/lookalikes.py and worker.read_feed: the accounts a feed shows whose names look like a
child's, once each, with the feed record as evidence; everyone else forgotten."""

from __future__ import annotations

import json

from sentinelle.proxy.feeds.attribution import Attribution
from sentinelle.proxy.feeds.lookalikes import find_lookalikes
from sentinelle.proxy.feeds.names import Child, NameWatch
from sentinelle.proxy.fronts import worker
from tests.support.index import saved_index

LEA_AS_STORED = {"name": "Léa Martin", "aliases": ["Lélé"], "handles": [["instagram", "lea_mrtn"]]}
LEA = NameWatch([Child("Léa Martin", ("Lélé",), (("instagram", "lea_mrtn"),))])


def account(handle: str, display_name: str | None = None, **kwargs) -> Attribution:
    return Attribution(platform="instagram", account=handle, account_url=f"https://www.instagram.com/{handle}/",
                       post_url=None, caption=None, feed_url="https://www.instagram.com/api/v1/users/search/",
                       record=json.dumps({"username": handle}), display_name=display_name, **kwargs)


def test_look_alikes_are_found_once_each_and_her_own_account_never():
    seen = [account("lea.martin.2013"), account("Lea.Martin.2013", "Léa Martin"), account("lea_mrtn"),
            account("someone_else", "Chloé Bernard"), account("lea_mrtn_backup")]
    found = {f.handle.lower(): f for f in find_lookalikes(seen, LEA)}
    assert set(found) == {"lea.martin.2013", "lea_mrtn_backup"}
    assert found["lea.martin.2013"].display_name == "Léa Martin"  # where the feed said most of it
    assert found["lea.martin.2013"].resemblance.what == "full name"
    assert found["lea_mrtn_backup"].resemblance.what == "own handle"
    assert found["lea.martin.2013"].profile_url == "https://www.instagram.com/Lea.Martin.2013/"
    assert json.loads(found["lea_mrtn_backup"].record) == {"username": "lea_mrtn_backup"}


def test_the_first_poster_of_a_repost_is_checked_too():
    repost = account("a_fan_page", first_account="real_leamartin", first_account_url="https://www.instagram.com/real_leamartin/")
    [found] = find_lookalikes([repost], LEA)
    assert (found.handle, found.profile_url) == ("real_leamartin", "https://www.instagram.com/real_leamartin/")


def test_a_worker_reads_a_search_response_for_posts_and_look_alikes(tmp_path):
    index = saved_index(tmp_path / "index", [], [LEA_AS_STORED])
    body = json.dumps({"users": [
        {"user": {"username": "l3a.m4rtin", "full_name": "Léa", "profile_pic_url": "https://scontent.cdninstagram.com/v/t51.2885-19/9_n.jpg"}},
        {"user": {"username": "chloe.b", "full_name": "Chloé", "profile_pic_url": "https://scontent.cdninstagram.com/v/t51.2885-19/8_n.jpg"}},
    ]}).encode()
    attributions, lookalikes = worker.read_feed("instagram", "https://www.instagram.com/api/v1/web/search/topsearch/",
                                                "application/json", body, "identity",
                                                index)
    assert len(attributions) == 2
    assert [(f.handle, f.display_name, f.resemblance.field) for f in lookalikes] == [("l3a.m4rtin", "Léa", "handle")]
