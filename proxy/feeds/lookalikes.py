"""Accounts a feed shows whose names look like a child's: the watch list's candidates.

The feed readers name every account they see (posters, re-posters, profiles, search
results, suggestions, comment authors: proxy/feeds/attribution.py); each is checked here against
the children's names and handles (proxy/feeds/names.py). What comes out is a `Lookalike`: the
account as the feed showed it, what of it resembles whom, and the feed record as evidence.
Every other account is forgotten with the feed. Pure, runs in a worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime

from sentinelle.proxy.feeds.attribution import Attribution
from sentinelle.proxy.feeds.names import NameWatch, Resemblance


@dataclass(frozen=True)
class Lookalike:
    """An account seen in a feed whose handle or display name looks like a child's."""

    platform: str
    handle: str
    display_name: str | None
    profile_url: str | None
    resemblance: Resemblance
    feed_url: str
    record: str  # the feed record that showed the account: the evidence
    seen_at: datetime | None = None  # stamped by the watcher when the feed reached it

    def as_dict(self) -> dict:
        return asdict(self) | {"seen_at": self.seen_at.isoformat() if self.seen_at else None}


def _accounts(attributions: Iterable[Attribution]) -> Iterator[tuple[str, str | None, str | None, Attribution]]:
    """(handle, display name, profile URL, attribution) of every account the attributions name."""
    for attribution in attributions:
        if attribution.account:
            yield attribution.account, attribution.display_name, attribution.account_url, attribution
        if attribution.first_account:
            yield attribution.first_account, None, attribution.first_account_url, attribution


def find_lookalikes(attributions: Iterable[Attribution], watch: NameWatch) -> list[Lookalike]:
    """The accounts among `attributions` that look like a child's, each once (by handle)."""
    found: dict[tuple[str, str], Lookalike] = {}
    for handle, display_name, profile_url, attribution in _accounts(attributions):
        key = (attribution.platform, handle.lower())
        known = found.get(key)
        if known is not None and (known.display_name or not display_name):
            continue  # seen already, with as much to say of it
        if (resemblance := watch.check(attribution.platform, handle, display_name or "")) is None:
            continue
        found[key] = Lookalike(
            platform=attribution.platform, handle=handle, display_name=display_name,
            profile_url=profile_url, resemblance=resemblance, feed_url=attribution.feed_url,
            record=attribution.record,
        )
    return list(found.values())
