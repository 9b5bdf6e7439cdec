"""The case file's report, for a person to read: report.html, and report.pdf (reportlab).

The protected photo beside each copy, the accounts, post links, times and hashes, and the
reporting channels of the platform and the parent's country, in English or French.
`casefile.case` collects what goes in and packs the ZIP; this module only writes. An address
that came from a feed is shown, but is a link only when it is a web address (`web_link`): a
feed is a stranger's text, and a `javascript:` link in a report a parent opens runs there.
"""

from __future__ import annotations

import html
import io
import unicodedata
from collections.abc import Container
from datetime import UTC, datetime
from functools import cache
from urllib.parse import urlsplit

from sentinelle.server.casefile.layout import Case, evidence_path, photo_path, utc
from sentinelle.server.casefile.outline import Outline, visible_outline
from sentinelle.server.casefile.timeline import ESCALATE_AFTER_DAYS, accounts, channel_name, reports, timeline
from sentinelle.server.casefile.words import PLATFORM_NAMES, looks_like, say

# The outline of the protected photo on the evidence (the HTML's stroke is in the CSS).
OUTLINE = (228, 0, 43)


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

    # -- HTML --

    def html(self) -> str:
        e = html.escape
        out = [
            "<!doctype html>", f'<html lang="{self.lang}"><head><meta charset="utf-8">',
            f"<title>{e(self.title())}</title><style>{_CSS}</style></head><body>",
            f"<h1>{e(self.title())}</h1>",
            f"<p>{e(self.w('made', time=utc(self.case.created)))}</p>",
            *self._html_story_first(),
            *self._html_channels(self.impersonation_forms(), lead=True),
            f"<p>{e(self.w('intro'))}</p>", f"<p class=note>{e(self.w('integrity'))}</p>",
            f"<p class=note>{e(self.w('glyphs'))}</p>",
            f"<h2>{e(self.w('summary'))}</h2>", _html_table(self.summary()),
        ]
        for alert in self.case.alerts:
            out.append(f"<section><h2>{e(self.w('alert'))} #{alert['id']}{self.w('colon')}{e(self.headline(alert))}</h2>")
            photo = (f'<img src="{e(photo_path(alert))}" alt="">' if alert["thumbnail"]
                     else e(self.w("no_photo")))
            for s in _copies(alert):
                drawn, clip_id = _outline(self.files.get(evidence_path(s)), s.get("region")), f"outline-{s['id']}"
                out.append(f'<div class=pair><figure>{photo}<figcaption>{e(self.w("protected"))}{self.w("colon")}'
                           f'{e(alert.get("photo_name") or "")}</figcaption></figure>'
                           f'<figure>{_outlined(evidence_path(s), drawn, clip_id)}'
                           f'<figcaption>{e(self.received(s, drawn))}</figcaption></figure></div>')
            out.append(_html_table(self.facts(alert)))
            out.append(f"<h3>{e(self.w('sightings'))} ({len(alert['sightings'])})</h3>")
            for s in alert["sightings"]:
                out.append(_html_table(self.sighting_rows(s), "sighting"))
            out.append("</section>")
        out += self._html_story_last()
        out += self._html_channels(self.channels())
        out += self._html_channels(self.offence_sections())
        out.append("</body></html>")
        return "\n".join(out)

    def _html_story_first(self) -> list[str]:
        """A whole case's timeline, then its accounts: what the case file leads with."""
        if self.case.story is None:
            return []
        e = html.escape
        out = [f"<h2>{e(self.w('timeline'))}</h2>", f"<p>{e(self.w('timeline_intro'))}</p>",
               f"<table class=timeline><tr><th>{e(self.w('when_utc'))}</th><th>{e(self.w('when_local'))}</th>"
               f"<th>{e(self.w('what'))}</th></tr>"]
        out += [f"<tr><td>{e(at)}</td><td>{e(local)}</td><td>{e(text)}</td></tr>" for at, local, text in self.timeline_rows()]
        out += ["</table>", f"<h2>{e(self.w('case_accounts'))}</h2>"]
        for heading, rows in self.account_sections():
            out += [f"<h3>{e(heading)}</h3>", _html_table(rows)]
        return out

    def _html_story_last(self) -> list[str]:
        """A whole case's reports and their answers, and whether it is time to escalate."""
        if self.case.story is None:
            return []
        e = html.escape
        out = [f"<h2>{e(self.w('case_reports'))}</h2><ul>", *(f"<li>{e(line)}</li>" for line in self.report_lines()), "</ul>"]
        if escalate := self.escalation():
            out.append(f"<p class=lead>{e(escalate)}</p>")
        return out

    def _html_channels(self, sections: list[tuple[str, list[tuple[str, str | None]]]], lead: bool = False) -> list[str]:
        e = html.escape
        out = []
        for heading, entries in sections:
            out.append((f"<div class=lead><h2>{e(heading)}</h2><p>{e(self.w('impersonation_why'))}</p>" if lead
                        else f"<h2>{e(heading)}</h2>") + "<ul>")
            for label, url in entries:
                shown = (f'<a href="{e(link)}">{e(url)}</a>' if (link := web_link(url)) else e(url)) if url else ""
                out.append(f"<li>{e(label)}" + (f" — {shown}" if shown else "") + "</li>")
            out.append("</ul></div>" if lead else "</ul>")
        return out

    # -- PDF --

    def pdf(self) -> bytes:
        from reportlab.lib import colors
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.lib.units import mm
        from reportlab.platypus import (
            Image,
            KeepTogether,
            PageBreak,
            Paragraph,
            SimpleDocTemplate,
            Spacer,
            Table,
            TableStyle,
        )

        font, bold = _fonts()
        body = ParagraphStyle("body", fontName=font, fontSize=9, leading=11.5, wordWrap="CJK")
        small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5)
        label_styles = {body: ParagraphStyle("label", parent=body, wordWrap=None),
                        small: ParagraphStyle("small_label", parent=small, wordWrap=None)}
        h1 = ParagraphStyle("h1", parent=body, fontName=bold, fontSize=15, leading=19, spaceAfter=6, wordWrap=None)
        h2 = ParagraphStyle("h2", parent=body, fontName=bold, fontSize=12, leading=15, spaceBefore=10, spaceAfter=4)
        h3 = ParagraphStyle("h3", parent=body, fontName=bold, fontSize=10, leading=13, spaceBefore=6, spaceAfter=3)
        width = A4[0] - 30 * mm

        def p(text: str, style=body, link: str | None = None) -> Paragraph:
            markup = _xml(_describe_missing(text, _drawable(style.fontName))).replace("\n", "<br/>")
            if link := web_link(link):
                markup = f'<link href="{_xml(link)}" color="blue">{markup}</link>'
            return Paragraph(markup, style)

        def table(rows, style=body) -> Table:
            t = Table([[p(label, label_styles[style]), p(text, style, link)] for label, text, link in rows],
                      colWidths=[38 * mm, width - 38 * mm])
            t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                                   ("TEXTCOLOR", (0, 0), (0, -1), colors.dimgrey)]))
            return t

        story = [p(self.title(), h1), p(self.w("made", time=utc(self.case.created))), Spacer(1, 4)]
        if self.case.story is not None:
            story += [p(self.w("timeline"), h2), p(self.w("timeline_intro"), small), Spacer(1, 3)]
            rows = [[p(self.w("when_utc"), small), p(self.w("when_local"), small), p(self.w("what"), small)]]
            rows += [[p(at, small), p(local, small), p(text, small)] for at, local, text in self.timeline_rows()]
            t = Table(rows, colWidths=[28 * mm, 32 * mm, width - 60 * mm], repeatRows=1)
            t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey)]))
            story += [t, PageBreak(), p(self.w("case_accounts"), h2)]
            for heading, account_rows in self.account_sections():
                story += [p(heading, h3), table(account_rows)]
            story.append(PageBreak())
        for heading, entries in self.impersonation_forms():
            story += [p(heading, h2), p(self.w("impersonation_why"))]
            story += [p(f"• {label}" + (f" — {url}" if url else ""), body, url) for label, url in entries]
        story += [p(self.w("intro")), Spacer(1, 4), p(self.w("integrity"), small), p(self.w("glyphs"), small),
                 p(self.w("summary"), h2), table(self.summary())]
        for alert in self.case.alerts:
            story.append(p(f"{self.w('alert')} #{alert['id']}{self.w('colon')}{self.headline(alert)}", h2))
            for s in _copies(alert):
                data = self.files.get(evidence_path(s))
                drawn = _outline(data, s.get("region"))
                cells = [_pdf_image(Image, alert["thumbnail"], 70 * mm) or p(self.w("no_photo")),
                         _pdf_image(Image, data, 70 * mm, drawn[0] if drawn else None) or p("—")]
                pair = Table([cells, [p(f"{self.w('protected')}{self.w('colon')}{alert.get('photo_name') or ''}", small),
                                      p(self.received(s, drawn), small)]],
                             colWidths=[width / 2, width / 2])
                pair.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (0, 0), (-1, 0), "CENTER")]))
                story += [KeepTogether([pair]), Spacer(1, 4)]
            story += [table(self.facts(alert)), p(f"{self.w('sightings')} ({len(alert['sightings'])})", h3)]
            for s in alert["sightings"]:
                story += [table(self.sighting_rows(s), small), Spacer(1, 5)]
        if self.case.story is not None:
            story += [p(self.w("case_reports"), h2), *(p(f"• {line}") for line in self.report_lines())]
            if escalate := self.escalation():
                story.append(p(escalate, h3))
        for heading, entries in self.channels() + self.offence_sections():
            story.append(p(heading, h2))
            for label, url in entries:
                story.append(p(f"• {label}" + (f" — {url}" if url and url not in label else ""), body, url))
        out = io.BytesIO()
        doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                                topMargin=15 * mm, bottomMargin=15 * mm, title=self.title(),
                                author="Sentinelle", invariant=1)
        doc.build(story)
        return out.getvalue()


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; } .note { color: #555; font-size: .9em; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { text-align: left; vertical-align: top; padding: .25em .5em; border-bottom: 1px solid #ddd; }
th { width: 14em; color: #555; font-weight: normal; } td { word-break: break-all; }
table.sighting { font-size: .85em; } .pair { display: flex; gap: 1em; }
figure { margin: 0; flex: 1; } figure img { max-width: 100%; max-height: 20em; border: 1px solid #ccc; }
.seen { position: relative; display: inline-block; } .seen img { display: block; }
.seen svg { position: absolute; inset: 0; width: 100%; height: 100%; }
.seen polygon { fill: none; stroke: #e4002b; stroke-width: 6; vector-effect: non-scaling-stroke; }
section { border-top: 2px solid #444; margin-top: 2em; }
.lead { border: 2px solid #e4002b; padding: 0 1em; margin: 1em 0; }
"""


def _html_table(rows: list[tuple[str, str, str | None]], cls: str = "") -> str:
    e = html.escape
    cells = []
    for label, text, link in rows:
        value = e(text).replace("\n", "<br>")
        if link := web_link(link):
            value = f'<a href="{e(link)}">{value}</a>'
        cells.append(f"<tr><th>{e(label)}</th><td>{value}</td></tr>")
    return f'<table class="{cls}">' + "".join(cells) + "</table>"


def _outline(data: bytes | None, region: list | None) -> tuple[Outline, tuple[int, int]] | None:
    """What to outline on the evidence `data` (the protected photo's `region` clipped to it,
    server/casefile/outline.py) and the evidence's size; None when there is nothing to draw."""
    if not region or (size := _size(data)) is None:
        return None
    outline = visible_outline(region, *size)
    return (outline, size) if outline else None


def _outlined(path: str, drawn: tuple[Outline, tuple[int, int]] | None, clip_id: str) -> str:
    """The evidence as the HTML report shows it: the image, and over it the outline (an SVG in
    the image's own pixels, so it scales with it). The stroke is clipped to the outline, so that
    it lies inside it and shows whole where the outline follows the image's edges."""
    img = f'<img src="{html.escape(path)}" alt="">'
    if drawn is None:
        return img
    outline, (width, height) = drawn
    points = " ".join(f"{x:g},{y:g}" for x, y in outline.points)
    return (f'<span class=seen>{img}<svg viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
            f'aria-hidden="true"><clipPath id="{clip_id}"><polygon points="{points}"/></clipPath>'
            f'<polygon points="{points}" clip-path="url(#{clip_id})"/></svg></span>')


def _size(data: bytes | None) -> tuple[int, int] | None:
    from sentinelle.proxy.engine.images import ImageError, upright_size
    try:
        return upright_size(data) if data else None
    except ImageError:
        return None


def _pdf_image(image_cls, data: bytes | None, side: float, outline: Outline | None = None):
    """A reportlab image of at most side × side, from any format Pillow reads, with `outline`
    (in its full-size pixels) drawn in red; None if unreadable."""
    if not data:
        return None
    from PIL import ImageDraw

    from sentinelle.proxy.engine.images import ImageError, open_image
    try:
        img = open_image(data, min_side=1)
    except ImageError:
        return None
    full_width = img.width
    img.thumbnail((800, 800))
    if outline:
        # Pillow draws a wide outline inside the polygon, and an image's last pixel is at its
        # width - 1: there, an outline along the image's edges shows whole.
        scale = img.width / full_width
        ImageDraw.Draw(img).polygon([(min(x * scale, img.width - 1), min(y * scale, img.height - 1))
                                     for x, y in outline.points], outline=OUTLINE, width=max(2, img.width // 200))
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=85)
    scale = side / max(img.size)
    out.seek(0)
    return image_cls(out, width=img.width * scale, height=img.height * scale)


def _fonts() -> tuple[str, str]:
    """Bitstream Vera, which ships with reportlab: accents and most Latin scripts, unlike the PDF base fonts."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    if "SentinelleVera" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("SentinelleVera", "Vera.ttf"))
        pdfmetrics.registerFont(TTFont("SentinelleVeraBd", "VeraBd.ttf"))
    return "SentinelleVera", "SentinelleVeraBd"


@cache
def _drawable(font_name: str) -> frozenset[int]:
    """The code points a registered TrueType font has a glyph for, from its own character map."""
    from reportlab.pdfbase import pdfmetrics
    return frozenset(c for c, glyph in pdfmetrics.getFont(font_name).face.charToGlyph.items() if glyph)


# Characters that only join or restyle their neighbours (zero-width joiner, text and emoji
# presentation selectors): nothing to read in them once the emoji around them are named.
_INVISIBLE = frozenset("\u200d\ufe0e\ufe0f")


def _describe_missing(text: str, drawable: Container[int]) -> str:
    """`text` with each character not in `drawable` written as its Unicode name in brackets.

    "ok 😂🔥" -> "ok [face with tears of joy][fire]"; a joiner or variation selector is
    dropped; a character without a name is "[U+XXXX]"; a space the font lacks is a space,
    and a line break stays.
    """
    # Why: a TrueType font draws a character it lacks as an empty box, and Vera has no emoji
    # and few scripts: without this, the reader of the PDF would not see what the account wrote.
    out = []
    for ch in text:
        if ord(ch) in drawable or ch == "\n":
            out.append(ch)
        elif ch.isspace():
            out.append(" ")
        elif ch not in _INVISIBLE:
            name = unicodedata.name(ch, "")
            out.append(f"[{name.lower()}]" if name else f"[U+{ord(ch):04X}]")
    return "".join(out)


def _xml(text: str) -> str:
    return html.escape(text, quote=True)


def _pick(words: object, lang: str) -> str:
    if isinstance(words, dict):
        return str(words.get(lang) or words.get("en") or "")
    return str(words or "")


def _copies(alert: dict, most: int = 12) -> list[dict]:
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
