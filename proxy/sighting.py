"""A protected photo seen on the wire, and the counts of what the watcher looked at.

Plain data, no mitmproxy: the store takes a `Sighting` as it is, and tests build one by hand.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from proxy.matcher import Match


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

    def summary(self) -> str:
        """One line for the log, e.g. `checked 12, matched 1, skipped 2 (empty: 2)`."""
        line = f"checked {self.checked}, matched {self.matched}"
        if skipped := sum(self.skipped.values()):
            reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(self.skipped.items()))
            line += f", skipped {skipped} ({reasons})"
        return line

    def as_dict(self) -> dict[str, object]:
        return {
            "seen": self.seen,
            "checked": self.checked,
            "matched": self.matched,
            "skipped": dict(self.skipped),
        }
