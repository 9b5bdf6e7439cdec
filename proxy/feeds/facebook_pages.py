"""Facebook's mobile pages (m.facebook.com, mbasic): images carried in the HTML itself, each
named by the story or comment it sits in (what facebook-scraper `extractors.py` reads).

A story is an element with a `data-ft` attribute (JSON: `top_level_post_id`,
`content_owner_id_new` the poster's id, `page_id`, `page_insights.<id>.post_context.publish_time`);
its poster is the first account link of its `<header>`, `<h3>` or `<strong>` (`h3 strong a`,
`a.actor-link`), its images `<img src>`
and the `background: url(…)` of `<i class="img">` (CSS-escaped) that are not profile pictures.
A comment is an element whose `data-sigil` says `comment`: its author's link, its author's
picture. A profile picture (`profpic`, or an `alt`/`aria-label` of "<name>, profile picture")
belongs to the account of that name, found among the links around it; a page shown logged out
links no commenter, but the ring around a picture names the account's id
(`data-sigil="feed_story_ring<id>"`) and the page's JSON-LD its address (`comment[].author
{name, url}`). An account link is `/<username>`, `/profile.php?id=<id>`, `/people/<name>/<id>`
or a group's `/groups/<g>/user/<id>/`.
A story that shares another's photo links it as that account's (`/<name>/photos/…`,
`photo.php?…&id=<id>`): the photo was posted first by that account, named by the story's link
to it. Facebook names people by their name more surely than by a handle: the account is the
name, its address the profile's (as proxy/feeds/facebook.py does). Pure: a page's text in, images out.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

from sentinelle.proxy.feeds.common import PROFILE_PICTURE, Fields, dicts, get, identifier, post, reposted, text, when

_HOSTS = ("facebook.com", "m.facebook.com", "www.facebook.com", "mbasic.facebook.com", "web.facebook.com")
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                   "source", "track", "wbr"})
_CSS_URL = re.compile(r"url\(\s*['\"]?(.*?)['\"]?\s*\)")
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6}) ?")
_USERNAME = re.compile(r"^[A-Za-z0-9.]{1,50}$")
_RING = re.compile(r"^feed_story_ring(\d+)$")
# A link's text longer than this is not a person's or a page's name.
_LONGEST_NAME = 100
# First segments of Facebook's own addresses, never a person's or a page's.
_NOT_ACCOUNTS = frozenset({
    "a", "about", "ads", "bookmarks", "browse", "business", "careers", "comment", "composer", "dialog",
    "events", "friends", "gaming", "groups", "hashtag", "help", "home.php", "l.php", "legal", "login",
    "login.php", "marketplace", "mbasic", "messages", "mobile", "notes", "notifications", "pages",
    "permalink.php", "photo.php", "photos", "plugins", "policies", "privacy", "r.php", "reel", "reels",
    "recover", "reg", "search", "settings", "share", "sharer.php", "stories", "story.php", "ufi",
    "video_redirect", "watch",
})
_PICTURE_SUFFIXES = (", profile picture", ", photo de profil")
# A profile picture's address: a type ending in -1 (t1.6435-1, t39.30808-1…).
_PROFILE_TYPE = re.compile(r"/t\d+\.\d+-1/")


@dataclass
class _Link:
    name: str
    url: str  # the profile's address on www.facebook.com
    account_id: str | None
    actor: bool  # where a story names who posted it: its header, a heading, a bold name
    in_comment: bool = False  # in a comment (its author, or someone it mentions): not a story's author


@dataclass
class _Image:
    url: str
    label: str | None  # alt or aria-label
    profile: bool  # a profile picture
    ring: str | None = None  # the account id the ring around it names
    anchor: str | None = None  # the address of the link around it


@dataclass
class _Element:
    tag: str
    kind: str | None = None  # "story", "comment", or None
    ft: dict = field(default_factory=dict)
    ring: str | None = None
    actor: bool = False  # in a header, a heading, a bold name: where an actor's link sits
    href: str | None = None
    link_text: list[str] = field(default_factory=list)
    images: list[_Image] = field(default_factory=list)
    links: list[_Link] = field(default_factory=list)


def account_link(href: str) -> tuple[str, str | None] | None:
    """(the profile's address, its id if the link gives it) of a link to a person or a page."""
    try:
        split = urlsplit(href)
    except ValueError:
        return None
    if (split.hostname or "") not in ("", *_HOSTS):
        return None
    parts = [part for part in split.path.split("/") if part]
    if parts == ["profile.php"]:
        account_id = identifier(next(iter(parse_qs(split.query).get("id", [])), None))
        return (f"https://www.facebook.com/profile.php?id={account_id}", account_id) if account_id else None
    if len(parts) >= 3 and parts[0] == "people" and parts[2].isdigit():
        return f"https://www.facebook.com/people/{parts[1]}/{parts[2]}/", parts[2]
    if len(parts) >= 4 and parts[0] == "groups" and parts[2] == "user" and parts[3].isdigit():
        return f"https://www.facebook.com/profile.php?id={parts[3]}", parts[3]
    if len(parts) == 1 and _USERNAME.match(parts[0]) and parts[0].lower() not in _NOT_ACCOUNTS:
        return f"https://www.facebook.com/{parts[0]}", None
    return None


def _css_unescape(value: str) -> str:
    return _CSS_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)


