"""`sentinelle child`: a child's names and her own accounts, as the parent says them; and
`sentinelle watchlist`: the accounts whose names look like hers.

Her full name and nicknames let Sentinelle see accounts that pretend to be her; her own
accounts (`--handle PLATFORM:HANDLE`) are never flagged. Registered on the `sentinelle`
group by server/cli/main.py; the store keeps them (server/store/children.py, watchlist.py).
"""

from __future__ import annotations

import json

import click

from sentinelle.proxy.hosts import SOCIAL_DOMAINS
from sentinelle.server.store.child_names import Meant
from sentinelle.server.store.schema import StoreError
from sentinelle.server.store.watchlist import WATCH_STATUSES


def parse_handle(value: str) -> tuple[str, str]:
    """`instagram:lea_mrtn` → ("instagram", "lea_mrtn"); click.BadParameter otherwise."""
    platform, sep, handle = value.partition(":")
    platform, handle = platform.strip().lower(), handle.strip().lstrip("@")
    if not sep or platform not in SOCIAL_DOMAINS or not handle or any(c.isspace() for c in handle):
        raise click.BadParameter(
            f"{value!r}: write PLATFORM:HANDLE, PLATFORM one of {', '.join(SOCIAL_DOMAINS)}")
    return platform, handle


@click.group()
def child() -> None:
    """A child's names and her own accounts (to see accounts that pretend to be her).

    \b
    Example:
      sentinelle child set "Léa Martin" --alias Lélé --handle instagram:lea_mrtn
      sentinelle child list
      sentinelle child remove "Léa Martin"
    """


@child.command("set")
@click.argument("name")
@click.option("--alias", "aliases", multiple=True, metavar="TEXT", help="A nickname (repeatable).")
@click.option("--handle", "handles", multiple=True, metavar="PLATFORM:HANDLE",
              help="One of her own accounts, never flagged (repeatable).")
@click.pass_obj
def set_child(obj, name: str, aliases: tuple[str, ...], handles: tuple[str, ...]) -> None:
    """Create or update a child: her full name, nicknames and own accounts.

    NAME means the child it names whatever its case, accents or spaces; her first name alone
    means her when hers is the only full name that starts with it; and her full name, given
    to a child known so far by her first name alone, becomes her name. Nicknames or handles
    given replace hers; those not given stay as they were.

    \b
    Example:
      sentinelle child set "Léa Martin" --alias Lélé --handle instagram:lea_mrtn
    """
    if not name.split():
        raise click.BadParameter("the child's name is empty", param_hint="NAME")
    parsed = [parse_handle(h) for h in handles]
    try:
        saved, meant = obj.store.set_child(name, [a.strip() for a in aliases if a.strip()] if aliases else None,
                                           parsed if handles else None)
    except StoreError as e:
        raise click.ClickException(str(e)) from None
    if chosen := said_whom(meant, "that is {name}"):
        click.echo(chosen)
    click.echo(_describe(saved))
    if len(saved["name"].split()) < 2:
        click.echo("  Note: with a first name alone, accounts are never matched by her name; "
                   "give her full name to see accounts that take it.")


def said_whom(meant: Meant, known: str) -> str | None:
    """What the parent is told when the name typed was taken for another: `known` (with
    {name}) when it means a child by another spelling; None when it is the name as typed."""
    if meant.renamed:
        return f"{meant.known} is now {meant.name}: the same child."
    if meant.known is not None and meant.known != meant.typed:
        return f"{meant.typed}: {known.format(name=meant.name)}."
    return None


@child.command("rename")
@click.argument("name")
@click.argument("new_name", metavar="NEW_NAME")
@click.pass_obj
def rename(obj, name: str, new_name: str) -> None:
    """Give a child another name (a misspelling mended, a name changed).

    When NEW_NAME is another child's, the two are one child from now on: her photos,
    nicknames and own accounts together, under NEW_NAME.

    \b
    Example:
      sentinelle child rename "Alice Dupond" "Alice Dupont"
    """
    if not new_name.split():
        raise click.BadParameter("the new name is empty", param_hint="NEW_NAME")
    found = _known(obj.store, name)
    renamed = obj.store.rename_child(found["id"], new_name)
    click.echo(f"{found['name']} is now {renamed['name']}.")
    click.echo(_describe(renamed))


