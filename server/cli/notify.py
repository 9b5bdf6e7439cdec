"""`sentinelle notify`: where alerts reach the parent away from the PC (their phone, their
mailbox), through Apprise, and when.

A channel is an Apprise URL, kept in the store and never printed whole. `add` and `test` load
Apprise (to check a URL, to send); `list`, `remove`, `details` and `hours` do not
(tests/server/cli/test_startup.py). Registered on the `sentinelle` group by server/cli/main.py;
the store keeps the channels and the outbox (server/store/outbox.py); a running Sentinelle
sends (server/notify/sender.py).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import click

from sentinelle.server.notify.timing import hours_given, said
from sentinelle.server.store.schema import StoreError


@click.group()
def notify() -> None:
    """Send alerts to your phone or mailbox: ntfy, e-mail, Telegram, Signal… (through Apprise).

    A message says whose photo was seen on which network, and no more: never the image, the
    account, an address or a link, unless you switch details on for a channel (then it names
    the account and the kind of alert; never the image). Alerts go at once (a burst within a
    minute as one message); the watch list once a day, at the digest's hour; nothing during
    quiet hours, then one message.

    \b
    Example:
      sentinelle notify add ntfy://sentinelle-dupont-7f3k --name phone
      sentinelle notify test phone
      sentinelle notify list
      sentinelle notify hours --digest 19:00 --quiet 22:00-07:00
    """


@notify.command("add")
@click.argument("url")
@click.option("--name", help="What to call it [default: its service, e.g. ntfy, e-mail].")
@click.option("--details", is_flag=True,
              help="Also name the account and the kind of alert (never the image or a link).")
@click.pass_obj
def add(obj, url: str, name: str | None, details: bool) -> None:
    """Add a channel: an Apprise URL (each service's: https://github.com/caronc/apprise/wiki).

    URL `-` reads it from the standard input, which keeps its token out of the shell's history.

    \b
    Example:
      sentinelle notify add ntfy://sentinelle-dupont-7f3k --name phone
          (ntfy: a topic of your own, hard to guess, in the ntfy app)
      sentinelle notify add 'mailtos://you:app-password@gmail.com' --name mail
          (e-mail, through your provider: an app password, not your own)
      sentinelle notify add tgram://BOT_TOKEN/CHAT_ID --details
          (Telegram: a bot of your own, and your chat with it)
    """
    if url == "-":
        url = sys.stdin.readline()
    from sentinelle.server.notify.channels import ChannelError, check, default_name

    try:
        shown = check(url)
    except ChannelError as e:
        raise click.ClickException(str(e)) from None
    store = obj.store
    name = " ".join((name or "").split()) or default_name(url, {c["name"] for c in store.channels()})
    try:
        channel = store.add_channel(name, url.strip(), shown, details, datetime.now(UTC))
    except StoreError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"Added {channel['name']}: {channel['shown']} ({'with' if details else 'without'} details).\n"
               f"  Try it: sentinelle notify test {channel['name']}")


@notify.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, the hours last.")
@click.pass_obj
def list_channels(obj, as_json: bool) -> None:
    """The channels (their URLs masked), whether they work, and when you hear of what."""
    store = obj.store
    channels, hours = store.channels(), store.notify_hours()
    if as_json:
        for channel in channels:
            click.echo(json.dumps(channel, ensure_ascii=False))
        click.echo(json.dumps({"hours": hours}))
        return
    if not channels:
        click.echo("No channel: alerts reach only this PC's browser. Add one: sentinelle notify add --help")
    for channel in channels:
        click.echo(f"{channel['name']}  {channel['shown']}  ({'with' if channel['details'] else 'without'} details)\n"
                   f"      {describe(channel)}")
    click.echo(said(hours))


def describe(channel: dict) -> str:
    """How a channel is doing, in a line: working, or failing since when, why and what waits."""
    waiting = f"; {channel['pending']} waiting" if channel["pending"] else ""
    if channel["failures"]:
        return (f"FAILING since {_local(channel['failing_since'])} ({channel['failures']} tries): "
                f"{channel['last_error']}; next try {_local(channel['next_try_at'])}{waiting}")
    sent = f"last sent {_local(channel['last_sent_at'])}" if channel["last_sent_at"] else "nothing sent yet"
    return f"works: {sent}{waiting}"


@notify.command("remove")
@click.argument("name")
@click.pass_obj
def remove(obj, name: str) -> None:
    """Remove a channel, and what it had waiting."""
    channel = _known(obj.store, name)
    obj.store.remove_channel(channel["id"])
    click.echo(f"Removed {channel['name']} ({channel['shown']}).")


@notify.command("test")
@click.argument("name", required=False)
@click.pass_obj
def test(obj, name: str | None) -> None:
    """Send a test message now, to NAME or to every channel. Exit code 1 if one fails."""
    from sentinelle.server.notify.channels import send
    from sentinelle.server.notify.news import TEST

    store = obj.store
    chosen = [_known(store, name)] if name else store.channels()
    if not chosen:
        raise click.ClickException("no channel yet: sentinelle notify add --help")
    failed = 0
    for channel in chosen:
        reason = send(store.channel_url(channel["id"]), TEST)
        if reason is None:
            store.test_reached(channel["id"], datetime.now(UTC))  # what it had waiting goes at the next look
            click.echo(f"✓ {channel['name']}: sent.")
        else:
            failed += 1
            click.echo(f"✗ {channel['name']} ({channel['shown']}): {reason}")
    if failed:
        sys.exit(1)


@notify.command("details")
@click.argument("name")
@click.argument("on_off", type=click.Choice(["on", "off"]), metavar="on|off")
@click.pass_obj
def details(obj, name: str, on_off: str) -> None:
    """Whether a channel's messages name the account and the kind of alert (never the image)."""
    channel = obj.store.set_channel_details(_known(obj.store, name)["id"], on_off == "on")
    click.echo(f"{channel['name']}: details {on_off}.")


@notify.command("hours")
@click.option("--digest", metavar="HH:MM", help="When the day's digest (the watch list) is sent.")
@click.option("--quiet", metavar="HH:MM-HH:MM", help="Nothing is sent between these times; then one message.")
@click.option("--no-quiet", is_flag=True, help="No quiet hours.")
@click.pass_obj
def hours(obj, digest: str | None, quiet: str | None, no_quiet: bool) -> None:
    """When you hear of what can wait, and quiet hours (the PC's time). Without options: shows them.

    \b
    Example:
      sentinelle notify hours --digest 19:00 --quiet 22:00-07:00
    """
    changes: dict = {}
    if digest is not None:
        changes["digest"] = digest
    if quiet is not None:
        start, sep, end = quiet.partition("-")
        if not sep:
            raise click.BadParameter(f"{quiet!r}: write the quiet hours as HH:MM-HH:MM, e.g. 22:00-07:00",
                                     param_hint="--quiet")
        changes["quiet"] = [start, end]
    if no_quiet:
        changes["quiet"] = None
    try:
        changes = hours_given(changes)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    click.echo(said(obj.store.set_notify_hours(changes) if changes else obj.store.notify_hours()))


def _known(store, name: str) -> dict:
    channel = store.channel(" ".join(name.split())) or (store.channel(int(name)) if name.isdigit() else None)
    if channel is None:
        raise click.ClickException(f"no channel named {name!r}: see `sentinelle notify list`")
    return channel


def _local(moment: str | None) -> str:
    return datetime.fromisoformat(moment).astimezone().strftime("%Y-%m-%d %H:%M") if moment else "?"
