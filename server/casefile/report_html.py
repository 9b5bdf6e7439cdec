"""report.html: the case file's report as a web page (what it says is server/casefile/report.py's).

An address that came from a feed is a link only when it is a web address (`web_link`).
"""

from __future__ import annotations

import html

from sentinelle.server.casefile.layout import evidence_path, photo_path, utc
from sentinelle.server.casefile.pictures import outline_on, outlined_html
from sentinelle.server.casefile.report import Report, copies, web_link


def write_html(report: Report) -> str:
    """report.html: the report as a web page, its pictures beside it in the case file."""
    e = html.escape
    out = [
        "<!doctype html>", f'<html lang="{report.lang}"><head><meta charset="utf-8">',
        f"<title>{e(report.title())}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(report.title())}</h1>",
        f"<p>{e(report.w('made', time=utc(report.case.created)))}</p>",
        *_story_first(report),
        *_channels(report, report.impersonation_forms(), lead=True),
        f"<p>{e(report.w('intro'))}</p>", f"<p class=note>{e(report.w('integrity'))}</p>",
        f"<p class=note>{e(report.w('glyphs'))}</p>",
        f"<h2>{e(report.w('summary'))}</h2>", _table(report.summary()),
    ]
    for alert in report.case.alerts:
        out.append(f"<section><h2>{e(report.w('alert'))} #{alert['id']}{report.w('colon')}{e(report.headline(alert))}</h2>")
        photo = (f'<img src="{e(photo_path(alert))}" alt="">' if alert["thumbnail"]
                 else e(report.w("no_photo")))
        for s in copies(alert):
            drawn, clip_id = outline_on(report.files.get(evidence_path(s)), s.get("region")), f"outline-{s['id']}"
            out.append(f'<div class=pair><figure>{photo}<figcaption>{e(report.w("protected"))}{report.w("colon")}'
                       f'{e(alert.get("photo_name") or "")}</figcaption></figure>'
                       f'<figure>{outlined_html(evidence_path(s), drawn, clip_id)}'
                       f'<figcaption>{e(report.received(s, drawn))}</figcaption></figure></div>')
        out.append(_table(report.facts(alert)))
        out.append(f"<h3>{e(report.w('sightings'))} ({len(alert['sightings'])})</h3>")
        for s in alert["sightings"]:
            out.append(_table(report.sighting_rows(s), "sighting"))
        out.append("</section>")
    out += _story_last(report)
    out += _channels(report, report.channels())
    out += _channels(report, report.offence_sections())
    out.append("</body></html>")
    return "\n".join(out)

def _story_first(report: Report) -> list[str]:
    """A whole case's timeline, then its accounts: what the case file leads with."""
    if report.case.story is None:
        return []
    e = html.escape
    out = [f"<h2>{e(report.w('timeline'))}</h2>", f"<p>{e(report.w('timeline_intro'))}</p>",
           f"<table class=timeline><tr><th>{e(report.w('when_utc'))}</th><th>{e(report.w('when_local'))}</th>"
           f"<th>{e(report.w('what'))}</th></tr>"]
    out += [f"<tr><td>{e(at)}</td><td>{e(local)}</td><td>{e(text)}</td></tr>" for at, local, text in report.timeline_rows()]
    out += ["</table>", f"<h2>{e(report.w('case_accounts'))}</h2>"]
    for heading, rows in report.account_sections():
        out += [f"<h3>{e(heading)}</h3>", _table(rows)]
    return out

def _story_last(report: Report) -> list[str]:
    """A whole case's reports and their answers, and whether it is time to escalate."""
    if report.case.story is None:
        return []
    e = html.escape
    out = [f"<h2>{e(report.w('case_reports'))}</h2><ul>", *(f"<li>{e(line)}</li>" for line in report.report_lines()), "</ul>"]
    if escalate := report.escalation():
        out.append(f"<p class=lead>{e(escalate)}</p>")
    return out

def _channels(report: Report, sections: list[tuple[str, list[tuple[str, str | None]]]], lead: bool = False) -> list[str]:
    e = html.escape
    out = []
    for heading, entries in sections:
        out.append((f"<div class=lead><h2>{e(heading)}</h2><p>{e(report.w('impersonation_why'))}</p>" if lead
                    else f"<h2>{e(heading)}</h2>") + "<ul>")
        for label, url in entries:
            shown = (f'<a href="{e(link)}">{e(url)}</a>' if (link := web_link(url)) else e(url)) if url else ""
            out.append(f"<li>{e(label)}" + (f" — {shown}" if shown else "") + "</li>")
        out.append("</ul></div>" if lead else "</ul>")
    return out


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


def _table(rows: list[tuple[str, str, str | None]], cls: str = "") -> str:
    e = html.escape
    cells = []
    for label, text, link in rows:
        value = e(text).replace("\n", "<br>")
        if link := web_link(link):
            value = f'<a href="{e(link)}">{value}</a>'
        cells.append(f"<tr><th>{e(label)}</th><td>{value}</td></tr>")
    return f'<table class="{cls}">' + "".join(cells) + "</table>"
