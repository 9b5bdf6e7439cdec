"""server/cli/children.py: `sentinelle child set` and `child list`, as a parent types them, on a real data dir."""

from __future__ import annotations

import json

from click.testing import CliRunner

from sentinelle.server.cli.main import cli
from tests.conftest import kodak


def run(data_dir, *args: str):
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args])


def test_a_child_gets_her_names_and_own_accounts(data_dir):
    done = run(data_dir, "child", "set", "Léa  Martin", "--alias", "Lélé", "--handle", "instagram:@lea_mrtn",
               "--handle", "TikTok:leamrtn.dance")
    assert done.exit_code == 0, done.output
    assert "Léa Martin — also Lélé — her accounts: instagram:@lea_mrtn, tiktok:@leamrtn.dance" in done.output
    listed = [json.loads(line) for line in run(data_dir, "child", "list", "--json").output.splitlines()]
    assert listed == [{"name": "Léa Martin", "aliases": ["Lélé"],
                       "handles": [{"platform": "instagram", "handle": "lea_mrtn"},
                                   {"platform": "tiktok", "handle": "leamrtn.dance"}], "photos": 0}]


def test_her_enrolled_photos_stay_hers_and_an_update_keeps_what_it_does_not_name(data_dir):
    run(data_dir, "child", "set", "Léa Martin", "--handle", "instagram:lea_mrtn")
    assert run(data_dir, "enroll", "--child", "Léa Martin", str(kodak(5))).exit_code == 0
    done = run(data_dir, "child", "set", "Léa Martin", "--alias", "Lili")
    assert "also Lili — her accounts: instagram:@lea_mrtn — 1 photo(s) protected" in done.output
    photos = run(data_dir, "photos").output
    assert "(Léa Martin)" in photos


def test_a_wrong_handle_is_refused_with_what_to_write(data_dir):
    for wrong in ("myspace:lea", "instagram:", "lea_mrtn", "x:two words"):
        done = run(data_dir, "child", "set", "Léa Martin", "--handle", wrong)
        assert done.exit_code == 2 and "PLATFORM:HANDLE" in done.output, wrong
    assert run(data_dir, "child", "list").output == ""  # nothing was saved


def test_a_first_name_alone_is_kept_and_the_parent_is_told_what_it_cannot_do(data_dir):
    done = run(data_dir, "child", "set", "Léa")
    assert done.exit_code == 0 and "first name alone" in done.output


def test_the_watch_list_shows_look_alikes_and_a_parent_dismisses_one(data_dir):
    from sentinelle.server.store.records import Store
    from tests.server.store.test_watchlist import lookalike

    assert "The watch list is empty" in run(data_dir, "watchlist").output
    store = Store(data_dir)
    entry, _, _ = store.record_lookalike(lookalike())
    store.close()
    shown = run(data_dir, "watchlist").output
    assert "@alice.martin_2014 (Alice Martin): its handle looks like Alice Martin's full name" in shown
    [listed] = [json.loads(line) for line in run(data_dir, "watchlist", "--json").output.splitlines()]
    assert {k: listed[k] for k in ("platform", "handle", "display_name", "profile_url", "what", "status")} == {
        "platform": "instagram", "handle": "alice.martin_2014", "display_name": "Alice Martin",
        "profile_url": "https://www.instagram.com/alice.martin_2014/", "what": "full name", "status": "open"}
    assert listed["last_seen"].startswith("2026-11-25T07:00")
    assert "dismissed" in run(data_dir, "watchlist", "--dismiss", str(entry["id"])).output
    assert run(data_dir, "watchlist", "--status", "open", "--json").output == ""
    assert run(data_dir, "watchlist", "--dismiss", "99").exit_code == 1


def test_the_readme_s_example_makes_one_child_and_says_what_it_chose(data_dir):
    assert run(data_dir, "enroll", "--child", "Alice", str(kodak(5))).output.startswith("Enrolled 1 photo(s)")
    done = run(data_dir, "child", "set", "Alice Dupont", "--alias", "Lili", "--handle", "instagram:alice_dpt")
    assert done.output.splitlines() == [
        "Alice is now Alice Dupont: the same child.",
        "Alice Dupont — also Lili — her accounts: instagram:@alice_dpt — 1 photo(s) protected"]
    again = run(data_dir, "enroll", "--child", "alice", str(kodak(7)))
    assert again.output.splitlines()[0] == "alice: the photos go to Alice Dupont."
    assert run(data_dir, "child", "set", "ALICE  dupont").output.startswith(
        "ALICE dupont: that is Alice Dupont.\nAlice Dupont — also Lili")
    listed = [json.loads(line)["name"] for line in run(data_dir, "child", "list", "--json").output.splitlines()]
    assert listed == ["Alice Dupont"]
    assert "(Alice Dupont)" in run(data_dir, "photos").output


def test_a_first_name_that_two_full_names_start_with_is_refused_and_nothing_enrolled(data_dir):
    run(data_dir, "child", "set", "Alice Dupont")
    run(data_dir, "child", "set", "Alice Martin")
    for args in (("enroll", "--child", "Alice", str(kodak(5))), ("child", "set", "Alice")):
        done = run(data_dir, *args)
        assert done.exit_code == 1 and "'Alice' could be Alice Dupont or Alice Martin: give her full name" in done.output
    assert "No photo enrolled yet" in run(data_dir, "photos").output


def test_a_child_is_renamed_and_a_name_that_is_another_s_makes_them_one(data_dir):
    run(data_dir, "enroll", "--child", "Alice Dupond", str(kodak(5)))
    run(data_dir, "enroll", "--child", "Alice Dupont", str(kodak(7)))
    done = run(data_dir, "child", "rename", "alice dupond", "Alice Dupont")
    assert done.output.splitlines() == ["Alice Dupond is now Alice Dupont.", "Alice Dupont — 2 photo(s) protected"]
    assert "no child named 'Jules'" in run(data_dir, "child", "rename", "Jules", "Jules Roy").output


def test_removing_a_child_asks_first_then_says_what_became_of_her_photos_and_alerts(data_dir):
    run(data_dir, "enroll", "--child", "Alice Dupont", str(kodak(5)), str(kodak(7)))
    asked = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "child", "remove", "Alice"], input="n\n")
    assert asked.exit_code == 1 and "Remove Alice Dupont and stop protecting her 2 photo(s)? " \
        "Her alerts and their evidence stay." in asked.output
    assert "Alice Dupont" in run(data_dir, "child", "list").output
    done = run(data_dir, "child", "remove", "Alice Dupont", "--yes")
    assert done.output == "Removed Alice Dupont: 2 photo(s) no longer protected; her 0 alert(s) kept.\n"
    assert run(data_dir, "child", "list").output == ""
    assert "No photo enrolled yet" in run(data_dir, "photos").output
    assert "no child named 'Alice Dupont'" in run(data_dir, "child", "remove", "Alice Dupont", "--yes").output
