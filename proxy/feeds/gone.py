"""Whether a network's answer says an account is gone: taken down, suspended or deleted.

When the parent (or anyone in the house) opens the profile of an account she reported, the
network's answer tells whether it still exists. Each network says so its own way: an HTTP
status, a field of its JSON, or a sentence on its page. `profile_of` says which account a
request asks about (its profile page, or the call its page makes for the profile); then
`account_gone` reads the answer. Pure: URLs, statuses and bytes in, a verdict out. The proxy
hands in only the answers about accounts the store says were reported (privacy: every other
profile is never read), and only those it reads are kept, as evidence of the takedown.

What each network answers is taken from the public scrapers that follow them (named beside
each rule, as docs/feed-shapes.md does); tests/fixtures/gone/ holds one answer of each.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, unquote, urlsplit

# Only the start of a page is read for its sentence: a "not available" page is small, and a
# live profile's page is not to be searched to its end for words a post could hold.
READ_BYTES = 256 * 1024
# A gone answer is kept as evidence, up to this much (the page that said so).
KEEP_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Gone:
    """A network's answer that an account no longer exists, kept as evidence."""

    platform: str
    handle: str
    why: str  # what said so, as the network said it: "HTTP 404", a field, or the sentence on the page
    url: str
    status: int
    content_type: str
    body: bytes  # the answer as received (decoded), at most KEEP_BYTES
    seen_at: datetime | None = None  # stamped by the watch when the answer reached it
    # How a parent is told `why`: a key of Sentinelle's words (server/words.py), which puts
    # `why` in a sentence of her language; None: `why` is shown as it is ("HTTP 404").
    means: str | None = None


# -- which account a request asks about -------------------------------------------------

_HANDLE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# First path segments that are the network's own pages, never an account.
_NOT_ACCOUNTS = {
    "instagram": {"p", "reel", "reels", "tv", "explore", "accounts", "stories", "direct", "api",
                  "graphql", "web", "about", "legal", "developer", "static", "challenge"},
    "x": {"home", "explore", "i", "search", "notifications", "messages", "settings", "compose", "login",
          "logout", "signup", "tos", "privacy", "hashtag", "intent", "share"},
    "facebook": {"photo", "photo.php", "watch", "groups", "marketplace", "gaming", "events", "pages",
                 "help", "login", "settings", "stories", "reel", "share", "sharer", "api", "ajax",
                 "profile.php", "permalink.php", "story.php", "notifications", "messages", "friends"},
    "pinterest": {"pin", "search", "ideas", "today", "resource", "_ngjs", "settings", "business",
                  "login", "about", "explore"},
}


def _handle(value: str | None) -> str | None:
    value = unquote(value or "").strip().lstrip("@")
    return value if _HANDLE.match(value) else None


def _one_segment(path: str, platform: str) -> str | None:
    """The handle of a profile address `/<handle>` or `/<handle>/`, not a page of the network's own."""
    parts = [p for p in path.split("/") if p]
    if len(parts) != 1 or parts[0].lower() in _NOT_ACCOUNTS.get(platform, ()):
        return None
    return _handle(parts[0])


def _instagram(path: str, query: dict[str, list[str]]) -> str | None:
    # The profile page, and the call it makes for the profile (instaloader `Profile.from_username`,
    # gallery-dl `InstagramRestAPI.user_by_name`: /api/v1/users/web_profile_info/?username=).
    if path.rstrip("/") == "/api/v1/users/web_profile_info":
        return _handle(query.get("username", [None])[0])
    return _one_segment(path, "instagram")


def _x(path: str, query: dict[str, list[str]]) -> str | None:
    # The profile page, and GraphQL UserByScreenName (gallery-dl `TwitterAPI.user_by_screen_name`),
    # whose variables name the account.
    if path.endswith("/UserByScreenName"):
        try:
            variables = json.loads(query.get("variables", ["{}"])[0])
        except ValueError:
            return None
        return _handle(variables.get("screen_name")) if isinstance(variables, dict) else None
    return _one_segment(path, "x")


def _tiktok(path: str, query: dict[str, list[str]]) -> str | None:
    # The profile page /@handle, and /api/user/detail/?uniqueId= (TikTok-Api `User.info`).
    if path.rstrip("/") == "/api/user/detail":
        return _handle(query.get("uniqueId", [None])[0])
    parts = [p for p in path.split("/") if p]
    return _handle(parts[0][1:]) if len(parts) == 1 and parts[0].startswith("@") else None


def _reddit(path: str, query: dict[str, list[str]]) -> str | None:
    # /user/<name>/, /u/<name>/ and /user/<name>/about.json (PRAW `Redditor._fetch`).
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] in ("user", "u") and (len(parts) == 2 or parts[2:] == ["about.json"]):
        return _handle(parts[1])
    return None


def _facebook(path: str, query: dict[str, list[str]]) -> str | None:
    return _one_segment(path, "facebook")


def _pinterest(path: str, query: dict[str, list[str]]) -> str | None:
    return _one_segment(path, "pinterest")


def _snapchat(path: str, query: dict[str, list[str]]) -> str | None:
    parts = [p for p in path.split("/") if p]
    return _handle(parts[1]) if len(parts) == 2 and parts[0] == "add" else None


_PROFILES: dict[str, Callable[[str, dict[str, list[str]]], str | None]] = {
    "instagram": _instagram, "x": _x, "tiktok": _tiktok, "reddit": _reddit,
    "facebook": _facebook, "pinterest": _pinterest, "snapchat": _snapchat,
}


