"""Who posted an image: the account, post and caption that a social network's feed names for it.

Social sites send the feed as JSON (or HTML with JSON inside) before the browser fetches
its images. `parse_feed` reads such a body and returns, for each image address it names,
an `Attribution`; the watcher keeps them in a bounded `AttributionMap` in memory and looks
an image up there when it matches a protected photo. Nothing here touches the disk: what
the feed said of an image that matches nothing is forgotten with the map.

One small pure function per platform reads its known shapes; a shape it does not know
yields nothing, never an error. No mitmproxy here: bytes, URLs and headers in, data out.
"""

from __future__ import annotations

import html
import json
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

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

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def is_feed(content_type: str) -> bool:
    """Whether a response may carry a feed: JSON, or HTML that may embed JSON."""
    return content_type.split(";", 1)[0].strip().lower() in FEED_TYPES or content_type.lower().endswith("+json")


def image_key(url: str) -> str:
    """The image an address names, whatever its size and signing parameters: host and path.

    Query strings (signatures, expiry, size) are dropped, and so is the file extension (X
    serves `media/ID.jpg` as `media/ID?format=jpg`); Pinterest's size folder (`236x`,
    `originals`) is dropped too.
    """
    url = html.unescape(url.strip())
    if url.startswith("//"):
        url = "https:" + url
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path
    if host.endswith("pinimg.com"):
        path = re.sub(r"^/[^/]+/", "/", path)
    path = re.sub(r"\.(jpe?g|png|webp|gif|avif|heic|heif)$", "", path, flags=re.IGNORECASE)
    return f"{host}{path}"


class AttributionMap:
    """Image key → the latest attribution seen for it, bounded; the oldest go first."""

    def __init__(self, max_entries: int = MAP_ENTRIES) -> None:
        self._max = max_entries
        self._entries: OrderedDict[str, Attribution] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, key: str, attribution: Attribution) -> None:
        self._entries[key] = attribution
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def add_all(self, found: list[tuple[str, Attribution]]) -> None:
        for key, attribution in found:
            self.add(key, attribution)

    def lookup(self, image_url: str) -> Attribution | None:
        return self._entries.get(image_key(image_url))


def parse_feed(platform: str, feed_url: str, content_type: str, body: bytes) -> list[tuple[str, Attribution]]:
    """Every (image key, attribution) a feed response names. Runs in a worker: pure and picklable.

    An unknown platform, an unknown shape, a body that is not JSON: an empty list.
    """
    parser = PARSERS.get(platform)
    if parser is None or not body or len(body) > MAX_FEED_BYTES:
        return []
    text = body.decode("utf-8", errors="replace")
    found: dict[str, Attribution] = {}
    budget = [MAX_NODES]
    for document in _documents(text, content_type):
        for node in _walk(document, budget):
            record = None
            try:
                for url, fields in parser(node):
                    if not isinstance(url, str) or not url.startswith(("https://", "http://", "//")):
                        continue
                    key = image_key(url)
                    if key not in found or found[key].account is None and fields["account"]:
                        record = record or _record(node)
                        found[key] = Attribution(platform=platform, feed_url=feed_url, record=record, **fields)
            except (KeyError, TypeError, ValueError, AttributeError, IndexError):
                continue  # a node that looks like a post but is not one: ignored
    return list(found.items())


# -- finding JSON in a body ------------------------------------------------------------

_SCRIPT_JSON = re.compile(
    r"<script\b[^>]*\btype=[\"']application/(?:ld\+)?json[\"'][^>]*>(.*?)</script>",
    re.IGNORECASE | re.DOTALL,
)
_ASSIGNED_JSON = re.compile(r"window\.(?:_sharedData|__INITIAL_STATE__|__PWS_DATA__)\s*=\s*(\{.*?\});\s*</script>",
                            re.DOTALL)
# Facebook and Instagram prefix some JSON with an infinite loop against JSON hijacking.
_PREFIX = re.compile(r"^\s*(?:for\s*\(;;\);|while\s*\(1\);|\)\]\}',?)")


def _documents(text: str, content_type: str) -> Iterator[object]:
    if "html" in content_type.lower() or text.lstrip()[:1] == "<":
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


def _get(node: object, *path: str | int) -> object:
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or len(node) <= step:
                return None
        elif not isinstance(node, dict):
            return None
        node = node[step] if isinstance(step, int) else node.get(step)
    return node


def _text(value: object) -> str | None:
    return value.strip()[:2000] or None if isinstance(value, str) else None


# -- one parser a platform ------------------------------------------------------------
# Each takes one JSON object of a feed and yields (image url, fields) when the object is a
# post of that platform; anything else yields nothing.

Fields = dict[str, str | None]


def _account(handle: object, url: str) -> Fields:
    handle = _text(handle)
    return {"account": handle, "account_url": url.format(handle) if handle else None}


