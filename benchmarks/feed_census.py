"""What a feed response shows, counted as issue 29 counts it: the distinct images on the
platform's image CDN, each a post's image or an account's own picture; videos, sounds,
scripts and the sites' own icons left out. `python -m benchmarks.feeds` measures the readers
against it (how many of these images a reader names an account for).

The count reads the body as text, not as the readers do: every address of the CDN wherever it
sits (JSON, escaped JSON, an `<img src>`, a CSS `url(…)` in a style, a `<meta>`), so that an
image no reader knows the place of is counted all the same. Two addresses of one image (two
sizes, two signatures) are one image: they share their key (proxy/feeds/image_keys.py).

What is left out, and why, platform by platform (`kind_of`):
- everywhere: addresses of sounds, videos and their streams (`.mp4`, `.m4a`, `.mp3`, `.m3u8`,
  `mime_type=video_…`), scripts and style sheets;
- Instagram and Facebook: `static.*` (the sites' scripts and icons), `video.*`; the type in the
  path says a video (`t50.…-16`, `…/t16/`) or a sound (`t39.12897-…`);
- X: hosts other than `pbs.twimg.com` (`abs.twimg.com`: the site's icons and emoji;
  `video.twimg.com`);
- TikTok: hosts other than the image servers (`p16-…`, `p19-…`, `p77-…`): videos and the
  site's scripts; and the site's own pictures, which its servers send as stored (unsigned, no
  `~` template: hashtags' pictures, labels), where members' images are signed or templated;
- Reddit: `v.redd.it` (videos), `www.redditstatic.com` and `emoji.redditmedia.com` (the site's
  and the communities' icons), award images;
- Pinterest: `s.pinimg.com` (the site's icons and default pictures), `v1.pinimg.com` (videos),
  `/favicons/` (the icons of the sites pins link to).

An account's own picture: Instagram `t51.2885-19`, Facebook a type ending in `-1`, X
`profile_images/` and `profile_banners/`, TikTok `…-avt-…`, Reddit `styles.redditmedia.com` (users'
and communities' icons and banners) and `i.redd.it/snoovatar/`, Pinterest `<n>x<n>_RS/`. Everything else counted is a
post's image (covers, thumbnails, first frames and link cards included). Pure functions.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import urlsplit

from sentinelle.proxy.feeds.attribution import image_key

POST, ACCOUNT = "post", "account"
# Real responses public projects captured (../shared/datasets/feeds/<platform>/, their sources in
# each folder's SOURCES.tsv): read from there only, never copied into the project.
CAPTURES = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "feeds"

# An address as a body may write it: JSON-escaped slashes, CSS-escaped colons.
_ADDRESS = re.compile(r"https?(?::|\\3a ?)//[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
                      r"(?:[/?][^\s\"'<>()\\]*(?:\\{1,2}(?:u00[0-9a-fA-F]{2}|[0-9a-fA-F]{2} ?)[^\s\"'<>()\\]*)*)?")
_JSON_ESCAPE = re.compile(r"\\{1,2}u00([0-9a-fA-F]{2})")
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6}) ?")
_NOT_IMAGES = re.compile(r"\.(mp4|m4a|m4v|mp3|aac|m3u8|mpd|ts|webm|js|css|woff2?|ttf|json|vtt|srt)$", re.IGNORECASE)
_MEDIA_QUERY = re.compile(r"mime_type=(video|audio)|[?&]fm=mp4|[?&]format=mp4", re.IGNORECASE)
_FB_TYPE = re.compile(r"/t\d+\.(\d+)-(\d+)/")
_TIKTOK_IMAGES = re.compile(r"^p\d+-")
_PINTEREST_ACCOUNT = re.compile(r"^\d+x\d+_RS$")


def addresses(text: str) -> set[str]:
    """Every absolute address in `text`, unescaped (JSON, HTML entities, CSS)."""
    found = set()
    for match in _ADDRESS.finditer(text.replace("\\\\/", "/").replace("\\/", "/")):
        url = match.group(0)
        url = _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), url)
        url = _CSS_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), url)
        # An address inside an attribute ends at its (escaped) quote: `url(&#039;…&#039;)`.
        found.add(re.split(r"[\"']", html.unescape(url), maxsplit=1)[0])
    return found


def _on(host: str, *domains: str) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def kind_of(platform: str, url: str) -> str | None:
    """POST or ACCOUNT for an image of `platform`'s image CDN, None for anything else (another
    host, a video or sound, a script, one of the site's own icons)."""
    try:
        split = urlsplit(url)
    except ValueError:
        return None
    host, path = (split.hostname or "").lower(), split.path
    if _NOT_IMAGES.search(path) or _MEDIA_QUERY.search(split.query):
        return None
    if platform in ("instagram", "facebook"):
        return _meta_kind(platform, host, path)
    if platform == "x":
        if host != "pbs.twimg.com":
            return None
        return ACCOUNT if path.startswith(("/profile_images/", "/profile_banners/")) else POST
    if platform == "tiktok":
        if not (_on(host, "tiktokcdn.com", "tiktokcdn-us.com", "tiktokcdn-eu.com", "ibyteimg.com")
                and _TIKTOK_IMAGES.match(host)):
            return None
        if "-sign" not in host and "~" not in path:
            return None  # one of the site's own pictures, sent as stored
        return ACCOUNT if "-avt-" in path else POST
    if platform == "reddit":
        return _reddit_kind(host, path)
    if platform == "pinterest":
        if host != "i.pinimg.com" or path.startswith("/favicons/"):
            return None
        first = path.strip("/").split("/", 1)[0]
        return ACCOUNT if _PINTEREST_ACCOUNT.match(first) else POST
    if platform == "snapchat":
        return POST if _on(host, "sc-cdn.net") else None
    return None


