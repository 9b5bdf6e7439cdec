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