def instagram(node: dict) -> Iterator[tuple[str, Fields]]:
    """A media of Instagram's API (`code`, `image_versions2`, `user`) or GraphQL (`shortcode`,
    `display_url`, `owner`); a carousel's children take the post's code and account."""
    code = node.get("code") or node.get("shortcode")
    if not isinstance(code, str):
        return
    user = node.get("user") or node.get("owner") or {}
    fields = _account(user.get("username"), "https://www.instagram.com/{}/") | {
        "post_url": f"https://www.instagram.com/p/{code}/",
        "caption": _text(_get(node, "caption", "text"))
        or _text(_get(node, "edge_media_to_caption", "edges", 0, "node", "text")),
    }
    media = [node, *(node.get("carousel_media") or [])]
    media += [edge.get("node") or {} for edge in _get(node, "edge_sidecar_to_children", "edges") or []]
    for item in media:
        for candidate in _get(item, "image_versions2", "candidates") or []:
            yield candidate.get("url"), fields
        for resource in item.get("display_resources") or []:
            yield resource.get("src"), fields
        for key in ("display_url", "thumbnail_src"):
            if item.get(key):
                yield item[key], fields


def x(node: dict) -> Iterator[tuple[str, Fields]]:
    """A tweet: GraphQL (`legacy` + `core.user_results`) or the v1.1 shape (`user`, `entities`)."""
    tweet = node.get("legacy") if isinstance(node.get("legacy"), dict) and "core" in node else node
    media = (_get(tweet, "extended_entities", "media") or _get(tweet, "entities", "media") or [])
    if not media or not isinstance(tweet.get("id_str"), str):
        return
    user = _get(node, "core", "user_results", "result") or {}
    handle = (_get(user, "core", "screen_name") or _get(user, "legacy", "screen_name")
              or _get(tweet, "user", "screen_name"))
    fields = _account(handle, "https://x.com/{}") | {
        "post_url": f"https://x.com/{handle}/status/{tweet['id_str']}" if handle else None,
        "caption": _text(tweet.get("full_text") or tweet.get("text")),
    }
    for item in media:
        yield item.get("media_url_https") or item.get("media_url"), fields


def tiktok(node: dict) -> Iterator[tuple[str, Fields]]:
    """An item of TikTok's feed: photo posts (`imagePost.images[].imageURL.urlList`) and video covers."""
    author = node.get("author")
    if not isinstance(node.get("id"), str) or not ("imagePost" in node or "video" in node) or not author:
        return
    handle = author.get("uniqueId") if isinstance(author, dict) else author
    kind = "photo" if "imagePost" in node else "video"
    fields = _account(handle, "https://www.tiktok.com/@{}") | {
        "post_url": f"https://www.tiktok.com/@{handle}/{kind}/{node['id']}" if handle else None,
        "caption": _text(node.get("desc")),
    }
    for image in _get(node, "imagePost", "images") or []:
        for url in _get(image, "imageURL", "urlList") or []:
            yield url, fields
    for url in _get(node, "imagePost", "cover", "imageURL", "urlList") or []:
        yield url, fields
    for key in ("cover", "originCover", "dynamicCover"):
        if isinstance(url := _get(node, "video", key), str):
            yield url, fields


def reddit(node: dict) -> Iterator[tuple[str, Fields]]:
    """A post of Reddit's listings (`kind: t3`): its link, previews and gallery images."""
    if node.get("kind") != "t3" or not isinstance(node.get("data"), dict):
        return
    post = node["data"]
    permalink = post.get("permalink")
    fields = _account(post.get("author"), "https://www.reddit.com/user/{}/") | {
        "post_url": f"https://www.reddit.com{permalink}" if isinstance(permalink, str) else None,
        "caption": _text(post.get("title")),
    }
    if isinstance(post.get("url"), str):
        yield post["url"], fields
    for image in _get(post, "preview", "images") or []:
        for size in [image.get("source") or {}, *(image.get("resolutions") or [])]:
            yield size.get("url"), fields
    for item in (post.get("media_metadata") or {}).values():
        for size in [item.get("s") or {}, *(item.get("p") or [])]:
            yield size.get("u"), fields


def pinterest(node: dict) -> Iterator[tuple[str, Fields]]:
    """A pin: `images` by size, the pinner's `username`."""
    images = node.get("images")
    if not isinstance(images, dict) or not isinstance(node.get("id"), str):
        return
    pinner = node.get("pinner") or node.get("native_creator") or node.get("origin_pinner") or {}
    fields = _account(pinner.get("username"), "https://www.pinterest.com/{}/") | {
        "post_url": f"https://www.pinterest.com/pin/{node['id']}/",
        "caption": _text(node.get("grid_title") or node.get("title") or node.get("description")),
    }
    for size in images.values():
        if isinstance(size, dict):
            yield size.get("url"), fields


PARSERS: dict[str, Callable[[dict], Iterator[tuple[str, Fields]]]] = {
    "instagram": instagram, "x": x, "tiktok": tiktok, "reddit": reddit, "pinterest": pinterest,
}
