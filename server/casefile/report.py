"""What the case file's report says, for a person to read, in English or French: the title,
a whole case's timeline, accounts, reports and offences, each alert's headline and facts, each
sighting's rows, and the reporting channels of the platform and the parent's country.

`casefile.case` collects what goes in and packs the ZIP; server/casefile/report_html.py and
report_pdf.py write it out. An address that came from a feed is shown, but is a link only when
it is a web address (`web_link`): a feed is a stranger's text, and a `javascript:` link in a
report a parent opens runs there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from sentinelle.server.casefile.layout import Case, evidence_path
from sentinelle.server.casefile.outline import Outline
from sentinelle.server.casefile.timeline import ESCALATE_AFTER_DAYS, accounts, channel_name, reports, timeline
from sentinelle.server.words import PLATFORM_NAMES, looks_like, say


def web_link(url: str | None) -> str | None:
    """`url` when it is an http or https address, written plainly (no space, no control
    character a browser would drop from it); else None: shown as text, never followed."""
    if not url or not url.isprintable() or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else None


class Report:
    def __init__(self, case: Case, lang: str, country: str, steps: dict, files: dict[str, bytes],
                 offences: dict | None = None) -> None:
        self.case, self.lang, self.country, self.steps, self.files = case, lang, country, steps, files
        self.offences = offences

    def w(self, key: str, **values: str) -> str:
        return say(key, self.lang, **values)

    # -- a whole case: its timeline first, its accounts, its reports, the offences --

    def title(self) -> str:
        story = self.case.story
        return self.w("case_title", child=story["case"]["child"] or self.w("a_child")) if story else self.w("title")

    def _story(self) -> dict:
        """The case's story: what the parts below are made of, which a case file has only when it
        is a whole case's (they are shown only then)."""
        story = self.case.story
        assert story is not None
        return story

    def timeline_rows(self) -> list[tuple[str, str, str]]:
        """(UTC, local time, what happened) of each event of the case, oldest first."""
        return [(e["utc"], e["local"], e["text"]) for e in timeline(self._story(), self.case.created, lang=self.lang)]

    def account_sections(self) -> list[tuple[str, list[tuple[str, str, str | None]]]]:
        """(heading, rows) of each account of the case."""
        sections = []
        for a in accounts(self._story(), self.lang):
            rows: list[tuple[str, str, str | None]] = [(self.w("platform"), PLATFORM_NAMES.get(a["platform"], a["platform"]), None)]
            if a["display_name"]:
                rows.append((self.w("display_name"), a["display_name"], None))
            rows += [(self.w("first_seen"), _when(a["first_seen"]), None), (self.w("last_seen"), _when(a["last_seen"]), None)]
            if a["photos"]:
                rows.append((self.w("photos_shown"), ", ".join(a["photos"]), None))
            if a["looks_like"]:
                rows.append((self.w("looks_like"), a["looks_like"], None))
            if a["alerts"]:
                rows.append((self.w("alert"), ", ".join(f"#{n}" for n in a["alerts"]), None))
            if a["taken_down"]:
                rows.append((self.w("taken_down"), _when(a["taken_down"]), None))
            if a["returned"]:
                rows.append((self.w("came_back"), a["returned"], None))
            sections.append((f"@{a['handle']}", rows))
        return sections

    def report_lines(self) -> list[str]:
        out = []
        for r in reports(self._story(), self.case.created):
            state = self.w("answered" if r["answered"] else "unanswered", days=str(r["days"]))
            out.append(self.w("report_line", on=_when(r["reported_on"])[:16],
                              target=f"@{r['handle']}" if r.get("handle") else f"#{r['alert_id']}",
                              channel=channel_name(r["channel"], self.lang),
                              ref=f" ({r['ref']})" if r.get("ref") else "", state=state))
        return out or [self.w("no_reports")]

    def escalation(self) -> str | None:
        due = [r for r in reports(self._story(), self.case.created) if r["escalate"]]
        return self.w("escalate", days=str(ESCALATE_AFTER_DAYS)) if due else None

    def offence_sections(self) -> list[tuple[str, list[tuple[str, str | None]]]]:
        """(heading, [(text, source)]) of the offences of the parent's country (every country's
        when the file has none for it), the last line saying it is not legal advice."""
        if not self.offences:
            return []
        countries = self.offences["countries"]
        chosen = [self.country] if self.country in countries else list(countries)
        sections = []
        for code in chosen:
            country = countries[code]
            lines = [(f"{_pick(o['name'], self.lang)} — {o['law']}. {_pick(o['what'], self.lang)} "
                      f"({self.w('source')}: {o['source']}; {self.w('reviewed')} {o['reviewed']})", o["source"])
                     for o in country["offences"]]
            lines.append((_pick(self.offences["not_advice"], self.lang), None))
            sections.append((self.w("offences", country=_pick(country["name"], self.lang)), lines))
        return sections

    def headline(self, alert: dict) -> str:
        platform = PLATFORM_NAMES.get(alert["platform"], alert["platform"] or "?")
        if alert.get("kind") == "impersonation" and alert.get("account"):
            child = (alert.get("resemblance") or {}).get("child") or alert.get("child") or self.w("a_child")
            how = self.w("wears" if alert.get("shown_as") == "profile_picture" else "shows")
            return self.w("impersonates", account=alert["account"], child=child, platform=platform, how=how)
        if alert.get("account") and alert.get("shown_as") == "profile_picture":
            return self.w("profile_picture", account=alert["account"], platform=platform,
                          child=alert.get("child") or self.w("a_child"))
        if alert.get("account") and alert.get("shown_as") == "story":
            return self.w("in_story", account=alert["account"], platform=platform)
        if alert.get("account") and alert.get("first_account"):
            return self.w("reposted_by", account=alert["account"], first=alert["first_account"], platform=platform)
        if alert.get("account"):
            return self.w("posted_by", account=alert["account"], platform=platform)
        if alert.get("account_id"):
            return self.w("posted_by_id", account_id=alert["account_id"], platform=platform,
                          post=alert.get("post_url") or self.w("unknown"))
        return self.w("seen_on", platform=platform)

    def impersonation_forms(self) -> list[tuple[str, list[tuple[str, str | None]]]]:
        """(heading, [(label, url)]) of the impersonation forms of each platform where the case
        has an impersonation alert: what the report leads with."""
        sections = []
        for platform in dict.fromkeys(a["platform"] for a in self.case.alerts if a.get("kind") == "impersonation"):
            entries = [e for e in self.steps.get("platforms", {}).get(platform, []) if e.get("impersonation")]
            if entries:
                name = PLATFORM_NAMES.get(platform, platform)
                sections.append((f"{self.w('impersonation_first')}{self.w('colon')}{name}",
                                 [(_pick(e["label"], self.lang), e.get("url")) for e in entries]))
        return sections

    def channels(self) -> list[tuple[str, list[tuple[str, str | None]]]]:
        """(heading, [(label, url)]) for each platform of the case, the country, then advice."""
        sections = []
        for platform in dict.fromkeys(a["platform"] for a in self.case.alerts):
            entries = self.steps.get("platforms", {}).get(platform) or self.steps.get("platforms", {}).get("other", [])
            if any(a.get("kind") == "impersonation" and a["platform"] == platform for a in self.case.alerts):
                entries = sorted(entries, key=lambda e: not e.get("impersonation"))  # its form first
            name = PLATFORM_NAMES.get(platform, platform)
            sections.append((f"{self.w('report')}{self.w('colon')}{name}", [(_pick(e["label"], self.lang), e.get("url")) for e in entries]))
        country = self.steps.get("countries", {}).get(self.country)
        if country:
            lines = [(_pick(e["label"], self.lang) + (f" — {e['phone']}" if e.get("phone") else ""), e.get("url"))
                     for e in country.get("help", [])]
            sections.append((self.w("country_lines", country=_pick(country["name"], self.lang)), lines))
        if advice := self.steps.get("advice"):
            sections.append((self.w("advice"), [(_pick(a, self.lang), None) for a in advice]))
        return sections

    def facts(self, alert: dict) -> list[tuple[str, str, str | None]]:
        """(label, text, link) rows describing an alert."""
        unknown = self.w("unknown")
        caption = next((s["attribution"].get("caption") for s in alert["sightings"]
                        if isinstance(s.get("attribution"), dict) and s["attribution"].get("caption")), None)
        rows: list[tuple[str, str, str | None]] = [
            (self.w("platform"), PLATFORM_NAMES.get(alert["platform"], alert["platform"] or unknown), None),
            (self.w("account"), self._account(alert), alert.get("account_url") if alert.get("account") else alert.get("post_url")),
            (self.w("post"), alert.get("post_url") or unknown, alert.get("post_url")),
        ]
        if alert.get("shown_as") == "story":
            gone = self.w("story_gone", time=_when(alert["expires_at"])) if alert.get("expires_at") else self.w("story_goes")
            rows.append((self.w("story"), gone, None))
        if alert.get("display_name"):
            rows.append((self.w("display_name"), alert["display_name"], None))
        if resemblance := alert.get("resemblance"):
            rows.append((self.w("resembles"), looks_like(resemblance, self.lang), None))
        if watch := alert.get("watch"):
            seen = f"{_when(watch['last_seen'])} UTC — {watch['feed_url']}\n{(watch.get('record') or '')[:1500]}"
            rows.append((self.w("account_seen"), seen, None))
        if alert.get("first_account"):
            rows.append((self.w("first_posted_by"), f"@{alert['first_account']}", alert.get("first_account_url")))
        if alert.get("first_post_url"):
            rows.append((self.w("first_post"), alert["first_post_url"], alert["first_post_url"]))
        if caption:
            rows.append((self.w("caption"), caption, None))
        rows += [
            (self.w("first_seen"), _when(alert["first_seen"]), None),
            (self.w("last_seen"), _when(alert["last_seen"]), None),
            (self.w("times"), str(alert["count"]), None),
            (self.w("status"), alert["status"], None),
            (self.w("score"), f"{alert['score']:.2f}" if alert.get("score") is not None else unknown, None),
        ]
        return rows

    def _account(self, alert: dict) -> str:
        """The account as the feed named it: its handle, else its id and the post to open."""
        if alert.get("account"):
            return f"@{alert['account']}"
        if alert.get("account_id"):
            return self.w("account_by_id", account_id=alert["account_id"])
        return self.w("unknown")

    def sighting_rows(self, s: dict) -> list[tuple[str, str, str | None]]:
        headers = s.get("response_headers") or {}
        rows: list[tuple[str, str, str | None]] = [
            (self.w("time"), _when(s["seen_at"]), None),
            (self.w("image_url"), s["image_url"], None),
            (self.w("page"), s.get("page_url") or self.w("unknown"), None),
            (self.w("sha256"), s["evidence_sha256"], None),
            (self.w("file"), f"{evidence_path(s)} ({s.get('evidence_bytes')} B)"
             + (f" — {self.w('missing')}" if s.get("evidence_missing") else ""), None),
        ]
        if isinstance(headers, dict) and headers:
            rows.append((self.w("headers"), "; ".join(f"{k}: {v}" for k, v in headers.items()), None))
        if isinstance(s.get("attribution"), dict):
            attribution = s["attribution"]
            for key in ("posted_at", "expires_at"):  # a story's: when it was posted, when it goes
                if attribution.get(key):
                    rows.append((self.w(key), _when(attribution[key]), None))
            record = attribution.get("record") or ""
            rows.append((self.w("feed"), f"{attribution.get('feed_url')}\n{record[:1500]}", None))
        return rows

    def summary(self) -> list[tuple[str, str, str | None]]:
        children = sorted({a["child"] for a in self.case.alerts if a.get("child")})
        accounts = sorted({f"{self._account(a)} ({a['platform']})" for a in self.case.alerts
                           if a.get("account") or a.get("account_id")})
        return [
            (self.w("child"), ", ".join(children) or self.w("unknown"), None),
            (self.w("accounts"), ", ".join(accounts) or self.w("unknown"), None),
            (self.w("alert"), ", ".join(f"#{a['id']}" for a in self.case.alerts), None),
        ]

    def received(self, s: dict, drawn: tuple[Outline, tuple[int, int]] | None) -> str:
        """The caption of a copy: when it was received, and what its red outline is."""
        outlined = "" if drawn is None else self.w("outlined_part" if drawn[0].runs_past else "outlined")
        return f"{self.w('received')}, {_when(s['seen_at'])} UTC{outlined}"


def _pick(words: object, lang: str) -> str:
    if isinstance(words, dict):
        return str(words.get(lang) or words.get("en") or "")
    return str(words or "")


def copies(alert: dict, most: int = 12) -> list[dict]:
    """The first sighting of each distinct copy of an alert (all are in evidence/; the report shows `most`)."""
    first: dict[str, dict] = {}
    for s in alert["sightings"]:
        if not s.get("evidence_missing"):
            first.setdefault(s["evidence_sha256"], s)
    return list(first.values())[:most]


def _when(iso: str | None) -> str:
    if not iso:
        return "?"
    try:
        return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    except ValueError:
        return iso
