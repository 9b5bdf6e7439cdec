"""server/words.py: names put into the report's sentences as each language writes them, a return said
in days, and what said an account is gone said in the parent's language."""

from __future__ import annotations

import pytest

from sentinelle.proxy.feeds.gone import MEANINGS, NO_SUCH_ACCOUNT, PAGE_SAYS
from sentinelle.server.words import WORDS, came_back, vowel_sound, why_gone, with_names


@pytest.mark.parametrize(("name", "vowel"), [
    ("Alice", True), ("Éloïse", True), ("île", True), ("Œdipe", True), ("Ugo", True),
    ("Hélène", True), ("Hugo", True), ("Yves", True), ("Yvette", True),
    ("Léa", False), ("Yann", False), ("Yasmine", False), ("Hr", False), ("@alice", False), ("", False),
])
def test_a_vowel_sound_is_a_vowel_a_mute_h_or_a_y_before_a_consonant(name, vowel):
    assert vowel_sound(name) is vowel


def test_french_elides_the_word_before_a_name_that_begins_with_a_vowel_sound():
    assert with_names("une photo de {child}", "fr", child="Alice") == "une photo d'Alice"
    assert with_names("une photo de {child}", "fr", child="Léa") == "une photo de Léa"
    assert with_names("De {child}, que {b}, le {c}, la {d}, jusque {e}", "fr",
                      child="Hugo", b="Yves", c="Ours", d="Île", e="Emma") == "D'Hugo, qu'Yves, l'Ours, l'Île, jusqu'Emma"
    # Only the word right before the name, only whole words, and never in English.
    assert with_names("fonde {child}", "fr", child="Alice") == "fonde Alice"
    assert with_names("a photo de {child}", "en", child="Alice") == "a photo de Alice"


def test_the_report_s_french_sentences_elide_before_the_child_s_name():
    assert with_names(WORDS["profile_picture"]["fr"], "fr", account="x", platform="X", child="Alice") == \
        "@x utilise une photo d'Alice comme photo de profil sur X"
    what = with_names(WORDS["own handle"]["fr"], "fr", child="Inès Roy")
    assert with_names(WORDS["resemblance"]["fr"], "fr", field="identifiant", what=what) == \
        "son identifiant ressemble à l'un des identifiants d'Inès Roy"


@pytest.mark.parametrize(("days", "en", "fr"), [
    (None, "less than a day", "moins d'un jour"), (0.6, "less than a day", "moins d'un jour"),
    (1.4, "1 day", "1 jour"), (2.6, "3 days", "3 jours")])
def test_a_return_is_said_in_whole_days_in_both_languages(days, en, fr):
    back = {"handle": "alice.again", "detail": {"after": "fake.alice", "days": days}}
    assert came_back(back) == f"came back as @alice.again, {en} after @fake.alice was taken down"
    assert came_back(back, "fr") == f"revenu sous le nom @alice.again, {fr} après la suppression de @fake.alice"


def test_what_said_an_account_is_gone_is_said_in_the_parent_s_language_around_the_network_s_words():
    page = {"why": "Sorry, this page isn't available", "means": PAGE_SAYS}
    assert why_gone(page) == "the page says “Sorry, this page isn't available”"
    assert why_gone(page, "fr") == "la page indique « Sorry, this page isn't available »"
    tiktok = {"why": "statusCode 10202", "means": NO_SUCH_ACCOUNT}
    assert (why_gone(tiktok), why_gone(tiktok, "fr")) == ("statusCode 10202 (no such account)",
                                                          "statusCode 10202 (compte inexistant)")
    # A status, or a reason no words are known for (a newer Sentinelle's), as the network gave it.
    assert why_gone({"why": "HTTP 404"}, "fr") == "HTTP 404"
    assert why_gone({"why": "HTTP 410", "means": "gone_in_a_newer_sentinelle"}, "fr") == "HTTP 410"


@pytest.mark.parametrize("means", MEANINGS)
def test_every_meaning_a_network_s_answer_can_have_has_words_in_both_languages(means):
    assert set(WORDS[means]) == {"en", "fr"}
    assert all("{why}" in words for words in WORDS[means].values())
