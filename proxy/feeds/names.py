"""Look-alike names: whether an account's handle or display name is the child's in disguise.

Accounts that pretend to be a child take her name and dress it: `Lea.Martin_2012`,
`real_leamartin`, `l3a.m4rtin`, `Martin Léa`, `lеa.martin` with a Cyrillic `е`. Each name
is *folded* to one skeleton that such disguises do not change, then compared with the
skeletons of her names and handles, computed once:

1. Unicode compatibility form, accents dropped, lower case; look-alike letters of other
   scripts (Cyrillic а е о р с у х, Greek ο, small capitals) become the Latin letter.
2. Leetspeak inside words (0→o, 1→i, 3→e, 4→a, 5→s, 7→t; `l` and `i` are one letter in a
   skeleton, since `1` stands for both); digits around words (years, `_2`) go.
3. Separators (`.`, `_`, `-`, spaces) split the name into words; common affixes
   (`real`, `officiel`, `backup`, `private`, `priv`, …) go, as whole words or glued to an end.
4. Doubled letters are written once (`leaa` is `lea`).

What counts (`NameWatch.check`): her full name, in either order, as the whole handle or
display name, or as its words; one of her own handles, dressed, on any platform; a nickname
with her last name. Her own handles, exactly, never count; a first name alone never counts.
Pure functions over strings: no I/O, nothing kept of an account that does not match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# Letters of other scripts that look like Latin ones, as impersonators use them.
_CONFUSABLES = {
    # Cyrillic
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ӏ": "l", "к": "k", "м": "m", "т": "t", "в": "b", "н": "h",
    # Greek
    "ο": "o", "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x",
    # Small capitals and other Latin look-alikes
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ғ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i",
    "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s",
    "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z", "ı": "i", "ł": "l", "ø": "o",
    "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe",
}
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t"}
# `l`, `i` and `1` are one letter in a skeleton: `1` stands for either.
_ONE_LETTER = str.maketrans({"l": "i"})
_FOLD = str.maketrans(_CONFUSABLES)
# A digit (or run of digits) between two letters is leetspeak; any other is a year or a count.
_LEET_INSIDE = re.compile(r"(?<=[a-z])[013457]+(?=[a-z])|^[013457](?=[a-z]{2})")
# A leet digit ending a word (`le4`, `duboi5`) may be a letter or a count (`martin7`): both are read.
_LEET_AT_END = re.compile(r"(?<=[a-z]{2})[013457](?![a-z0-9])")
_COMBINING = re.compile(r"[\u0300-\u036f]+")
_NOT_LETTER = re.compile(r"[^a-z]+")
_DOUBLED = re.compile(r"(.)\1+")

# Words impersonators add to a name, as whole words or glued to either end of it.
AFFIXES = ("real", "the", "officiel", "officielle", "official", "backup", "private", "priv",
           "prive", "privee", "new", "vrai", "vraie", "fan", "fans", "page", "insta", "ig", "account",
           "compte", "second", "alt", "bis", "xx", "x", "its", "im", "iam")
# An affix glued to a name is taken off only when this much of the name is left.
MIN_LEFT = 4


def _letters(text: str) -> str:
    """`l` as `i`, doubled letters once: the form a word has in a skeleton."""
    return _DOUBLED.sub(r"\1", text.translate(_ONE_LETTER))


_AFFIX_FORMS = frozenset(_letters(a) for a in AFFIXES)
_AFFIXES_BY_FIRST = {c: tuple(a for a in _AFFIX_FORMS if a[0] == c) for c in {a[0] for a in _AFFIX_FORMS}}
_AFFIXES_BY_LAST = {c: tuple(a for a in _AFFIX_FORMS if a[-1] == c) for c in {a[-1] for a in _AFFIX_FORMS}}


def _leet(match: re.Match) -> str:
    return "".join(_LEET[d] for d in match.group())


def _plain(text: str) -> str:
    """Lower case, no accents, Latin letters for look-alikes, leetspeak inside words read."""
    text = text.lower()
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text.translate(_FOLD))).translate(_FOLD)
    return _LEET_INSIDE.sub(_leet, text)


def _words_of(plain: str) -> list[str]:
    return [w for w in _letters(_NOT_LETTER.sub(" ", plain)).split() if w not in _AFFIX_FORMS]


def words(text: str) -> list[str]:
    """The words of a name, folded: no accents, no look-alikes, leetspeak read, no digits
    left around them, `l` as `i`, doubled letters once; affixes that stand alone dropped."""
    return _words_of(_plain(text))


def readings(text: str) -> list[list[str]]:
    """The ways to read a name's words: digits ending a word dropped, and (when there are
    such digits) read as leetspeak."""
    plain = _plain(text)
    first = _words_of(plain)
    leet = _LEET_AT_END.sub(_leet, plain)
    return [first] if leet == plain else [first, _words_of(leet)]


def joined(name_words: Iterable[str]) -> str:
    return _DOUBLED.sub(r"\1", "".join(name_words))


def _without_affixes(form: str) -> set[str]:
    """`form`, and the same with affixes glued to its ends taken off (`realleamartin`,
    `leamartinofficiel`), as far as MIN_LEFT allows."""
    found = {form}
    frontier = [form]
    while frontier:
        grown: set[str] = set()
        for form in frontier:
            for affix in _AFFIXES_BY_FIRST.get(form[:1], ()):
                # Doubled letters are written once, so an affix may share its edge letter with
                # the name (`real` + `lea` is `reaiea`): take it off with and without that letter.
                if form.startswith(affix) and len(form) - len(affix) >= MIN_LEFT:
                    grown.update((form[len(affix):], form[len(affix) - 1:]))
            for affix in _AFFIXES_BY_LAST.get(form[-1:], ()):
                if form.endswith(affix) and len(form) - len(affix) >= MIN_LEFT:
                    grown.update((form[: -len(affix)], form[: 1 - len(affix)]))
        frontier = list(grown - found)
        found |= grown
    return found


def skeletons(text: str) -> set[str]:
    """A name folded to one string (its words run together), in each reading, with and
    without the affixes glued to its ends."""
    return set().union(*(_without_affixes(joined(w)) for w in readings(text)))


@dataclass(frozen=True)
class Child:
    """What a parent says of a child: her full name, nicknames, and her own accounts."""

    name: str
    aliases: tuple[str, ...] = ()
    handles: tuple[tuple[str, str], ...] = ()  # (platform, handle), never flagged


@dataclass(frozen=True)
class Resemblance:
    """An account that looks like a child's: whose, and what of it matched what of hers."""

    child: str
    field: str  # "handle" or "display name": what of the account matched
    what: str  # "full name", "own handle", "nickname and last name"


