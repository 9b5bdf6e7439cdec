"""A protected photo seen on the wire, and the counts of what the watcher looked at.

Plain data, no mitmproxy: the store takes a `Sighting` as it is, and tests build one by hand.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sentinelle.proxy.feeds.attribution import Attribution

if TYPE_CHECKING:  # a sighting's reader (the store, `sentinelle log`) needs no matching engine
    from sentinelle.proxy.engine.matcher import Match

# The response headers kept as evidence: when and by whom the image was served, and the
# CDN's own ids of the request, which a platform can trace in its logs. Never cookies.
EVIDENCE_HEADERS = frozenset({
    "date", "server", "content-type", "content-length", "last-modified", "etag", "age",
    "via", "x-cache", "cf-ray", "x-amz-cf-id", "x-amz-cf-pop", "x-served-by", "x-timer",
    "x-request-id", "x-fb-trip-id", "x-fb-debug", "x-ig-origin-region", "x-fb-connection-quality",
    "x-tt-logid", "x-tt-trace-id", "x-response-cache", "x-cdn", "x-connection-hash",
})
_CDN_PREFIXES = ("x-fb-", "x-ig-", "x-tt-", "x-cdn", "x-amz-cf-")


def evidence_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The headers of an image response worth keeping as evidence, lower-cased, each at most 1 KB."""
    kept: dict[str, str] = {}
    for name, value in headers:
        name = name.lower()
        if name in EVIDENCE_HEADERS or name.startswith(_CDN_PREFIXES):
            kept[name] = f"{kept[name]}, {value}"[:1024] if name in kept else value[:1024]
    return kept


@dataclass(frozen=True)
class Sighting:
    """One copy of a protected photo that a social network sent to the browser."""

    seen_at: datetime  # UTC, when the response reached the proxy
    image_url: str
    page_url: str | None  # the page it was shown on (Referer, else Origin), when the browser said
    host: str
    platform: str
    content_type: str
    body: bytes  # exactly the bytes the browser received: the evidence
    match: Match
    response_headers: Mapping[str, str] = field(default_factory=dict)  # evidence_headers() of the response
    attribution: Attribution | None = None  # who posted it, when a feed named the image

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass
class WatchCounts:
    """What the watcher did with the images it saw: counts only, never what they showed."""

    seen: int = 0  # image responses from social hosts
    checked: int = 0  # fingerprinted and compared
    matched: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason → count
    restarts: int = 0  # the checker's worker pool replaced after a worker died

    def summary(self) -> str:
        """One line for the log, e.g. `checked 12, matched 1, skipped 2 (empty: 2)`."""
        line = f"checked {self.checked}, matched {self.matched}"
        if skipped := sum(self.skipped.values()):
            reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(self.skipped.items()))
            line += f", skipped {skipped} ({reasons})"
        if self.restarts:
            line += f", checker restarted: {self.restarts}"
        return line

    def as_dict(self) -> dict[str, object]:
        return {
            "seen": self.seen,
            "checked": self.checked,
            "matched": self.matched,
            "skipped": dict(self.skipped),
            "restarts": self.restarts,
        }