@child.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def remove(obj, name: str, yes: bool) -> None:
    """Stop watching for a child: her names, own accounts and photos.

    Her photos are no longer protected (Sentinelle deletes what it kept of them, as `forget`
    does); her alerts and their evidence stay, with her name, for a case file.

    \b
    Example:
      sentinelle child remove "Alice Dupont"
    """
    found = _known(obj.store, name)
    if not yes:
        click.confirm(f"Remove {found['name']} and stop protecting her {found['photos']} photo(s)? "
                      "Her alerts and their evidence stay.", abort=True)
    removed = obj.store.remove_child(found["id"])
    if removed["photos"]:
        from sentinelle.server.alerts.protected import keep_index  # the engine, only when photos went

        keep_index(obj.store, obj.data_dir)
    click.echo(f"Removed {removed['name']}: {removed['photos']} photo(s) no longer protected; "
               f"her {removed['alerts']} alert(s) kept.")


def _known(store, name: str) -> dict:
    """The child the parent names, or a ClickException that says why there is none."""
    try:
        meant = store.meant_child(name)
    except StoreError as e:
        raise click.ClickException(str(e)) from None
    found = next((c for c in store.children() if c["name"] == meant.known), None)
    if found is None:
        raise click.ClickException(f"no child named {meant.typed!r}: see `sentinelle child list`")
    return found


@child.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def list_children(obj, as_json: bool) -> None:
    """The children, their nicknames, own accounts and protected photos."""
    for row in obj.store.children():
        if as_json:
            click.echo(json.dumps({"name": row["name"], "aliases": row["aliases"],
                                   "handles": [{"platform": p, "handle": h} for p, h in row["handles"]],
                                   "photos": row["photos"]}, ensure_ascii=False))
        else:
            click.echo(_describe(row))


def _describe(row: dict) -> str:
    parts = [row["name"]]
    if row["aliases"]:
        parts.append("also " + ", ".join(row["aliases"]))
    if row["handles"]:
        parts.append("her accounts: " + ", ".join(f"{p}:@{h}" for p, h in row["handles"]))
    parts.append(f"{row['photos']} photo(s) protected")
    return " — ".join(parts)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--status", type=click.Choice(WATCH_STATUSES), help="Only the accounts with this status.")
@click.option("--dismiss", "dismiss", type=int, metavar="ID", help="Dismiss this account: not her.")
@click.option("--impersonation", "impersonation", type=int, metavar="ID",
              help="Mark this account as pretending to be her.")
@click.pass_obj
def watchlist(obj, as_json: bool, status: str | None, dismiss: int | None, impersonation: int | None) -> None:
    """Accounts whose names look like a child's, newest first.

    An account that also shows one of her photos is an impersonation alert (`sentinelle
    log`); one that only looks like her waits here, without a notification.

    \b
    Example:
      sentinelle watchlist
      sentinelle watchlist --dismiss 3
    """
    for entry_id, new_status in ((dismiss, "dismissed"), (impersonation, "impersonation")):
        if entry_id is not None:
            try:
                entry = obj.store.set_watch_status(entry_id, new_status)
            except StoreError as e:
                raise click.ClickException(str(e)) from None
            click.echo(f"#{entry['id']} @{entry['handle']} on {entry['platform']}: {new_status}.")
            return
    entries = obj.store.watchlist(status)
    if not entries and not as_json:
        click.echo("The watch list is empty: no account seen looks like a child's.")
    for row in entries:
        if as_json:
            click.echo(json.dumps({k: v for k, v in row.items() if k != "record"}, ensure_ascii=False))
            continue
        shown = f" ({row['display_name']})" if row["display_name"] else ""
        photos = f", {row['alerts']} impersonation alert(s)" if row["alerts"] else ""
        click.echo(f"#{row['id']:<4} {row['last_seen'][:19]}  {row['status']:<13} {row['platform']:<10} "
                   f"@{row['handle']}{shown}: its {row['field']} looks like {row['child']}'s {row['what']}"
                   f"{photos}\n      {row['profile_url'] or ''}  seen {row['count']}×")
