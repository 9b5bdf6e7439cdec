"""server/cli/notify.py: `sentinelle notify` as a parent types it, on a real data dir, sending
through Apprise to a real receiver on 127.0.0.1. A channel's secret is never printed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from sentinelle.server.cli.main import cli
from sentinelle.server.notify.news import TEST
from sentinelle.server.store.records import Store
from tests.support.receivers import HttpReceiver, InAThread

TOKEN = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def run(data_dir, *args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], input=input)


@pytest.fixture
def receiver():
    running = InAThread(HttpReceiver)
    yield running.receiver
    running.stop()


def test_a_channel_is_added_listed_masked_and_removed(data_dir):
    added = run(data_dir, "notify", "add", f"tgram://123456789:{TOKEN}/987654321", "--details")
    assert added.exit_code == 0, added.output
    assert added.output.startswith("Added telegram: tgram://1...w/9...1 (with details).")
    from_stdin = run(data_dir, "notify", "add", "-", "--name", "phone", input="ntfy://sentinelle-dupont-7f3k\n")
    assert "Added phone: ntfys://s...k (without details)." in from_stdin.output
    listed = run(data_dir, "notify", "list")
    assert "telegram  tgram://1...w/9...1  (with details)\n      works: nothing sent yet" in listed.output
    assert "every day at 18:00. No quiet hours." in listed.output
    as_json = [json.loads(line) for line in run(data_dir, "notify", "list", "--json").output.splitlines()]
    assert [c.get("name") for c in as_json] == ["telegram", "phone", None] and as_json[-1]["hours"]["digest"] == "18:00"
    for done in (added, from_stdin, listed):
        assert TOKEN not in done.output and "sentinelle-dupont-7f3k" not in done.output
    assert run(data_dir, "notify", "details", "phone", "on").output == "phone: details on.\n"
    assert run(data_dir, "notify", "remove", "telegram").output == "Removed telegram (tgram://1...w/9...1).\n"
    assert "telegram" not in run(data_dir, "notify", "list").output
    gone = run(data_dir, "notify", "remove", "telegram")
    assert gone.exit_code == 1 and "no channel named 'telegram'" in gone.output


def test_a_url_apprise_cannot_use_is_refused(data_dir):
    done = run(data_dir, "notify", "add", "bogus://x")
    assert done.exit_code == 1 and "bogus:// is no service Apprise knows" in done.output
    assert "github.com/caronc/apprise/wiki" in done.output
    run(data_dir, "notify", "add", "ntfy://topic-one", "--name", "phone")
    taken = run(data_dir, "notify", "add", "ntfy://topic-two", "--name", "phone")
    assert taken.exit_code == 1 and "already named 'phone'" in taken.output


def test_test_sends_now_and_a_failure_is_shown_with_why(data_dir, receiver):
    run(data_dir, "notify", "add", receiver.url("json", "/hooks/private-hook"), "--name", "hook")
    sent = run(data_dir, "notify", "test")
    assert sent.exit_code == 0 and sent.output == "✓ hook: sent.\n"
    assert "works: last sent" in run(data_dir, "notify", "list").output
    assert [r.message()["message"] for r in receiver.received] == [TEST.body]
    receiver.mode = "refuse"
    failed = run(data_dir, "notify", "test", "hook")
    assert failed.exit_code == 1 and "✗ hook (json://127.0.0.1:" in failed.output and "error=500" in failed.output
    assert "private-hook" not in failed.output


def test_list_and_doctor_show_a_channel_that_fails(data_dir):
    run(data_dir, "notify", "add", "ntfy://sentinelle-dupont-7f3k", "--name", "phone")
    store = Store(data_dir)
    try:
        channel = store.channel("phone")
        store.queue_note("alert 1 copy", "alert 1 copy", "copy", "Alice", "instagram", None, datetime.now(UTC))
        store.sending_failed(channel["id"], datetime(2026, 12, 7, 8, 0, tzinfo=UTC), "Connection refused",
                             datetime(2026, 12, 7, 8, 1, tzinfo=UTC))
    finally:
        store.close()
    listed = run(data_dir, "notify", "list").output
    assert "FAILING since " in listed and "(1 tries): Connection refused; next try" in listed and "1 waiting" in listed
    doctor = run(data_dir, "doctor", "--json", "--api-port", "9", "--proxy-port", "9")
    [check] = [c for c in json.loads(doctor.output)["checks"] if c["name"] == "alerts to your phone or mailbox"]
    assert not check["ok"] and "phone failing since" in check["found"] and "Connection refused" in check["found"]
    assert "sentinelle notify test" in check["fix"]


def test_the_hours_are_set_and_shown(data_dir):
    assert run(data_dir, "notify", "hours").output == "What can wait (the watch list): every day at 18:00. No quiet hours.\n"
    done = run(data_dir, "notify", "hours", "--digest", "7:30", "--quiet", "22:00-7:00")
    assert done.output.endswith("every day at 07:30. Quiet hours: 22:00 to 07:00.\n")
    assert run(data_dir, "notify", "hours", "--no-quiet").output.endswith("07:30. No quiet hours.\n")
    for wrong in (("--digest", "25:00"), ("--quiet", "22:00"), ("--quiet", "22:00-7h")):
        refused = run(data_dir, "notify", "hours", *wrong)
        assert refused.exit_code == 2 and "HH:MM" in refused.output, wrong
