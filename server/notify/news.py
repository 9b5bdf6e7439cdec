"""What the parent is told away from the PC, and how little: the kinds of news and their words.

Each kind is one entry of `KINDS`: when it is sent (at once, or in the day's digest) and its
sentence for one and for several. A message says whose photos (the child's first name), on
which network and how many — never an image, an address or a link to the post. A channel
with details on also names the accounts, and says what kind of alert it is (without details,
an account that pretends to be the child reads as a copy of her photo, which it also is).

A new kind of news is one line here, and an event of that kind on `Events` (its record with
`id`, and as it has them `child`, `platform`, `account`): `note_of` turns it into a note.
Pure: server/notify/sender.py queues the notes and sends the messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sentinelle.proxy.hosts import OTHER_PLATFORM
from sentinelle.server.words import PLATFORM_NAMES

AT_ONCE, DIGEST = "at once", "digest"
# Accounts named in one sentence, at most (details on): the rest are counted.
MAX_ACCOUNTS = 5
CLOSING = "Open Sentinelle on the family PC."
TITLE = "Sentinelle"


@dataclass(frozen=True)
class Kind:
    """When a kind of news is sent, and its sentence for one (`one`) and for `{n}` (`many`), with
    `{whose}` ("Alice's"), `{who}` ("Alice") and `{networks}`. `plain`: the kind whose words it
    takes on a channel without details."""

    when: str
    one: str
    many: str
    plain: str | None = None


KINDS = {
    "copy": Kind(AT_ONCE, "a copy of one of {whose} photos was seen on {networks}",
                 "{n} copies of {whose} photos were seen on {networks}"),
    "impersonation": Kind(AT_ONCE, "an account that pretends to be {who} showed one of her photos on {networks}",
                          "{n} accounts that pretend to be {who} showed her photos on {networks}", plain="copy"),
    "watch": Kind(DIGEST, "an account whose name looks like {whose} was seen on {networks}",
                  "{n} accounts whose names look like {whose} were seen on {networks}"),
    # A reported account seen gone, and a new one that came back with her photo or her name
    # (server/store/cases.py): the return is news at once, the takedown can wait for the digest.
    "return": Kind(AT_ONCE, "an account came back with {whose} photo or name on {networks}, after one you reported was taken down",
                   "{n} accounts came back with {whose} photos or name on {networks}, after ones you reported were taken down"),
    "takedown": Kind(DIGEST, "an account you reported for {who} is gone from {networks}",
                     "{n} accounts you reported for {who} are gone from {networks}"),
}


@dataclass(frozen=True)
class Note:
    """One piece of news for one channel: what its message may say of it. `key` makes it one
    message per alert and kind, whatever the number of sightings."""

    kind: str
    key: str
    child: str | None
    network: str | None
    account: str | None
    queued_at: datetime
    id: int | None = None  # its row in the outbox

    @property
    def at_once(self) -> bool:
        return KINDS[self.kind].when == AT_ONCE

    @property
    def plain_key(self) -> str:
        """Its key on a channel without details, where it says what its plain kind says: a copy
        told as a copy is not told again when it turns out an impersonation."""
        event, record_id, _ = self.key.split(" ", 2)
        return f"{event} {record_id} {KINDS[self.kind].plain or self.kind}"


def note_of(event: str, record: dict, at: datetime) -> Note | None:
    """The note an event makes, or None for an event the parent is not told of (a sighting of
    an alert told already). An alert's note is of the alert's kind; another event's, of its own.
    An alert of a kind not worded here yet is told as a copy, which every alert is: no alert
    goes untold for want of a line."""
    kind = record.get("kind") if event == "alert" else event
    if event == "alert" and kind not in KINDS:
        kind = "copy"
    if kind not in KINDS or record.get("id") is None:
        return None
    return Note(kind=kind, key=f"{event} {record['id']} {kind}", child=record.get("child"),
                network=record.get("platform"), account=record.get("account") or record.get("handle"),
                queued_at=at)


@dataclass(frozen=True)
class Message:
    title: str
    body: str


# What `sentinelle notify test` and the options page's Test button send.
TEST = Message(TITLE, "A test: Sentinelle's alerts will reach you here. " + CLOSING)


def compose(notes: Iterable[Note], details: bool) -> Message:
    """One message for all the notes a channel is due: a sentence per kind and child (news at
    once first), then where to look. Without `details`, no account is named."""
    groups: dict[tuple[str, str | None], list[Note]] = {}
    for note in sorted(notes, key=lambda n: (not n.at_once, n.queued_at)):
        kind = note.kind if details else (KINDS[note.kind].plain or note.kind)
        groups.setdefault((kind, note.child), []).append(note)
    sentences = [_sentence(KINDS[kind], child, group, details) for (kind, child), group in groups.items()]
    return Message(TITLE, " ".join([*sentences, CLOSING]))


def _sentence(kind: Kind, child: str | None, notes: list[Note], details: bool) -> str:
    first = child.split()[0] if child and child.split() else None
    networks = list(dict.fromkeys(network_name(n.network) for n in notes))
    words = (kind.one if len(notes) == 1 else kind.many).format(
        n=len(notes), who=first or "your child", whose=f"{first}'s" if first else "your child's",
        networks=_listed(networks))
    if details and (accounts := list(dict.fromkeys(
            f"@{n.account}" + (f" on {network_name(n.network)}" if len(networks) > 1 else "")
            for n in notes if n.account))):
        more = len(accounts) - MAX_ACCOUNTS
        words += ": " + ", ".join(accounts[:MAX_ACCOUNTS]) + (f" and {more} more" if more > 0 else "")
    return words[0].upper() + words[1:] + "."


def network_name(platform: str | None) -> str:
    if not platform:
        return "a social network"
    if platform == OTHER_PLATFORM:
        return "a site you added"
    return PLATFORM_NAMES.get(platform, platform)


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