def _ft(value: str | None) -> dict:
    try:
        ft = json.loads(value) if value else {}
    except ValueError:
        return {}
    return ft if isinstance(ft, dict) else {}


class _Page(HTMLParser):
    """Walks a page once, resolving each story's and comment's images when its element closes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[_Element] = [_Element("#page")]
        self.found: list[tuple[str, Fields, str]] = []
        self.addresses: dict[str, str] = {}  # a person's name → the address the page's JSON-LD gives
        self.meta: dict[str, str] = {}  # the page's og:title and og:url: what the page is of
        self._json_ld: list[str] | None = None
        self._links: list[_Element] = []  # the links open now, innermost last: where text goes

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        parent = self.stack[-1]
        element = _Element(tag, ring=parent.ring,
                           actor=parent.actor or tag in ("header", "h3", "strong") or "actor-link" in attributes.get("class", ""))
        if tag == "script" and attributes.get("type") == "application/ld+json":
            self._json_ld = []
        if tag == "meta" and attributes.get("property") in ("og:title", "og:url"):
            self.meta.setdefault(attributes["property"], attributes.get("content", ""))
        ft = _ft(attributes.get("data-ft"))
        sigils = attributes.get("data-sigil", "").split()
        if ft.get("top_level_post_id") or ft.get("mf_story_key"):
            element.kind, element.ft = "story", ft
        elif "comment" in sigils:
            element.kind = "comment"
        element.ring = next((m.group(1) for sigil in sigils if (m := _RING.match(sigil))), element.ring)
        if tag == "a" and attributes.get("href"):
            element.href = attributes["href"]
            self._links.append(element)
        label = attributes.get("alt") or attributes.get("aria-label") or None
        profile = "profpic" in attributes.get("class", "").split()
        urls = [attributes["src"]] if tag == "img" and attributes.get("src") else []
        urls += [_css_unescape(m.group(1)) for m in _CSS_URL.finditer(attributes.get("style", ""))]
        for url in urls:
            if url.startswith(("https://", "http://")) and "fbcdn.net" in url and "//static." not in url:
                picture = profile or bool(label and label.endswith(_PICTURE_SUFFIXES)) or bool(_PROFILE_TYPE.search(url))
                anchor = element.href or (self._links[-1].href if self._links else None)
                (element if tag not in _VOID else parent).images.append(_Image(url, label, picture, element.ring, anchor))
        if tag not in _VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._json_ld is not None:
            self._people("".join(self._json_ld))
            self._json_ld = None
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                while len(self.stack) > depth:
                    self._close(self.stack.pop())
                return

    def handle_data(self, data: str) -> None:
        if self._json_ld is not None:
            self._json_ld.append(data)
            return
        if self.cdata_elem is None and self._links:  # a script's or a style's text is never a name
            self._links[-1].link_text.append(data)

    def finish(self) -> None:
        """Close what the page left open and name what is left. What follows the page's last
        whole tag (a page cut short mid-tag) is not read: never half a tag taken for text; nor is
        the text of a link the page never closed (cut short mid-name: never half a name)."""
        for link in self._links:
            link.link_text.clear()
        while len(self.stack) > 1:
            self._close(self.stack.pop())
        self._resolve(self.stack[0], page=True)

    def _people(self, script: str) -> None:
        """The names and addresses of the people and pages a JSON-LD block names (its authors)."""
        try:
            document = json.loads(script)
        except ValueError:
            return
        stack = [document]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack += node
            elif isinstance(node, dict):
                stack += [v for v in node.values() if isinstance(v, (dict, list))]
                name, url = text(node.get("name"), 200), text(node.get("url"))
                if node.get("@type") in ("Person", "Organization") and name and url and (link := account_link(url)):
                    self.addresses.setdefault(name, link[0])

    def _close(self, element: _Element) -> None:
        if element.href is not None:
            self._links.remove(element)
        if element.href is not None and (found := account_link(element.href)):
            name = " ".join("".join(element.link_text).split())
            if 0 < len(name) <= _LONGEST_NAME:
                element.links.append(_Link(name, found[0], found[1], element.actor))
        if element.kind is not None:
            self._resolve(element)
        parent = self.stack[-1]
        parent.images += element.images
        parent.links += element.links

    def _story(self) -> _Element | None:
        return next((e for e in reversed(self.stack) if e.kind == "story"), None)

    def _resolve(self, element: _Element, page: bool = False) -> None:
        """Name the images of a story or a comment (or what is left of the page): a profile
        picture by the name it is labelled with, every other image by who posted the story or
        wrote the comment. A comment's images are its author's or no one's, never the story's."""
        story = element if element.kind == "story" else self._story()
        author = self._author(element)
        post_url = _post_url(story.ft) if story is not None else None
        left = []
        for image in element.images:
            fields = None
            if image.profile and (pictured := self._pictured(image, element.links)) is not None:
                fields = post(pictured.name, pictured.url, pictured.url or None, None, pictured.name, pictured.account_id)
                fields["shown_as"] = PROFILE_PICTURE
            elif not image.profile and author is not None:
                owner_id = identifier(element.ft.get("content_owner_id_new")) if element.kind == "story" else None
                fields = post(author.name, author.url, post_url, None, author.name, author.account_id or owner_id)
                fields["posted_at"] = _posted(story.ft) if story is not None else None
                fields = _shared(fields, author, _photo_owner(image.anchor), element.links)
            elif page and not image.profile and (group := self._group(image.anchor)) is not None:
                fields = post(group.name, group.url, group.url, None, group.name, group.account_id)
            if fields is None:
                left.append(image)
            else:
                self.found.append((image.url, fields, _record(element, image, fields)))
        element.images = [] if element.kind == "comment" else left
        if element.kind == "comment":
            for link in element.links:
                link.in_comment = True

    def _author(self, element: _Element) -> _Link | None:
        """Who posted a story (its header's first account link) or wrote a comment (the name its
        picture is labelled with; else its first link). A link elsewhere in a story (a mention, a
        tag, a shared page) or in a comment (who it mentions) is not its author."""
        own = [link for link in element.links if not link.in_comment]
        if element.kind == "story":
            return next((link for link in own if link.actor), None)
        if element.kind == "comment":
            labelled = next((image for image in element.images if image.profile and _labelled(image)), None)
            return self._pictured(labelled, own) if labelled is not None else next(iter(own), None)
        return None

    def _pictured(self, image: _Image, links: list[_Link]) -> _Link | None:
        """The account a profile picture is of: the link its label names; else that name, at the
        address the page's JSON-LD gives it or its ring's id makes. Unlabelled: the first link."""
        if not _labelled(image):
            return next((link for link in links if not link.in_comment), None)
        name = _without_suffix(image.label or "")
        if (link := next((link for link in links if link.name == name), None)) is not None:
            return replace(link, account_id=link.account_id or image.ring)
        address = self.addresses.get(name) or (f"https://www.facebook.com/profile.php?id={image.ring}" if image.ring else "")
        return _Link(name, address, image.ring, False)

    def _group(self, anchor: str | None) -> _Link | None:
        """The group a page is of, when a picture of the page (its cover) links to it."""
        try:
            parts = [part for part in urlsplit(anchor or "").path.split("/") if part]
        except ValueError:
            return None
        title, page_url = self.meta.get("og:title"), self.meta.get("og:url", "")
        if len(parts) != 2 or parts[0] != "groups" or not title or "/groups/" not in page_url:
            return None
        return _Link(title, f"https://www.facebook.com/groups/{parts[1]}/", identifier(parts[1]), False)


def _photo_owner(anchor: str | None) -> tuple[str, str | None] | None:
    """(profile address, id) of the account a photo's link names as its owner: `/<name>/photos/…`,
    `/photo.php?fbid=…&id=<id>`."""
    try:
        split = urlsplit(anchor or "")
    except ValueError:
        return None
    parts = [part for part in split.path.split("/") if part]
    if len(parts) >= 2 and parts[1] == "photos":
        return account_link("/" + parts[0])
    if parts == ["photo.php"] and (owner := identifier(next(iter(parse_qs(split.query).get("id", [])), None))):
        return f"https://www.facebook.com/profile.php?id={owner}", owner
    return None


def _shared(fields: Fields, author: _Link, owner: tuple[str, str | None] | None, links: list[_Link]) -> Fields:
    """`fields` of a photo a story shares from another account (its link names another owner):
    who posted it first, by the name the story links it with."""
    if owner is None or owner[0] == author.url or (owner[1] is not None and owner[1] == author.account_id):
        return fields
    first = next((link for link in links if link.url == owner[0] or (owner[1] and link.account_id == owner[1])), None)
    return reposted(fields, "share", first.name, first.url, None) if first is not None else fields


def _labelled(image: _Image) -> bool:
    return bool(image.label and image.label.endswith(_PICTURE_SUFFIXES))


def _without_suffix(label: str) -> str:
    for suffix in _PICTURE_SUFFIXES:
        if label.endswith(suffix):
            return label[: -len(suffix)].strip()
    return label.strip()


def _post_url(ft: dict) -> str | None:
    post_id = identifier(ft.get("top_level_post_id"))
    if post_id is None:
        return None
    page_id = identifier(ft.get("page_id"))
    if any(page.get("page_id_type") == "group" for page in dicts(ft.get("page_insights"))) and page_id:
        return f"https://www.facebook.com/groups/{page_id}/permalink/{post_id}/"
    owner = identifier(ft.get("content_owner_id_new")) or page_id
    return f"https://www.facebook.com/story.php?story_fbid={post_id}&id={owner}" if owner \
        else f"https://www.facebook.com/{post_id}"


def _posted(ft: dict) -> str | None:
    for page in dicts(ft.get("page_insights")):
        if posted := when(get(page, "post_context", "publish_time")):
            return posted.isoformat()
    return None


def _record(element: _Element, image: _Image, fields: Fields) -> str:
    """What the page said of the image, as compact JSON: the evidence of the attribution."""
    return json.dumps({"in": element.kind or "page", "data-ft": element.ft or None,
                       "account": {"name": fields.get("account"), "url": fields.get("account_url")},
                       "image": {"src": image.url, "label": image.label}},
                      ensure_ascii=False, separators=(",", ":"))[:4000]


def read_page(html: str) -> Iterator[tuple[str, Fields, str]]:
    """Every (image address, fields, record) a Facebook page's HTML names."""
    page = _Page()
    with contextlib.suppress(AssertionError, ValueError):  # a page the parser gives up on: what it read stands
        page.feed(html)
    page.finish()
    yield from page.found
