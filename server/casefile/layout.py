"""What a case file holds, and where each part sits inside its ZIP.

Shared by `case` (which collects and packs) and `report` (which writes for a reader), so
that neither imports the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path


@dataclass
class Case:
    """What a case file shows, read from the store: alerts with their sightings and photos."""

    alerts: list[dict]  # each with "sightings" (list of dict) and "thumbnail" (JPEG bytes or None)
    evidence_dir: Path
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    # A whole case (`sentinelle export --case`): what the store keeps of it (Store.case_record:
    # its alerts, accounts watched, reports and account events), led by its timeline.
    story: dict | None = None


def photo_path(alert: dict) -> str:
    return f"photos/protected-{alert['photo_id']}.jpg"


def evidence_path(sighting: dict) -> str:
    return f"evidence/{sighting['evidence_file']}"


def utc(moment: datetime) -> str:
    """A moment as the case file writes it: UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
