"""`sentinelle reported`: keep that the parent reported an alert or an account, where and when;
and `sentinelle case`: a case's timeline (every account, sighting, report, takedown and return).

Registered on the `sentinelle` group by server/cli/main.py; the store keeps cases
(server/store/cases.py) and the timeline is written by server/casefile/timeline.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from sentinelle.server.casefile.timeline import ESCALATE_AFTER_DAYS, accounts, reports, timeline
from sentinelle.server.store.cases import CHANNELS
from sentinelle.server.store.schema import StoreError


@click.command()
@click.argument("target", metavar="ALERT_OR_ACCOUNT")
@click.option("--channel", default="platform", show_default=True, metavar="NAME",
              help=f"Where you reported it: {', '.join(CHANNELS)}, or any other name.")
@click.option("--ref", "reference", metavar="TEXT", help="The reference number the platform or the police gave you.")
@click.option("--on", "on", metavar="DATE", help="When you reported it (YYYY-MM-DD, or YYYY-MM-DDTHH:MM) [default: now].")
@click.pass_obj
def reported(obj, target: str, channel: str, reference: str | None, on: str | None) -> None:
    """Keep that you reported an alert or an account: it joins its case's timeline.

    ALERT_OR_ACCOUNT is an alert's number (from `sentinelle log`) or an account (@name, or
    platform:name when the name is on two networks). While Sentinelle runs, it then watches
    for the account's profile answering that it no longer exists (a takedown), and the case
    says how long the report has gone unanswered.

    \b
    Example:
      sentinelle reported 12 --channel platform --ref 1234567890
      sentinelle reported @alice.martin.2014 --channel pharos --on 2026-11-25
    """
    try:
        report = obj.store.record_report(target, channel, reference, on)
    except StoreError as e:
        raise click.ClickException(str(e)) from None
    what = f"@{report['handle']}" if report["handle"] else f"alert #{report['alert_id']}"
    ref = f" (reference {report['ref']})" if report["ref"] else ""
    click.echo(f"Reported {what} to {report['channel']} on {report['reported_on'][:16].replace('T', ' ')} UTC{ref}: "
               f"kept in case #{report['case_id']}.")


@click.command("case")
@click.argument("child", required=False)
@click.option("--json", "as_json", is_flag=True, help="The cases as one JSON object each, one a line.")
@click.option("--escalate-after", type=click.IntRange(min=1), default=ESCALATE_AFTER_DAYS, show_default=True,
              metavar="DAYS", help="Days without an answer after which a report is due to be escalated.")
@click.option("--move", "move", type=int, metavar="ALERT", help="Move this alert to another case (--to).")
@click.option("--to", "to", metavar="CASE", help="With --move: a case's number, or `new` for a case of its own.")
@click.pass_obj
def case(obj, child: str | None, as_json: bool, escalate_after: int, move: int | None, to: str | None) -> None:
    """Show a case's timeline: every account, sighting, report, takedown and return, in order.

    A case holds a child's alerts and the accounts that looked like her (one case per child
    to begin with); CHILD is her name (all cases when not given). Times are in UTC and in
    this computer's time. `--move ALERT --to new` splits an alert off into a case of its own.

    \b
    Example:
      sentinelle case "Alice Martin"
      sentinelle case --move 12 --to new
    """
    store = obj.store
    try:
        if move is not None:
            if to is None:
                raise click.BadParameter("--move needs --to CASE (a case's number, or new)", param_hint="--to")
            moved = store.move_alert(move, None if to == "new" else _number(to))
            click.echo(f"Alert #{move} is now in case #{moved['id']}.")
            return
        chosen = store.cases_of(child) if child else store.cases()
    except StoreError as e:
        raise click.ClickException(str(e)) from None
    if not chosen:
        click.echo("No case yet: a case begins with a child's first alert.")
    now = datetime.now(UTC)
    for found in chosen:
        record = store.case_record(found["id"])
        entries = timeline(record, now, escalate_after)
        if as_json:
            click.echo(json.dumps({"case": found, "accounts": accounts(record),
                                   "reports": reports(record, now, escalate_after), "timeline": entries},
                                  ensure_ascii=False))
            continue
        click.echo(f"Case #{found['id']} — {found['child'] or 'no child named'} "
                   f"({found['alerts']} alert(s), {len(record['reports'])} report(s))")
        for entry in entries:
            click.echo(f"  {entry['utc']}  ({entry['local']})  {entry['kind']:<10}  {entry['text']}")
        due = [r for r in reports(record, now, escalate_after) if r["escalate"]]
        if due:
            click.echo(f"  {len(due)} report(s) unanswered for {escalate_after} days or more: "
                       "escalate (see `sentinelle export --case` for your country's channels).")


def _number(text: str) -> int:
    if not text.lstrip("#").isdigit():
        raise click.BadParameter(f"{text!r}: a case's number, or new", param_hint="--to")
    return int(text.lstrip("#"))
