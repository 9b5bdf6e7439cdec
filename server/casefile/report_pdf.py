"""report.pdf: the case file's report as a document (reportlab), what it says being
server/casefile/report.py's; its text in a font that has accents (server/casefile/glyphs.py)."""

from __future__ import annotations

import io

from sentinelle.server.casefile.glyphs import describe_missing, drawable, fonts, xml
from sentinelle.server.casefile.layout import evidence_path, utc
from sentinelle.server.casefile.pictures import outline_on, pdf_image
from sentinelle.server.casefile.report import Report, copies, web_link


def write_pdf(report: Report) -> bytes:
    """report.pdf: the report as a document to print or send, its pictures drawn in."""
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

    font, bold = fonts()
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=11.5, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5)
    label_styles = {body: ParagraphStyle("label", parent=body, wordWrap=None),
                    small: ParagraphStyle("small_label", parent=small, wordWrap=None)}
    h1 = ParagraphStyle("h1", parent=body, fontName=bold, fontSize=15, leading=19, spaceAfter=6, wordWrap=None)
    h2 = ParagraphStyle("h2", parent=body, fontName=bold, fontSize=12, leading=15, spaceBefore=10, spaceAfter=4)
    h3 = ParagraphStyle("h3", parent=body, fontName=bold, fontSize=10, leading=13, spaceBefore=6, spaceAfter=3)
    width = A4[0] - 30 * mm

    def p(text: str, style=body, link: str | None = None) -> Paragraph:
        markup = xml(describe_missing(text, drawable(style.fontName))).replace("\n", "<br/>")
        if link := web_link(link):
            markup = f'<link href="{xml(link)}" color="blue">{markup}</link>'
        return Paragraph(markup, style)

    def table(rows, style=body) -> Table:
        t = Table([[p(label, label_styles[style]), p(text, style, link)] for label, text, link in rows],
                  colWidths=[38 * mm, width - 38 * mm])
        t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                               ("TEXTCOLOR", (0, 0), (0, -1), colors.dimgrey)]))
        return t

    story = [p(report.title(), h1), p(report.w("made", time=utc(report.case.created))), Spacer(1, 4)]
    if report.case.story is not None:
        story += [p(report.w("timeline"), h2), p(report.w("timeline_intro"), small), Spacer(1, 3)]
        rows = [[p(report.w("when_utc"), small), p(report.w("when_local"), small), p(report.w("what"), small)]]
        rows += [[p(at, small), p(local, small), p(text, small)] for at, local, text in report.timeline_rows()]
        t = Table(rows, colWidths=[28 * mm, 32 * mm, width - 60 * mm], repeatRows=1)
        t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey)]))
        story += [t, PageBreak(), p(report.w("case_accounts"), h2)]
        for heading, account_rows in report.account_sections():
            story += [p(heading, h3), table(account_rows)]
        story.append(PageBreak())
    for heading, entries in report.impersonation_forms():
        story += [p(heading, h2), p(report.w("impersonation_why"))]
        story += [p(f"• {label}" + (f" — {url}" if url else ""), body, url) for label, url in entries]
    story += [p(report.w("intro")), Spacer(1, 4), p(report.w("integrity"), small), p(report.w("glyphs"), small),
             p(report.w("summary"), h2), table(report.summary())]
    for alert in report.case.alerts:
        story.append(p(f"{report.w('alert')} #{alert['id']}{report.w('colon')}{report.headline(alert)}", h2))
        for s in copies(alert):
            data = report.files.get(evidence_path(s))
            drawn = outline_on(data, s.get("region"))
            cells = [pdf_image(Image, alert["thumbnail"], 70 * mm) or p(report.w("no_photo")),
                     pdf_image(Image, data, 70 * mm, drawn[0] if drawn else None) or p("—")]
            pair = Table([cells, [p(f"{report.w('protected')}{report.w('colon')}{alert.get('photo_name') or ''}", small),
                                  p(report.received(s, drawn), small)]],
                         colWidths=[width / 2, width / 2])
            pair.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (0, 0), (-1, 0), "CENTER")]))
            story += [KeepTogether([pair]), Spacer(1, 4)]
        story += [table(report.facts(alert)), p(f"{report.w('sightings')} ({len(alert['sightings'])})", h3)]
        for s in alert["sightings"]:
            story += [table(report.sighting_rows(s), small), Spacer(1, 5)]
    if report.case.story is not None:
        story += [p(report.w("case_reports"), h2), *(p(f"• {line}") for line in report.report_lines())]
        if escalate := report.escalation():
            story.append(p(escalate, h3))
    for heading, entries in report.channels() + report.offence_sections():
        story.append(p(heading, h2))
        for label, url in entries:
            story.append(p(f"• {label}" + (f" — {url}" if url and url not in label else ""), body, url))
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=15 * mm, bottomMargin=15 * mm, title=report.title(),
                            author="Sentinelle", invariant=1)
    doc.build(story)
    return out.getvalue()