def profile_of(platform: str, url: str) -> str | None:
    """The account whose profile `url` asks `platform` for (its page, or its page's call for
    it), or None."""
    reader = _PROFILES.get(platform)
    if reader is None:
        return None
    parts = urlsplit(url)
    return reader(parts.path, parse_qs(parts.query))


# -- what the answer says ------------------------------------------------------------------

# Sentences the networks put on the page of an account that is no more. Only on a page the
# request asked for as a profile, in the page's first READ_BYTES.
_SENTENCES = {
    # The page Instagram serves for a removed or unknown account (its <title> and its text).
    "instagram": ("Sorry, this page isn't available", "Sorry, this page isn’t available",
                  "Page not found • Instagram"),
    # Facebook's page for a profile that was removed or is hidden from the viewer.
    "facebook": ("This content isn't available right now", "This content isn’t available right now",
                 "Ce contenu n’est pas disponible pour le moment", "Ce contenu n'est pas disponible pour le moment"),
}
# What `why` means, when it needs words (`Gone.means`): the sentence on the page (the words quote
# it), or a status or a field that says there is no such account, or that it was banned or suspended.
PAGE_SAYS, NO_SUCH_ACCOUNT, BANNED, SUSPENDED = "gone_page_says", "gone_no_such_account", "gone_banned", "gone_suspended"
MEANINGS = (PAGE_SAYS, NO_SUCH_ACCOUNT, BANNED, SUSPENDED)
# TikTok's statusCode for a profile that does not exist, and for one that was banned
# (webapp.user-detail in the page's __UNIVERSAL_DATA_FOR_REHYDRATION__, and /api/user/detail/).
TIKTOK_GONE: dict[object, str] = {10202: NO_SUCH_ACCOUNT, 10221: BANNED}
# What said an account is gone, as the network said it, and what it means (`Gone.means`).
Reason = tuple[str, str | None]
_TIKTOK_DATA = re.compile(rb'<script[^>]*id="__UNIVERSAL_DATA_FOR_REHYDRATION__"[^>]*>(.*?)</script>', re.S)


def account_gone(platform: str, url: str, status: int, content_type: str, body: bytes) -> Gone | None:
    """Whether the answer `status`/`body` to a request for an account's profile (`url`) says
    the account is gone: a `Gone` naming it and what said so, else None (it is there, or the
    answer says nothing either way: a login wall, a rate limit, an error of the network's)."""
    handle = profile_of(platform, url)
    if handle is None:
        return None
    found = _why(platform, status, content_type, body)
    if found is None:
        return None
    why, means = found
    return Gone(platform=platform, handle=handle, why=why, url=url, status=status,
                content_type=content_type, body=body[:KEEP_BYTES], means=means)


def _why(platform: str, status: int, content_type: str, body: bytes) -> Reason | None:
    # Every network answers a profile that does not exist (any more) with 404 on its pages and
    # its profile calls; 410 is "gone" in so many words. Other statuses (401, 403, 429, 5xx)
    # say nothing of the account.
    if status in (404, 410):
        return f"HTTP {status}", None
    if status != 200:
        return None
    head = body[:READ_BYTES]
    if "json" in content_type.lower():
        return _json_says(platform, _json(head))
    if platform == "tiktok" and (found := _TIKTOK_DATA.search(head)):
        scope = _json(found[1])
        detail = scope.get("__DEFAULT_SCOPE__", {}).get("webapp.user-detail") if isinstance(scope, dict) else None
        return _tiktok_says(detail)
    text = head.decode("utf-8", "replace")
    return next(((s, PAGE_SAYS) for s in _SENTENCES.get(platform, ()) if s in text), None)


def _json(data: bytes) -> object:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _json_says(platform: str, doc: object) -> Reason | None:
    if not isinstance(doc, dict):
        return None
    data = doc.get("data")
    if platform == "instagram":
        # web_profile_info of an unknown account: {"data": {"user": null}, "status": "ok"}.
        if isinstance(data, dict) and "user" in data and data["user"] is None:
            return "data.user is null", NO_SUCH_ACCOUNT
    elif platform == "x":
        # UserByScreenName: a suspended account is a UserUnavailable result with its reason;
        # one that does not exist (any more) is an empty `data` (gallery-dl `_user_by_screen_name`).
        result = data.get("user", {}).get("result") if isinstance(data, dict) and isinstance(data.get("user"), dict) else None
        if isinstance(result, dict) and result.get("__typename") == "UserUnavailable":
            return (f"UserUnavailable ({result['reason']})" if result.get("reason") else "UserUnavailable"), None
        if data == {} and not doc.get("errors"):
            return "data is empty", NO_SUCH_ACCOUNT
    elif platform == "tiktok":
        return _tiktok_says(doc)
    # Reddit's about.json of a suspended account: {"kind": "t2", "data": {"name": …, "is_suspended": true}}.
    elif platform == "reddit" and doc.get("kind") == "t2" and isinstance(data, dict) and data.get("is_suspended") is True:
        return "is_suspended", SUSPENDED
    return None


def _tiktok_says(detail: object) -> Reason | None:
    if not isinstance(detail, dict) or (detail.get("userInfo") or {}).get("user"):
        return None
    code = detail.get("statusCode")
    return (f"statusCode {code}", TIKTOK_GONE[code]) if code in TIKTOK_GONE else None
