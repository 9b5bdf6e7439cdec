"""proxy/feeds/: readers never fail on what they do not know, and never name a wrong account.

Hypothesis feeds them random JSON, random text and HTML, every fixture cut short, and every
fixture mutated (keys deleted, values replaced with values of other types, lists cut): no
reader raises, and an image is only ever attributed to an account the intact feed names
for that image (who showed it, or who posted it first).
"""

from __future__ import annotations

import copy
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sentinelle.proxy.feeds.attribution import parse_feed
from sentinelle.proxy.feeds import READERS

from tests.proxy.feeds.test_feed_shapes import FEEDS, SHAPES

PLATFORMS = sorted(READERS)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEED_KEYS = ["code", "shortcode", "pk", "id", "user", "owner", "username", "image_versions2", "candidates", "url",
             "display_url", "legacy", "core", "screen_name", "rest_id", "id_str", "extended_entities", "media",
             "media_url_https", "retweeted_status_result", "quoted_status_result", "result", "tweet", "author",
             "uniqueId", "imagePost", "images", "imageURL", "urlList", "video", "cover", "kind", "data", "t3",
             "permalink", "preview", "media_metadata", "crosspost_parent_list", "pinner", "origin_pinner",
             "image_signature", "actors", "attachments", "styles", "attachment", "__typename", "Photo", "image",
             "uri", "metadata", "videoMetadata", "thumbnailUrl", "profile_pic_url", "avatarThumb"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=20), st.sampled_from(FEED_KEYS),
                    st.sampled_from(["https://pbs.twimg.com/media/X.jpg", "//i.pinimg.com/236x/a.jpg", "https://"]))
documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.one_of(st.sampled_from(FEED_KEYS), st.text(max_size=8)), inner, max_size=6)),
    max_leaves=40)


def read(platform: str, name: str, body: bytes) -> dict:
    content_type = "text/html" if name.endswith(".html") else "application/json"
    return dict(parse_feed(platform, "https://feed.example/", content_type, body))


def allowed_accounts(platform: str, name: str) -> dict[str, set[str]]:
    """Image key → the accounts the intact fixture names for that image."""
    return {key: {a for a in (got.account, got.first_account) if a}
            for key, got in read(platform, name, (FEEDS / name).read_bytes()).items()}


def assert_no_wrong_account(platform: str, name: str, found: dict) -> None:
    allowed = allowed_accounts(platform, name)
    for key, got in found.items():
        assert key in allowed, key  # no image the intact feed does not name
        for account in (got.account, got.first_account):
            assert account is None or account in allowed[key], (key, account, allowed[key])


@PROPERTY
@given(platform=st.sampled_from(PLATFORMS), document=documents)
def test_random_json_is_read_without_error(platform, document):
    body = json.dumps(document).encode()
    for found in (parse_feed(platform, "u", "application/json", body),
                  parse_feed(platform, "u", "text/html", b'<script type="application/json">' + body + b"</script>")):
        for key, attribution in found:
            assert isinstance(key, str) and attribution.platform == platform


@PROPERTY
@given(platform=st.sampled_from(PLATFORMS), body=st.binary(max_size=400), content_type=st.sampled_from(
    ["application/json", "text/html", "text/javascript", "application/x-javascript; charset=utf-8"]))
def test_random_bytes_are_read_without_error(platform, body, content_type):
    parse_feed(platform, "u", content_type, body)
    parse_feed(platform, "u", content_type, b'for (;;);{"data": ' + body)
    parse_feed(platform, "u", content_type, b'<script type="application/json" data-sjs>' + body + b"</script>")


@pytest.mark.parametrize("name", sorted(SHAPES))
@PROPERTY
@given(cut=st.floats(0, 1))
def test_a_fixture_cut_short_never_names_a_wrong_account(name, cut):
    platform = SHAPES[name][0]
    body = (FEEDS / name).read_bytes()
    found = read(platform, name, body[: int(len(body) * cut)])
    assert_no_wrong_account(platform, name, found)


JUNK = [None, 0, 1.5, True, "", [], {}, [None], {"": None}]


def _paths(node: object, path: tuple = ()) -> list[tuple]:
    """Every place in a JSON document a value sits."""
    places = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            places += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            places += _paths(value, (*path, index))
    return places


def mutate(document: object, draw) -> object:
    for _ in range(draw(st.integers(1, 6))):
        places = _paths(document)
        if not places:
            break
        *parent_path, last = draw(st.sampled_from(places))
        parent = document
        for step in parent_path:
            parent = parent[step]
        how = draw(st.sampled_from(["delete", "junk", "cut"]))
        if how == "delete":
            del parent[last]
        elif how == "cut" and isinstance(parent[last], list):
            parent[last] = parent[last][: draw(st.integers(0, max(0, len(parent[last]) - 1)))]
        else:
            parent[last] = copy.deepcopy(draw(st.sampled_from(JUNK)))
    return document


_SCRIPT = re.compile(r"(<script\b[^>]*>)(.*?)(</script>)", re.DOTALL)


def mutated_body(name: str, draw) -> bytes:
    text = (FEEDS / name).read_text()
    if name.endswith(".html"):
        def one(m: re.Match) -> str:
            try:
                document = json.loads(m.group(2))
            except ValueError:
                return m.group(0)
            return m.group(1) + json.dumps(mutate(document, draw)) + m.group(3)
        return _SCRIPT.sub(one, text).encode()
    if text.startswith("for (;;);"):  # Facebook's stream: one JSON document a line
        lines = [json.dumps(mutate(json.loads(line), draw)) for line in text[9:].splitlines() if line.strip()]
        return ("for (;;);" + "\n".join(lines)).encode()
    return json.dumps(mutate(json.loads(text), draw)).encode()


@pytest.mark.parametrize("name", sorted(SHAPES))
@PROPERTY
@given(data=st.data())
def test_a_mutated_fixture_never_names_a_wrong_account(name, data):
    platform = SHAPES[name][0]
    found = read(platform, name, mutated_body(name, data.draw))
    assert_no_wrong_account(platform, name, found)