class NameWatch:
    """The skeletons of every child's names and handles, to check accounts against at once."""

    def __init__(self, children: Iterable[Child]) -> None:
        self._whole: dict[str, tuple[str, str]] = {}  # skeleton → (child, what)
        self._pairs: list[tuple[frozenset[str], str, str]] = []  # words that must all be there
        self._own: set[tuple[str, str]] = set()
        anchors: set[str] = set()  # what a look-alike must contain, run together: a last name or a handle
        for child in children:
            name_words = words(child.name)
            if len(name_words) >= 2:  # a first name alone never counts
                first, last = name_words[0], name_words[-1]
                for order in (name_words, [*name_words[1:], name_words[0]], [last, first], [first, last]):
                    self._whole.setdefault(joined(order), (child.name, "full name"))
                self._pairs.append((frozenset((first, last)), child.name, "full name"))
                anchors.add(last)
                for alias in child.aliases:
                    for nick in words(alias):
                        if nick != last:
                            self._whole.setdefault(joined((nick, last)), (child.name, "nickname and last name"))
                            self._whole.setdefault(joined((last, nick)), (child.name, "nickname and last name"))
            for platform, handle in child.handles:
                self._own.add((platform.lower(), handle.lower().lstrip("@")))
                if len(own := joined(words(handle))) >= MIN_LEFT:
                    self._whole.setdefault(own, (child.name, "own handle"))
                    anchors.add(own)
        # Most accounts contain none of them: one search turns them away at once.
        self._anchors = re.compile("|".join(sorted(map(re.escape, anchors), key=len, reverse=True)) or "(?!)")

    def check(self, platform: str, handle: str, display_name: str = "") -> Resemblance | None:
        """Whether the account (`handle` on `platform`, shown as `display_name`) looks like a
        child's, and how; None for her own accounts and for everyone else."""
        if (platform.lower(), handle.lower().lstrip("@")) in self._own:
            return None
        for field, text in (("handle", handle), ("display name", display_name)):
            if not text:
                continue
            for reading in readings(text):
                run_together = joined(reading)
                if not self._anchors.search(run_together):
                    continue
                for form in _without_affixes(run_together):
                    if (found := self._whole.get(form)) is not None:
                        return Resemblance(found[0], field, found[1])
                present = set(reading)
                for needed, child, what in self._pairs:
                    if needed <= present:
                        return Resemblance(child, field, what)
        return None
