"""server/notify/news.py: what a message says, and how little without details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sentinelle.server.notify.news import CLOSING, KINDS, compose, note_of

AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def alert(alert_id: int = 1, kind: str = "copy", child: str | None = "Alice Dupont", platform: str = "instagram",
          account: str | None = "fake.account.123") -> dict:
    return {"id": alert_id, "kind": kind, "child": child, "platform": platform, "account": account,
            "image_url": "https://scontent.cdninstagram.com/v/1.jpg", "post_url": "https://www.instagram.com/p/x/",
            "photo_name": "beach.jpg"}


def notes(*records: dict, event: str = "alert"):
    return [note_of(event, record, AT + timedelta(seconds=i)) for i, record in enumerate(records)]


def test_one_copy_without_details_says_whose_photo_and_where_and_nothing_else():
    message = compose(notes(alert()), details=False)
    assert message.title == "Sentinelle"
    assert message.body == ("A copy of one of Alice's photos was seen on Instagram. "
                            "Open Sentinelle on the family PC.")


def test_without_details_no_account_no_kind_no_address_no_file_name():
    record = alert(kind="impersonation", account="alice.dupont.2013")
    message = compose(notes(record), details=False)
    text = message.title + message.body
    for private in ("alice.dupont.2013", "@", "http", "cdninstagram", "beach.jpg", "Dupont", "pretend"):
        assert private not in text, private
    assert message.body.startswith("A copy of one of Alice's photos was seen on Instagram.")


def test_with_details_the_account_and_the_kind_of_alert_are_named():
    message = compose(notes(alert(1, account="fake.account.123"),
                            alert(2, kind="impersonation", account="alice.dupont.2013")), details=True)
    assert message.body == ("A copy of one of Alice's photos was seen on Instagram: @fake.account.123. "
                            "An account that pretends to be Alice showed one of her photos on Instagram: "
                            "@alice.dupont.2013. " + CLOSING)
    assert "http" not in message.body and "beach.jpg" not in message.body


def test_a_burst_is_one_message_that_counts_per_child_and_names_the_networks():
    burst = [alert(i, platform="instagram" if i < 4 else "tiktok") for i in range(1, 6)]
    burst.append(alert(9, child="Léo Martin", platform="x", account=None))
    message = compose(notes(*burst), details=False)
    assert message.body == ("5 copies of Alice's photos were seen on Instagram and TikTok. "
                            "A copy of one of Léo's photos was seen on X (Twitter). " + CLOSING)


def test_details_name_a_few_accounts_and_count_the_rest():
    burst = [alert(i, account=f"copycat{i}") for i in range(1, 9)]
    body = compose(notes(*burst), details=True).body
    assert "8 copies of Alice's photos were seen on Instagram: @copycat1, @copycat2, @copycat3, @copycat4, " \
           "@copycat5 and 3 more." in body


def test_alerts_come_before_what_can_wait_and_a_photo_of_no_named_child_is_said_so():
    watched = {"id": 4, "child": "Alice Dupont", "platform": "instagram", "handle": "alice_d0upont"}
    mixed = notes(watched, event="watch") + notes(alert(2, child=None))
    body = compose(mixed, details=False).body
    assert body == ("A copy of one of your child's photos was seen on Instagram. An account whose name looks "
                    "like Alice's was seen on Instagram. " + CLOSING)
    assert "alice_d0upont" not in body and "alice_d0upont" in compose(mixed, details=True).body


def test_which_events_the_parent_is_told_of():
    copy = note_of("alert", alert(7), AT)
    assert (copy.kind, copy.key, copy.at_once, copy.account) == ("copy", "alert 7 copy", True, "fake.account.123")
    upgraded = note_of("alert", alert(7, kind="impersonation"), AT)
    # A copy that turns out an impersonation: told again where details say so, not where they do not.
    assert (upgraded.key, upgraded.plain_key, copy.plain_key) == ("alert 7 impersonation", "alert 7 copy", "alert 7 copy")
    assert note_of("sighting", alert(7), AT) is None  # one message per alert, whatever the sightings
    watched = note_of("watch", {"id": 3, "child": "Alice", "platform": "tiktok", "handle": "alice"}, AT)
    assert (watched.kind, watched.at_once, watched.account) == ("watch", False, "alice")
    assert note_of("alert", alert(8, kind="something-new"), AT).key == "alert 8 copy"  # untold for want of words: never
    assert note_of("casefile", {"id": 1}, AT) is None


def test_a_return_is_told_at_once_and_a_takedown_waits_for_the_digest():
    """The events of a case (server/alerts/recorder.py: `return`, `takedown`), as the store makes
    them: an account's event with its case's child, its platform and its handle."""
    back = {"id": 2, "kind": "returned", "child": "Alice Dupont", "platform": "instagram", "handle": "alice.again",
            "detail": {"after": "alice.martin.2014", "days": 2.0, "how": "photo"}}
    note = note_of("return", back, AT)
    assert (note.kind, note.at_once, note.account) == ("return", True, "alice.again")
    assert compose([note], details=False).body == (
        "An account came back with Alice's photo or name on Instagram, after one you reported was taken down. "
        + CLOSING)
    assert "@alice.again" in compose([note], details=True).body
    gone = note_of("takedown", {"id": 1, "kind": "taken_down", "child": "Alice Dupont", "platform": "instagram",
                                "handle": "alice.martin.2014"}, AT)
    assert (gone.kind, gone.at_once) == ("takedown", False)
    assert compose([gone], details=False).body.startswith("An account you reported for Alice is gone from Instagram.")
    assert set(KINDS) == {"copy", "impersonation", "watch", "return", "takedown"}