def _meta_kind(platform: str, host: str, path: str) -> str | None:
    if not _on(host, "cdninstagram.com", "fbcdn.net") or host.startswith(("static.", "video.")):
        return None
    if "/rsrc.php" in path or "/t16/" in path:
        return None
    if host.startswith("external.") or path.endswith("/safe_image.php"):
        return POST  # a link's picture, shown by the story that shares the link
    kind = _FB_TYPE.search(path)
    if kind is None:
        return POST
    family, variant = kind.groups()
    if family == "12897" or (platform == "instagram" and variant == "16"):
        return None  # a sound; a video
    if platform == "instagram":
        return ACCOUNT if variant == "19" else POST
    return ACCOUNT if variant == "1" else POST


def _reddit_kind(host: str, path: str) -> str | None:
    if host in ("i.redd.it", "preview.redd.it", "external-preview.redd.it", "i.redditmedia.com",
                "g.redditmedia.com", "b.thumbs.redditmedia.com", "a.thumbs.redditmedia.com"):
        if "/award_images/" in path:
            return None
        return ACCOUNT if path.startswith("/snoovatar/") else POST
    if host == "styles.redditmedia.com":
        return ACCOUNT  # users' and communities' icons and banners
    return None


def census(platform: str, body: bytes) -> dict[str, tuple[str, str]]:
    """The distinct images a response shows: image key → (POST or ACCOUNT, one of its addresses)."""
    found: dict[str, tuple[str, str]] = {}
    for url in sorted(addresses(body.decode("utf-8", errors="replace"))):
        kind = kind_of(platform, url)
        if kind is not None:
            found.setdefault(image_key(url), (kind, url))
    return found


def captures(folder: Path = CAPTURES) -> list[tuple[str, Path]]:
    """(platform, file) of every capture under `folder`, one folder a platform; none if absent."""
    if not folder.is_dir():
        return []
    return [(platform.name, path) for platform in sorted(folder.iterdir()) if platform.is_dir()
            for path in sorted(platform.iterdir()) if path.suffix in (".json", ".html")]


def content_type(path: Path) -> str:
    """The type the platform sent a capture with, as far as its file tells."""
    return "text/html" if path.suffix == ".html" else "application/json"
