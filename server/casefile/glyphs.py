"""The PDF's text: its font (Bitstream Vera, which ships with reportlab), the characters that
font can draw, and every other character written as its Unicode name, so that the reader of
the PDF sees what an account wrote rather than empty boxes."""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Container
from functools import cache


def fonts() -> tuple[str, str]:
    """Bitstream Vera, which ships with reportlab: accents and most Latin scripts, unlike the PDF base fonts."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    if "SentinelleVera" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("SentinelleVera", "Vera.ttf"))
        pdfmetrics.registerFont(TTFont("SentinelleVeraBd", "VeraBd.ttf"))
    return "SentinelleVera", "SentinelleVeraBd"


@cache
def drawable(font_name: str) -> frozenset[int]:
    """The code points a registered TrueType font has a glyph for, from its own character map."""
    from reportlab.pdfbase import pdfmetrics
    return frozenset(c for c, glyph in pdfmetrics.getFont(font_name).face.charToGlyph.items() if glyph)


# Characters that only join or restyle their neighbours (zero-width joiner, text and emoji
# presentation selectors): nothing to read in them once the emoji around them are named.
_INVISIBLE = frozenset("\u200d\ufe0e\ufe0f")


def describe_missing(text: str, drawable: Container[int]) -> str:
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


def xml(text: str) -> str:
    """`text` escaped for reportlab's paragraph markup."""
    return html.escape(text, quote=True)
