"""A case's timeline: every account, sighting, report, takedown and return, in order, in UTC and
in the parent's local time; the accounts of the case one by one; and how long each report has
gone unanswered. Its sentences are the case file's words (server/words.py), in English
or French.

Pure: made from what the store keeps of a case (`Store.case_record`), at a given moment. Read by
`sentinelle case` and by the case file's first page (server/casefile/report.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from sentinelle.server.words import PLATFORM_NAMES, WORDS, came_back, in_days, looks_like, say, why_gone

# After this many days without an answer, a report's next steps are the country's channels
# (the parent can choose another number: `--escalate-after`).
ESCALATE_AFTER_DAYS = 7


def platform_name(platform: str | None) -> str:
    return PLATFORM_NAMES.get(platform or "", platform or "?")


def channel_name(channel: str, lang: str = "en") -> str:
    """Where a report went, with the word that leads to it: "to Pharos", "à Pharos"."""
    key = f"ch_{channel}"
    return say(key, lang) if key in WORDS else say("ch_other", lang) + f" ({channel})"


def accounts(record: dict, lang: str = "en") -> list[dict]:
    """The accounts of a case, in the order they were first seen: platform, handle, display
    name, first and last seen, the photos of hers it showed, what made it look like her, and
    what became of it (reported, taken down, came back as)."""
    found: dict[tuple[str, str], dict] = {}

    def account(platform: str, handle: str) -> dict:
        return found.setdefault((platform, handle.lower()), {
            "platform": platform, "handle": handle, "display_name": None, "first_seen": None, "last_seen": None,
            "photos": [], "alerts": [], "looks_like": None, "reports": [], "taken_down": None, "returned": None})

    for alert in record["alerts"]:
        if not alert.get("account"):
            continue
        a = account(alert["platform"], alert["account"])
        a["display_name"] = a["display_name"] or alert.get("display_name")
        a["first_seen"] = min(filter(None, (a["first_seen"], alert["first_seen"])))
        a["last_seen"] = max(filter(None, (a["last_seen"], alert["last_seen"])))
        a["alerts"].append(alert["id"])
        if alert.get("photo_name") and alert["photo_name"] not in a["photos"]:
            a["photos"].append(alert["photo_name"])
        if alert.get("resemblance"):
            a["looks_like"] = looks_like(alert["resemblance"], lang)
    for entry in record["watched"]:
        a = account(entry["platform"], entry["handle"])
        a["display_name"] = a["display_name"] or entry.get("display_name")
        a["first_seen"] = min(filter(None, (a["first_seen"], entry["first_seen"])))
        a["last_seen"] = max(filter(None, (a["last_seen"], entry["last_seen"])))
        a["looks_like"] = a["looks_like"] or looks_like(entry, lang)
    for report in record["reports"]:
        if report.get("handle"):
            account(report["platform"], report["handle"])["reports"].append(report["id"])
    for event in record["events"]:
        a = account(event["platform"], event["handle"])
        if event["kind"] == "taken_down":
            a["taken_down"] = event["at"]
        else:
            a["returned"] = came_back(event, lang)
    return sorted(found.values(), key=lambda a: (a["first_seen"] is None, a["first_seen"] or "", a["handle"]))


def reports(record: dict, now: datetime, escalate_after: int = ESCALATE_AFTER_DAYS) -> list[dict]:
    """Each report, with its answer (the account taken down, and how many days after) or how
    many days it has gone unanswered, and whether it is time to escalate."""
    gone = {(e["platform"], e["handle"].lower()): e["at"] for e in record["events"] if e["kind"] == "taken_down"}
    out = []
    for report in record["reports"]:
        taken = gone.get((report["platform"], (report["handle"] or "").lower()))
        answered = taken is not None and taken >= report["reported_on"]
        days = _days(report["reported_on"], taken if taken is not None and answered else now.isoformat())
        out.append(report | {"answered": answered, "days": days,
                             "escalate": not answered and days >= escalate_after})
    return out


def timeline(record: dict, now: datetime, escalate_after: int = ESCALATE_AFTER_DAYS,
             local: tzinfo | None = None, lang: str = "en") -> list[dict]:
    """Every event of a case, oldest first: {at (UTC, ISO), utc, local, kind, platform, handle, text}.
    `local`: the parent's time zone (the machine's when not given); `lang`: the words' language."""
    entries = []

    def add(at: str, kind: str, platform: str | None, handle: str | None, text: str) -> None:
        moment = datetime.fromisoformat(at)
        entries.append({"at": moment.astimezone(UTC).isoformat(timespec="milliseconds"),
                        "utc": moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                        "local": moment.astimezone(local).strftime("%Y-%m-%d %H:%M %Z").strip(),
                        "kind": kind, "platform": platform, "handle": handle, "text": text})

    def w(key: str, **values: str) -> str:
        return say(key, lang, **values)

    for a in accounts(record, lang):
        if a["first_seen"] is None:
            continue  # known only by a report or an event: those say it
        photos = w("tl_photos", count=str(len(a["photos"])), names=", ".join(a["photos"])) if a["photos"] else ""
        last = w("tl_last", time=_utc(a["last_seen"])) if a["last_seen"] and a["last_seen"] != a["first_seen"] else ""
        add(a["first_seen"], "account", a["platform"], a["handle"], w(
            "tl_account", handle=a["handle"], name=f" ({a['display_name']})" if a["display_name"] else "",
            platform=platform_name(a["platform"]), photos=photos, last=last,
            looks=w("tl_looks", how=a["looks_like"]) if a["looks_like"] else ""))
    for alert in record["alerts"]:
        who = f"@{alert['account']}" if alert.get("account") else w("tl_unnamed")
        shown = w("tl_as_avatar") if alert.get("shown_as") == "profile_picture" else w("tl_in_post")
        for s in alert.get("sightings", ()):
            add(s["seen_at"], "sighting", alert["platform"], alert.get("account"), w(
                "tl_sighting", who=who, photo=alert.get("photo_name") or w("tl_her_photo"), shown=shown,
                alert=str(alert["id"]), sha=s["evidence_sha256"][:12]))
    for report in reports(record, now, escalate_after):
        if report["answered"]:
            state = w("tl_answered", days=in_days(report["days"], lang))
        else:
            state = w("tl_unanswered", days=in_days(report["days"], lang)) + (w("tl_escalate") if report["escalate"] else "")
        add(report["reported_on"], "report", report["platform"], report.get("handle"), w(
            "tl_report", target=f"@{report['handle']}" if report.get("handle") else f"{w('alert')} #{report['alert_id']}",
            channel=channel_name(report["channel"], lang), state=state,
            ref=w("tl_ref", ref=report["ref"]) if report.get("ref") else ""))
    for event in record["events"]:
        if event["kind"] == "taken_down":
            add(event["at"], "taken down", event["platform"], event["handle"], w(
                "tl_taken_down", handle=event["handle"], platform=platform_name(event["platform"]),
                why=why_gone(event["detail"], lang), url=event["page_url"], file=event["evidence_file"]))
        else:
            said = came_back(event, lang)
            add(event["at"], "return", event["platform"], event["handle"], said[0].upper() + said[1:])
    order = {"account": 0, "sighting": 1, "report": 2, "taken down": 3, "return": 4}
    return sorted(entries, key=lambda e: (e["at"], order[e["kind"]]))


def _days(start: str, end: str) -> int:
    return max(0, (datetime.fromisoformat(end) - datetime.fromisoformat(start)).days)


def _utc(at: str) -> str:
    return datetime.fromisoformat(at).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
