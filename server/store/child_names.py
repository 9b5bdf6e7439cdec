"""One child, one name: which child a name the parent types means.

A parent types her name many ways: "Alice" when enrolling her photos, "Alice Dupont" when
saying who she is, "alice  dupont" another day, "Lea" for "Léa". Each is the same child, and
the store keeps her as one: her photos, names and accounts together. Case, accents and spaces
never tell two children apart; a first name alone means the one child whose full name starts
with it, and a full name means the child known so far by its first name alone. Pure: the store
(server/store/children.py) and its migration (migrations.py) ask it; the CLI and the API say what
it chose.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass


def tidy(name: str) -> str:
    """The name with its spaces tidied: "  Léa   Martin " → "Léa Martin"."""
    return " ".join(name.split())


def same_name(name: str) -> str:
    """What every spelling of one name shares, case, accents and spaces aside: "Léa  MARTIN"
    and "lea martin" both give "lea martin"."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return tidy("".join(c for c in decomposed if not unicodedata.combining(c)))


def _first(name: str) -> str:
    return (same_name(name).split() or [""])[0]


def _alone(name: str) -> bool:
    """Whether the name is a first name alone."""
    return len(name.split()) < 2


@dataclass(frozen=True)
class Meant:
    """Whom a name means: a child the store knows (`known`, her name as it keeps it) or a new
    one (None), and the name she goes by from now on. `ambiguous`: the children a first name
    could mean, when more than one full name starts with it (then nothing is chosen)."""

    typed: str
    known: str | None
    name: str
    ambiguous: tuple[str, ...] = ()

    @property
    def renamed(self) -> bool:
        """Whether a child known by her first name alone now goes by the full name typed."""
        return self.known is not None and self.known != self.name


def which_child(typed: str, children: Iterable[str]) -> Meant:
    """The child `typed` means among the `children` the store knows (their names)."""
    typed, names = tidy(typed), list(children)
    key = same_name(typed)
    if exact := [name for name in names if same_name(name) == key]:
        return Meant(typed, exact[0], exact[0])
    first = _first(typed)
    if _alone(typed):
        fuller = [name for name in names if not _alone(name) and _first(name) == first]
        if len(fuller) == 1:
            return Meant(typed, fuller[0], fuller[0])
        return Meant(typed, None, typed, ambiguous=tuple(fuller) if fuller else ())
    same_first = [name for name in names if _first(name) == first]
    if len(same_first) == 1 and _alone(same_first[0]):  # she had a first name only: now her full name
        return Meant(typed, same_first[0], typed)
    return Meant(typed, None, typed)


def one_child_each(children: list[tuple[int, str]]) -> tuple[list[tuple[int, int]], dict[int, str]]:
    """What a store that kept one child as several must do, by the rule `which_child` applies
    to each new name: ([(the id merged away, the id of the child she is)], {id: tidied name}
    of the children whose name changes).

    `children` is (id, name) pairs. Spellings of one name join the oldest; then a first name
    alone joins the one full name that starts with it, and is left alone when several do.
    """
    merges: list[tuple[int, int]] = []
    renames: dict[int, str] = {}
    kept: dict[str, tuple[int, str]] = {}  # same_name → (id, name)
    for child_id, name in sorted(children):
        key = same_name(name)
        if key in kept:
            merges.append((child_id, kept[key][0]))
            continue
        kept[key] = (child_id, tidy(name))
        if tidy(name) != name:
            renames[child_id] = tidy(name)
    for child_id, name in list(kept.values()):
        if not _alone(name):
            continue
        fuller = [other for other, full in kept.values() if not _alone(full) and _first(full) == _first(name)]
        if len(fuller) == 1:
            merges.append((child_id, fuller[0]))
            renames.pop(child_id, None)
    return merges, renames
