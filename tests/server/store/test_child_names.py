"""server/store/child_names.py: which child a name the parent types means."""

from __future__ import annotations

import pytest

from sentinelle.server.store.child_names import one_child_each, same_name, which_child


@pytest.mark.parametrize("typed", ["Léa Martin", "léa martin", "LEA  MARTIN", "  Lea Martin ", "Léa\tMartin"])
def test_case_accents_and_spaces_never_make_another_child(typed):
    meant = which_child(typed, ["Alice Dupont", "Léa Martin"])
    assert (meant.known, meant.name, meant.renamed) == ("Léa Martin", "Léa Martin", False)


def test_a_first_name_means_the_one_child_whose_full_name_starts_with_it():
    assert which_child("alice", ["Alice Dupont", "Léa Martin"]).name == "Alice Dupont"
    assert which_child("Lea", ["Alice Dupont", "Léa Martin"]).known == "Léa Martin"
    # Not the start of a word elsewhere in her name, nor a first name that merely begins the same way.
    assert which_child("Martin", ["Léa Martin"]).known is None
    assert which_child("Ali", ["Alice Dupont"]).known is None


def test_a_first_name_several_full_names_start_with_chooses_none():
    meant = which_child("Alice", ["Alice Dupont", "Alice Martin"])
    assert meant.known is None and meant.ambiguous == ("Alice Dupont", "Alice Martin")


def test_a_child_known_by_her_first_name_alone_is_given_her_full_name():
    meant = which_child("Alice  Dupont", ["Alice", "Léa Martin"])
    assert (meant.known, meant.name, meant.renamed) == ("Alice", "Alice Dupont", True)
    # A first name typed alone is still hers, and another full name is another child.
    assert which_child("Alice", ["Alice", "Alice Martin"]).known == "Alice"
    assert which_child("Alice Dupont", ["Alice", "Alice Martin"]).known is None


def test_a_new_name_is_a_new_child_with_its_spaces_tidied():
    meant = which_child(" Jules   Roy ", ["Alice Dupont"])
    assert (meant.known, meant.name, meant.ambiguous) == (None, "Jules Roy", ())
    assert which_child("\u0301", []).known is None  # a mark alone: no word to compare


def test_same_name_keeps_only_what_tells_names_apart():
    assert same_name("  Éloïse   O'Brien-Ça ") == "eloise o'brien-ca"
    assert same_name("STRASSE") == same_name("straße")


def test_a_store_that_kept_one_child_as_several_makes_her_one():
    children = [(1, "Alice"), (2, "Alice Dupont"), (3, "léa martin"), (4, "Léa  Martin"), (5, "Jules")]
    merges, renames = one_child_each(children)
    assert sorted(merges) == [(1, 2), (4, 3)]  # the first name joins the full name; spellings join the oldest
    assert renames == {}
    assert one_child_each([(7, "Zoé  Roy")]) == ([], {7: "Zoé Roy"})


def test_a_first_name_several_full_names_start_with_is_left_alone():
    merges, _ = one_child_each([(1, "Alice"), (2, "Alice Dupont"), (3, "Alice Martin")])
    assert merges == []
