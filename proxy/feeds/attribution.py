"""Who posted an image: the account, post and caption that a social network's feed names for it.

Social sites send the feed as JSON (or HTML with JSON inside) before the browser fetches
its images. `parse_feed` reads such a body and returns, for each image address it names,
an `Attribution`; the watcher keeps them in a bounded `AttributionMap` in memory and looks
an image up there when it matches a protected photo. Nothing here touches the disk: what
the feed said of an image that matches nothing is forgotten with the map.

One small pure reader per platform (proxy/feeds/) reads its known shapes; a shape it does
not know yields nothing, never an error. Besides the posts, the readers name the accounts
they see with their profile picture: a picture that matches a protected photo names the
account that wears it. Images are keyed by the part of their address that stays the same
across sizes and signatures (proxy/feeds/image_keys.py). No mitmproxy here: bytes, URLs and
headers in, data out.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any, cast

from sentinelle.proxy.feeds import PAGE_READERS, READERS
from sentinelle.proxy.feeds.common import POST, PROFILE_PICTURE, Fields
from sentinelle.proxy.feeds.image_keys import image_key

# A feed page is a few hundred KB; past this it is not parsed (and the browser still gets it).
MAX_FEED_BYTES = 4 * 1024 * 1024
# Feed records remembered; the oldest are forgotten first. ~1 KB each.
MAP_ENTRIES = 10_000
# JSON nodes visited in one body, so that a hostile document cannot keep a worker busy.
MAX_NODES = 500_000
# The feed record kept with an attribution is trimmed to this, as compact JSON.
MAX_RECORD_CHARS = 16_000

FEED_TYPES = frozenset({
    "application/json", "text/json", "text/javascript", "application/javascript",
    "application/x-javascript", "text/html", "application/ld+json",
})


@dataclass(frozen=True)
class Attribution:
    """What a feed said about one image: who posted it, where, with what words."""

    platform: str
    account: str | None  # the handle, without "@"
    account_url: str | None
    post_url: str | None
    caption: str | None
    feed_url: str  # the response the feed record came in
    record: str  # the feed record itself, as compact (trimmed) JSON: the evidence of the attribution
    display_name: str | None = None  # the account's name as the feed shows it
    shown_as: str = POST  # "post", "story" (gone after a day), or "profile_picture": the account's own picture
    repost: str | None = None  # how the post shows another's: retweet, quote, crosspost, repin, media
    first_account: str | None = None  # who posted it first, for a re-post
    first_account_url: str | None = None
    first_post_url: str | None = None
    account_id: str | None = None  # the platform's id of the account: all some feeds name
    posted_at: str | None = None  # ISO time the feed says it was posted (a story's)
    expires_at: str | None = None  # ISO time a story disappears from the platform

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


@dataclass(frozen=True)
class AccountNamed:
    """A feed tied an account's id to its handle: what a sighting recorded with the id alone learns."""

    platform: str
    account_id: str
    account: str
    account_url: str | None
    display_name: str | None = None

    @classmethod
    def of(cls, attribution: Attribution) -> AccountNamed | None:
        """The tie an attribution makes, if it names both the account's id and its handle."""
        if not (attribution.account and attribution.account_id):
            return None
        return cls(attribution.platform, attribution.account_id, attribution.account,
                   attribution.account_url, attribution.display_name)

    def names(self, attribution: Attribution) -> Attribution:
        """`attribution` (of this account, by id alone) with the account's handle."""
        return replace(attribution, account=self.account, account_url=self.account_url,
                       display_name=attribution.display_name or self.display_name)


def is_feed(content_type: str) -> bool:
    """Whether a response may carry a feed: JSON, or HTML that may embed JSON."""
    return content_type.split(";", 1)[0].strip().lower() in FEED_TYPES or content_type.lower().endswith("+json")


class AttributionMap:
    """Image key → the latest attribution seen for it, and account id → its handle, both
    bounded; the oldest go first. An image whose feed named its account by id alone is named
    by the handle any feed, before or after, tied to that id."""

    def __init__(self, max_entries: int = MAP_ENTRIES) -> None:
        self._max = max_entries
        self._entries: OrderedDict[str, Attribution] = OrderedDict()
        self._names: OrderedDict[tuple[str, str], AccountNamed] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, key: str, attribution: Attribution) -> None:
        """The latest feed's word on an image wins, except that an account's picture never
        hides the post the same image was seen in, nor an id alone the handle seen before."""
        known = self._entries.get(key)
        keep = known is not None and (
            (known.shown_as != PROFILE_PICTURE and attribution.shown_as == PROFILE_PICTURE)
            or (known.account is not None and attribution.account is None))
        if not keep:
            self._entries[key] = attribution
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        self.learn(attribution)

    def add_all(self, found: list[tuple[str, Attribution]]) -> None:
        for key, attribution in found:
            self.add(key, attribution)

    def learn(self, attribution: Attribution) -> AccountNamed | None:
        """Remember the handle of the account `attribution` names by id and handle; the tie."""
        if (named := AccountNamed.of(attribution)) is not None:
            self._names[(named.platform, named.account_id)] = named
            self._names.move_to_end((named.platform, named.account_id))
            while len(self._names) > self._max:
                self._names.popitem(last=False)
        return named

    def named(self, platform: str, account_id: str) -> AccountNamed | None:
        """The handle a feed tied to an account's id, if one did."""
        return self._names.get((platform, account_id))

    def lookup(self, image_url: str) -> Attribution | None:
        """What the feeds said of an image, its account named by handle where an id is known."""
        found = self._entries.get(image_key(image_url))
        if (found is not None and found.account is None and found.account_id is not None
                and (named := self.named(found.platform, found.account_id)) is not None):
            return named.names(found)
        return found


