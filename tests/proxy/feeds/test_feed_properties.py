"""proxy/feeds/: readers never fail on what they do not know, and never name a wrong account.

Hypothesis feeds them random JSON, random text and HTML, every fixture and every real capture
(../shared/datasets/feeds/, when it is there) cut short, and every one mutated (keys deleted,
values replaced with values of other types, lists cut; a page's HTML cut up): no reader
raises, and an image is only ever attributed to an account the intact feed names for that
image (who showed it, or who posted it first); in a cut-up page, only to an account the page
names.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.feed_census import CAPTURES, captures, content_type
from sentinelle.proxy.feeds import READERS
from sentinelle.proxy.feeds.attribution import claims, parse_feed
from tests.proxy.feeds.test_feed_shapes import FEEDS, SHAPES

PLATFORMS = sorted(READERS)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEED_KEYS = ["code", "shortcode", "pk", "id", "user", "owner", "username", "image_versions2", "candidates", "url",
             "display_url", "legacy", "core", "screen_name", "rest_id", "id_str", "extended_entities", "media",
             "media_url_https", "retweeted_status_result", "quoted_status_result", "result", "tweet", "author",
             "uniqueId", "imagePost", "images", "imageURL", "urlList", "video", "cover", "kind", "data", "t3",
             "permalink", "preview", "media_metadata", "crosspost_parent_list", "pinner", "origin_pinner",
             "image_signature", "actors", "attachments", "styles", "attachment", "__typename", "Photo", "image",
             "uri", "metadata", "videoMetadata", "thumbnailUrl", "profile_pic_url", "avatarThumb", "reels_media",
             "items", "expiring_at", "taken_at_timestamp", "display_resources", "src", "music", "coverThumb",
             "authorName", "original", "musicInfo", "board", "type", "board", "cover_images", "card", "binding_values",
             "image_value", "banner", "thumbnail", "variants", "display_name_prefixed", "@type", "contentUrl"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=20), st.sampled_from(FEED_KEYS),
                    st.sampled_from(["https://pbs.twimg.com/media/X.jpg", "//i.pinimg.com/236x/a.jpg", "https://"]))
documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.one_of(st.sampled_from(FEED_KEYS), st.text(max_size=8)), inner, max_size=6)),
    max_leaves=40)


def read(platform: str, name: str, body: bytes) -> dict:
    content_type = "text/html" if name.endswith(".html") else "application/json"
    return dict(parse_feed(platform, "https://feed.example/", content_type, body))


def named_in(platform: str, content_type: str, body: bytes) -> dict[str, set[str]]:
    """Image key → every account an intact feed names for that image (by any post that shows it)."""
    named: dict[str, set[str]] = {}
    for key, got in claims(platform, "u", content_type, body):
        named.setdefault(key, set()).update(a for a in (got.account, got.first_account) if a)
    return named


def allowed_accounts(platform: str, name: str) -> dict[str, set[str]]:
    """Image key → the accounts the intact fixture names for that image."""
    return named_in(platform, "text/html" if name.endswith(".html") else "application/json", (FEEDS / name).read_bytes())


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
    prefix = "for (;;);" if text.startswith("for (;;);") else ""  # Facebook's stream
    try:
        return (prefix + json.dumps(mutate(json.loads(text[len(prefix):]), draw))).encode()
    except json.JSONDecodeError:  # one JSON document a line: a stream, or a fixture of several responses
        lines = [line for line in text[len(prefix):].splitlines() if line.strip()]
        return (prefix + "\n".join(json.dumps(mutate(json.loads(line), draw)) for line in lines)).encode()


@pytest.mark.parametrize("name", sorted(SHAPES))
@PROPERTY
@given(data=st.data())
def test_a_mutated_fixture_never_names_a_wrong_account(name, data):
    platform = SHAPES[name][0]
    found = read(platform, name, mutated_body(name, data.draw))
    assert_no_wrong_account(platform, name, found)


# -- the real captures, when ../shared is here -------------------------------------------------

CAPTURED = captures()
needs_captures = pytest.mark.skipif(not CAPTURED, reason=f"the real captures are not here ({CAPTURES})")
ON_CAPTURES = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def intact(path: Path) -> dict[str, set[str]]:
    """Image key → the accounts the intact capture names for it."""
    return named_in(path.parent.name, content_type(path), path.read_bytes())


def read_capture(path: Path, body: bytes) -> dict:
    return dict(parse_feed(path.parent.name, "u", content_type(path), body))


@needs_captures
@pytest.mark.parametrize("path", [path for _, path in CAPTURED], ids=lambda path: path.name)
@ON_CAPTURES
@given(cut=st.floats(0, 1))
def test_a_capture_cut_short_never_names_a_wrong_account(path, cut):
    body = path.read_bytes()
    _no_other_account(path, read_capture(path, body[: int(len(body) * cut)]), strict=path.suffix != ".html")


@needs_captures
@pytest.mark.parametrize("path", [path for _, path in CAPTURED], ids=lambda path: path.name)
@ON_CAPTURES
@given(data=st.data())
def test_a_mutated_capture_never_names_a_wrong_account(path, data):
    text = path.read_text()
    if path.suffix == ".html":
        _no_other_account(path, read_capture(path, cut_up(text, data.draw).encode()), strict=False)
        return
    _no_other_account(path, read_capture(path, json.dumps(mutate(json.loads(text), data.draw)).encode()), strict=True)


# What a page cut up may gain: tags opened and never closed, closed and never opened, a story's
# marks (never a link to an account: that would be an account the page did not name).
DEBRIS = ["<div>", "</div>", "</article>", "<a>", "</a>", "<strong>", "<title>", '<div data-ft="{">',
          '<div data-sigil="comment">', "<header>", "</header>", "<script>", '<img src="https://', "&", "\\3a ", ""]


def cut_up(text: str, draw) -> str:
    """A page with runs of whole tags and texts deleted or replaced by debris (from one `<` to
    another: what a page says inside a tag, an address or a name, stays as it said it)."""
    for _ in range(draw(st.integers(1, 8))):
        tags = [m.start() for m in re.finditer("<", text)] + [len(text)]
        first = draw(st.integers(0, len(tags) - 1))
        last = min(len(tags) - 1, first + draw(st.integers(0, 12)))
        text = text[:tags[first]] + draw(st.sampled_from(DEBRIS)) + text[tags[last]:]
    return text


def _no_other_account(path: Path, found: dict, strict: bool) -> None:
    """Every account named is one the intact capture names for that image (`strict`). A page cut
    short or cut up may run a name's link on into the text after it, or move an image into
    another story: there, every attribution is still well formed (an account's name, a
    profile's address on the platform), and the reading ends without error."""
    allowed = intact(path)
    for key, got in found.items():
        assert got.platform == path.parent.name and isinstance(key, str)
        for account in (got.account, got.first_account):
            if account is None:
                continue
            if strict:
                assert key in allowed and account in allowed[key], (key, account)
            else:
                assert 0 < len(account) <= 200 and account == account.strip(), (key, account)
        for url in (got.account_url, got.post_url, got.first_account_url):
            assert url is None or url.startswith("https://"), (key, url)
