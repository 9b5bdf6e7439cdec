"""A channel is an Apprise URL: what Sentinelle hands Apprise to reach the parent, and what it
shows of it.

Apprise (https://github.com/caronc/apprise) speaks to ntfy, Pushover, Telegram, Signal,
Matrix, Gotify, Discord, e-mail and a hundred more, each with a URL of its own. Sentinelle
writes no notifier: it checks a URL with Apprise (`check`), sends a message through it
(`send`, synchronous: call it in a thread) and says why a message did not go.

A URL holds secrets (a token, a password, a private topic). What is shown of it, anywhere
(`sentinelle notify list`, the API, the options page, the log), is `shown`: Apprise's own
private form, its secrets masked, with the parts it leaves whole (an ntfy topic, a recipient)
shortened too, and no query. A failure's reason is scrubbed of the URL's secrets before it is
kept or logged. Apprise's own lines are kept out of Sentinelle's output for the same reason.

Apprise is loaded when a URL is first checked or a message first sent, in the thread that
does it: a third of a second and some 40 MB that a PC without a channel never pays, and that
the proxy's loop never waits for (tests/server/cli/test_startup.py: the commands that neither
check nor send never load it).
"""

from __future__ import annotations

import functools
import logging
import re
from types import ModuleType
from urllib.parse import parse_qsl, unquote, urlsplit

from sentinelle.server.notify.news import Message

# Where the parent finds each service's URL (linked from the options page and the README too).
SYNTAX = "https://github.com/caronc/apprise/wiki"
# What a kept or logged reason may hold, at most.
MAX_REASON = 300
# A host shown whole: a name with a dot, an IPv4 or IPv6 address, localhost. Anything else in
# that place is a token (tgram://TOKEN/…, ntfy://TOPIC).
_HOSTNAME = re.compile(r"^(localhost|\d{1,3}(\.\d{1,3}){3}|[0-9a-f]*:[0-9a-f:.]+|([a-z0-9-]+\.)+[a-z]{2,63})$",
                       re.IGNORECASE)
_PORT = re.compile(r"^\d{1,5}$")
_ABBREVIATED = re.compile(r"^.\.\.\..$")


class ChannelError(Exception):
    """Apprise knows no service by this URL; the message says so."""


@functools.cache
def _apprise() -> ModuleType:
    """Apprise, loaded on first use. Its lines, and those of the HTTP library under it, name what
    they reach (a token in a path or a host): they never reach Sentinelle's output; a failure
    is said by `send`, scrubbed."""
    for name in ("apprise", "urllib3"):
        logging.getLogger(name).propagate = False
        logging.getLogger(name).addHandler(logging.NullHandler())
    import apprise

    return apprise


@functools.cache
def _asset():
    return _apprise().AppriseAsset(app_id="Sentinelle", app_desc="Sentinelle")


def check(url: str) -> str:
    """The URL as it may be shown; ChannelError when Apprise cannot use it."""
    apprise = _apprise()
    url = url.strip()
    plugin = apprise.Apprise.instantiate(url, asset=_asset()) if url else None
    if plugin is None:
        from apprise.manager_plugins import NotificationManager

        scheme = urlsplit(url).scheme.lower() if "://" in url else ""
        why = ("it is not a URL" if not scheme else f"{scheme}:// is no service Apprise knows"
               if scheme not in NotificationManager() else f"a part of this {scheme}:// URL is missing or wrong")
        raise ChannelError(f"Apprise cannot use this URL: {why}. Each service's URL: {SYNTAX}")
    return shown(plugin.url(privacy=True))


def send(url: str, message: Message) -> str | None:
    """Send `message` through the channel: None once it is accepted, or why not (no secret in it)."""
    apprise = _apprise()
    sender = apprise.Apprise(asset=_asset())
    try:
        if not sender.add(url):
            return "Apprise cannot use this URL any more (a newer Apprise?): add the channel again"
        result = sender.notify(body=message.body, title=message.title, body_format=apprise.NotifyFormat.TEXT)
    except Exception as e:  # noqa: BLE001 -- Apprise's own failure is a channel that failed, not the sender's end
        return scrub(f"Apprise failed: {e!r}", url)[:MAX_REASON]
    if result:
        return None
    reasons = list(dict.fromkeys(entry.message for entry in result.logs()))
    return scrub("; ".join(reasons) or "the service refused the message", url)[:MAX_REASON]


def shown(private_url: str) -> str:
    """Apprise's private form of a URL (password masked) as Sentinelle shows it: no query, and
    every part that may be a secret shortened to its first and last characters."""
    parts = urlsplit(private_url)
    host = parts.hostname or ""
    netloc = parts.netloc.rpartition("@")
    login = netloc[0] + "@" if netloc[1] else ""
    port = f":{parts.port}" if parts.port else ""
    host = host if _HOSTNAME.match(host) or _ABBREVIATED.match(host) else _abbreviated(host)
    host = f"[{host}]" if ":" in host else host
    path = "/".join(_abbreviated(unquote(segment)) for segment in parts.path.split("/"))
    return f"{parts.scheme}://{login}{host}{port}{path.rstrip('/')}"


def scrub(text: str, url: str) -> str:
    """`text` without any of the URL's parts that may be secret (longest first)."""
    parts = urlsplit(url)
    pieces = {*re.split(r"[@:]", parts.netloc), *parts.path.split("/"), *(value for _, value in parse_qsl(parts.query))}
    pieces = {p for p in pieces if p and not _HOSTNAME.match(p) and not _PORT.match(p)}
    for piece in sorted(pieces | {unquote(p) for p in pieces}, key=len, reverse=True):
        if len(piece) >= 3:
            text = text.replace(piece, _abbreviated(piece))
    return text


# The name a channel gets by default, for services whose URL scheme a parent would not read.
_SERVICE_NAMES = {"mailto": "e-mail", "mailtos": "e-mail", "ntfys": "ntfy", "tgram": "telegram",
                  "pover": "pushover", "gotifys": "gotify", "matrixs": "matrix", "signals": "signal"}


def default_name(url: str, taken: set[str]) -> str:
    """A name for a channel the parent did not name: its service ("ntfy", "e-mail"), numbered
    when taken."""
    scheme = urlsplit(url.strip()).scheme.lower() or "channel"
    base = _SERVICE_NAMES.get(scheme, scheme)
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def _abbreviated(piece: str) -> str:
    if len(piece) <= 2 or _ABBREVIATED.match(piece):
        return piece
    return f"{piece[0]}...{piece[-1]}"