def parse_feed(platform: str, feed_url: str, content_type: str, body: bytes) -> list[tuple[str, Attribution]]:
    """Every (image key, attribution) a feed response names. Runs in a worker: pure and picklable.

    An unknown platform, an unknown shape, a body that is not JSON: an empty list. Where several
    posts of a response name one image, the first that names its account is kept (`_better`).
    """
    found: dict[str, Attribution] = {}
    for key, attribution in claims(platform, feed_url, content_type, body):
        if _better(found.get(key), attribution):
            found[key] = attribution
    return list(found.items())


def claims(platform: str, feed_url: str, content_type: str, body: bytes) -> Iterator[tuple[str, Attribution]]:
    """Every (image key, attribution) the readers find in a response, in the order they find
    them, before any is kept: one image may be named by several posts (a post, its quote)."""
    reader = READERS.get(platform)
    if reader is None or not body or len(body) > MAX_FEED_BYTES:
        return
    text = body.decode("utf-8", errors="replace")
    budget = [MAX_NODES]
    for document in _documents(text, content_type):
        for node in _walk(document, budget):
            try:
                named = [(url, fields) for url, fields in reader(node) if _is_address(url)]
            except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError):
                continue  # a node that looks like a post but is not one: ignored
            record = _record(node) if named else ""
            for url, fields in named:
                yield image_key(url), _attribution(platform, feed_url, record, fields)
    if (page_reader := PAGE_READERS.get(platform)) is not None and _is_html(text, content_type):
        for url, fields, record in page_reader(text):
            if _is_address(url):
                yield image_key(url), _attribution(platform, feed_url, record, fields)


def _attribution(platform: str, feed_url: str, record: str, fields: Fields) -> Attribution:
    # Fields holds str | None throughout, but the keys whose field is a plain str (shown_as)
    # are always given a str by the readers (common.post, story, profile).
    return Attribution(platform=platform, feed_url=feed_url, record=record, **cast("dict[str, Any]", fields))


def _is_address(url: object) -> bool:
    return isinstance(url, str) and url.startswith(("https://", "http://", "//"))


def _better(known: Attribution | None, said: Attribution) -> bool:
    """Whether what a node says of an image replaces what the feed said before: the first post
    that names an account wins (by handle, else by id); a post wins over an account's picture
    of the same image."""
    if known is None:
        return True
    if known.shown_as == PROFILE_PICTURE and said.shown_as != PROFILE_PICTURE:
        return True
    if known.account is None and said.account:
        return known.shown_as == said.shown_as
    return known.account is None and known.account_id is None and bool(said.account_id)


# -- finding JSON in a body ------------------------------------------------------------

_SCRIPT_JSON = re.compile(
    r"<script\b[^>]*\btype=[\"']application/(?:ld\+)?json[\"'][^>]*>(.*?)</script>",
    re.IGNORECASE | re.DOTALL,
)
_ASSIGNED_JSON = re.compile(r"window\.(?:_sharedData|__INITIAL_STATE__|__PWS_DATA__)\s*=\s*(\{.*?\});\s*</script>",
                            re.DOTALL)
# Facebook and Instagram prefix some JSON with an infinite loop against JSON hijacking.
_PREFIX = re.compile(r"^\s*(?:for\s*\(;;\);|while\s*\(1\);|\)\]\}',?)")


def _is_html(text: str, content_type: str) -> bool:
    # What the body is, not what it is labelled: Facebook's /api/graphql/ sends its JSON as
    # text/html, and a page is HTML whatever its type says.
    looks_like_json = text.lstrip()[:1] in ("{", "[") or _PREFIX.match(text) is not None
    return text.lstrip()[:1] == "<" or ("html" in content_type.lower() and not looks_like_json)


def _documents(text: str, content_type: str) -> Iterator[object]:
    if _is_html(text, content_type):
        chunks = [m.group(1) for m in _SCRIPT_JSON.finditer(text)]
        chunks += [m.group(1) for m in _ASSIGNED_JSON.finditer(text)]
    else:
        # Some APIs send several JSON documents, one a line.
        text = _PREFIX.sub("", text, count=1)
        chunks = [text] if text.lstrip()[:1] in "{[" else []
        if chunks and "\n{" in text:
            chunks = [line for line in text.splitlines() if line.strip()]
    for chunk in chunks:
        try:
            document = json.loads(chunk)
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's stack
            continue
        yield document


def _walk(document: object, budget: list[int]) -> Iterator[dict]:
    """Every dict in a JSON document, depth first, within the node budget."""
    stack = [document]
    while stack and budget[0] > 0:
        node = stack.pop()
        budget[0] -= 1
        if isinstance(node, dict):
            yield node
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))


def _trim(node: object, depth: int = 0) -> object:
    if isinstance(node, dict):
        if depth >= 6:
            return "…"
        return {k: _trim(v, depth + 1) for k, v in list(node.items())[:60]}
    if isinstance(node, list):
        if depth >= 6:
            return "…"
        return [_trim(v, depth + 1) for v in node[:10]]
    if isinstance(node, str) and len(node) > 2000:
        return node[:2000] + "…"
    return node


def _record(node: dict) -> str:
    text = json.dumps(_trim(node), ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= MAX_RECORD_CHARS else text[:MAX_RECORD_CHARS] + "…"
