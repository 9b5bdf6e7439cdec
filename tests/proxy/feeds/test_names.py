"""proxy/feeds/names.py: look-alikes of a child's names and handles are found in every disguise;
near misses, her own accounts and a first name alone are not."""

from __future__ import annotations

import pytest

from sentinelle.proxy.feeds.names import Child, NameWatch, skeletons, words

LEA = Child("Léa Martin", aliases=("Lélé",), handles=(("instagram", "lea_mrtn"), ("tiktok", "leamrtn.dance")))
WATCH = NameWatch([LEA, Child("Théo Martin"), Child("Emma Durand", handles=(("instagram", "emma.drd"),))])

LOOK_ALIKES = [
    # (handle, display name, what matched)
    ("lea.martin", "", "full name"),
    ("LEA_MARTIN", "", "full name"),  # case
    ("léa.martin", "", "full name"),  # accents
    ("lea-martin", "", "full name"),
    ("lea martin", "", "full name"),  # separators
    ("martin.lea", "", "full name"),  # order
    ("someone", "Martin Léa", "full name"),  # the display name
    ("lea.martin2012", "", "full name"),
    ("lea.martin_2", "", "full name"),  # digits and years
    ("leaa.martinn", "", "full name"),  # doubled letters
    ("real_lea_martin", "", "full name"),
    ("reallea.martin", "", "full name"),
    ("lea.martin.officiel", "", "full name"),
    ("leamartinofficiel", "", "full name"),
    ("lea.martin.backup", "", "full name"),
    ("private.lea.martin", "", "full name"),
    ("priv_leamartin", "", "full name"),  # affixes, apart or glued
    ("l3a.m4rt1n", "", "full name"),
    ("1ea.mart1n", "", "full name"),
    ("lea.m4r7in", "", "full name"),
    ("le4.martin", "", "full name"),  # a leet digit ending a word
    ("lea.martin7", "", "full name"),  # or a count: both readings
    ("martin.le4_2011", "", "full name"),
    ("le4_ma5tin", "", None),  # 5 is s: not her name ("masstin"); see NEAR_MISSES
    ("lеa.martin", "", "full name"),  # Cyrillic е
    ("lea.mаrtin", "", "full name"),  # Cyrillic а
    ("leа.mартin", "", None),  # Cyrillic р for p: "mapтin", not "martin"
    ("lea.martιn", "", "full name"),  # Greek ι
    ("lεa.mοrtin", "", None),  # Greek ο for a is another name
    ("ʟᴇᴀ.ᴍᴀʀᴛɪɴ", "", "full name"),  # small capitals
    ("lea_mrtn_2", "", "own handle"),
    ("lea.mrtn", "", "own handle"),
    ("real.lea_mrtn", "", "own handle"),
    ("lea_mrtn", "", "own handle"),  # her Instagram handle on another platform (below)
    ("lele.martin", "", "nickname and last name"),
]


@pytest.mark.parametrize("handle, display, what", [c for c in LOOK_ALIKES if c[2]])
def test_a_look_alike_is_found(handle, display, what):
    platform = "tiktok" if handle == "lea_mrtn" else "instagram"
    found = WATCH.check(platform, handle, display)
    assert found is not None, (handle, display)
    assert found.child == "Léa Martin" and found.what == what


NEAR_MISSES = [
    ("lea.martinez", ""),
    ("leamarchand", ""),
    ("lea.dubois", "Léa Dubois"),  # a different Léa
    ("lea", ""),
    ("lea_2012", "Léa"),  # a first name alone
    ("martin", "M. Martin"),  # a last name alone
    ("le4_ma5tin", ""),
    ("leа.mартin", ""),
    ("lεa.mοrtin", ""),
    ("emma.martin", "Emma Martin"),  # another child's first name with this last name
    ("realmartin", ""),
]


@pytest.mark.parametrize("handle, display", NEAR_MISSES)
def test_a_near_miss_is_not(handle, display):
    found = WATCH.check("instagram", handle, display)
    assert found is None or found.child != "Léa Martin", (handle, display, found)


def test_her_own_accounts_never_count():
    assert WATCH.check("instagram", "lea_mrtn", "Léa Martin") is None
    assert WATCH.check("instagram", "@Lea_Mrtn", "") is None
    assert WATCH.check("tiktok", "leamrtn.dance", "") is None


def test_the_same_handle_on_another_platform_is_a_look_alike():
    assert WATCH.check("tiktok", "lea_mrtn", "").what == "own handle"


def test_each_child_is_told_apart():
    assert WATCH.check("instagram", "theo.martin", "").child == "Théo Martin"
    assert WATCH.check("x", "emma_drd_backup", "").child == "Emma Durand"
    assert WATCH.check("instagram", "emma.durand.officiel", "").child == "Emma Durand"


def test_a_child_with_a_first_name_only_is_never_matched_by_name():
    watch = NameWatch([Child("Léa")])
    assert watch.check("instagram", "lea", "Léa") is None
    assert watch.check("instagram", "lea.martin", "") is None


def test_folding():
    assert words("Léa  MARTIN_2012") == ["iea", "martin"]
    assert words("l3a.m4rt1n") == ["iea", "martin"]
    assert "ieamartin" in skeletons("real_leamartin_officiel")
    assert "ieamartin" in skeletons("leamartinofficiel")
