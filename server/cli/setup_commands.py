"""The commands that set up the family PC: `setup`, `service`, `doctor`, `uninstall`.

Registered on the `sentinelle` group by server/cli/main.py. Each is a thin layer over
server/setup/plan.py and server/setup/doctor.py; the facts about this machine (platform, home
folder, user) are gathered here, once, in `this_machine()`.
"""

from __future__ import annotations

import getpass
import os
import platform
import sys
from pathlib import Path

import click
from sentinelle.proxy.hosts import normalise_domain
from sentinelle.server.contact import EXTENSION, PAC
from sentinelle.server.setup import doctor as checks
from sentinelle.server.setup.plan import (
    Machine,
    install_service,
    remove_service,
    service_status,
)
from sentinelle.server.setup.plan import setup as do_setup
from sentinelle.server.setup.plan import uninstall as do_uninstall
from sentinelle.server.setup.trust import Runner


def this_machine() -> Machine:
    return Machine(system=platform.system(), home=Path.home(),
                   uid=os.getuid() if hasattr(os, "getuid") else 0, user=getpass.getuser())


def _domain(value: str) -> str:
    try:
        return normalise_domain(value)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--extra-host") from None


DRY_RUN = click.option("--dry-run", is_flag=True, help="Show every step without doing it.")


@click.command()
@DRY_RUN
@click.option("--no-system-store", is_flag=True,
              help="Linux: trust the CA in the browsers only, not in the system store.")
@click.option("--new-ca", is_flag=True, help="Replace the CA with a new one (re-run to trust it).")
@click.option("--extra-host", "extra_hosts", multiple=True, metavar="DOMAIN",
              help="A domain the CA may also vouch for, besides the built-in social networks "
                   "(for `run --set sentinelle_extra_hosts=…`; with a new CA). Repeatable.")
@click.option("--api-port", default=8765, show_default=True, help="Where the extension connects.")
@click.pass_obj
def setup(obj, dry_run: bool, no_system_store: bool, new_ca: bool,
          extra_hosts: tuple[str, ...], api_port: int) -> None:
    """Set up this PC: data folder, token, Sentinelle's own CA, and the browsers' trust in it.

    The CA is made on this PC and can vouch only for the social networks Sentinelle
    watches: a bank's site stays out of its reach even if its key were stolen. Every step
    says what it did and how to undo it; where Sentinelle cannot act (administrator rights,
    a tool missing) it prints the exact command to type. `sentinelle uninstall` undoes it.

    \b
    Example:
      sentinelle setup --dry-run
      sentinelle setup
    """
    obj.close()
    ok = do_setup(obj.data_dir, this_machine(), Runner(dry_run=dry_run), click.echo,
                  system_store=not no_system_store, new_ca=new_ca, api_port=api_port,
                  extra_hosts=[_domain(d) for d in extra_hosts])
    if not ok:
        sys.exit(1)


@click.command()
@DRY_RUN
@click.option("--purge", is_flag=True, help="Also delete the data folder, without asking.")
@click.pass_obj
def uninstall(obj, dry_run: bool, purge: bool) -> None:
    """Remove the trust setup added, the login service and, if you confirm, the data folder.

    The data folder holds the alerts and their evidence: you are asked before it is
    deleted, unless `--purge`.

    \b
    Example:
      sentinelle uninstall --dry-run
      sentinelle uninstall --purge
    """
    obj.close()
    if not purge and not dry_run and obj.data_dir.exists():
        purge = click.confirm(f"Also delete {obj.data_dir} (alerts, evidence, enrolled photos' "
                              "fingerprints)?", default=False)
    ok = do_uninstall(obj.data_dir, this_machine(), Runner(dry_run=dry_run), click.echo, purge=purge)
    if not ok:
        sys.exit(1)


@click.group()
def service() -> None:
    """Start Sentinelle when you log in (systemd on Linux, LaunchAgent on macOS, Task Scheduler on Windows).

    \b
    Example:
      sentinelle service install
      sentinelle service status
      sentinelle service uninstall
    """


@service.command("install")
@DRY_RUN
@click.pass_obj
def service_install(obj, dry_run: bool) -> None:
    """Start Sentinelle at every login, and now.

    \b
    Example:
      sentinelle service install
    """
    if not install_service(obj.data_dir, this_machine(), Runner(dry_run=dry_run), click.echo):
        sys.exit(1)


@service.command("uninstall")
@DRY_RUN
@click.pass_obj
def service_uninstall(obj, dry_run: bool) -> None:
    """Stop Sentinelle and no longer start it at login.

    \b
    Example:
      sentinelle service uninstall
    """
    if not remove_service(obj.data_dir, this_machine(), Runner(dry_run=dry_run), click.echo):
        sys.exit(1)


@service.command("status")
@click.pass_obj
def service_status_command(obj) -> None:
    """Say whether the login service is installed and running (exit code 0 when it runs).

    \b
    Example:
      sentinelle service status
    """
    ok, found = service_status(obj.data_dir, this_machine(), Runner())
    click.echo(found)
    if not ok:
        sys.exit(1)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object: {\"ok\": …, \"checks\": […]}.")
@click.option("--proxy-port", default=8080, show_default=True)
@click.option("--api-port", default=8765, show_default=True)
@click.pass_obj
def doctor(obj, as_json: bool, proxy_port: int, api_port: int) -> None:
    """Check everything, and say what to do for each problem. Exit code 0 only when all pass.

    Checks: the server and the proxy listen, the CA is limited to the social networks and
    trusted by each browser profile found, the extension is paired (its last contact), the
    proxy rules (PAC) are in use, photos are enrolled, disk space, version.

    \b
    Example:
      sentinelle doctor
      sentinelle doctor --json
    """
    machine = this_machine()
    data_dir = obj.data_dir
    found = [
        checks.check_version(),
        checks.check_api(api_port),
        checks.check_proxy(proxy_port),
        checks.check_ca(data_dir),
        *checks.check_trust(data_dir, machine.system, machine.home, Runner()),
        checks.check_contact(data_dir, EXTENSION, api_port),
        checks.check_contact(data_dir, PAC, api_port),
        checks.check_photos(data_dir, lambda: len(obj.store.photos())),
        checks.check_images(data_dir),
        checks.check_disk(data_dir),
    ]
    click.echo(checks.as_json(found) if as_json else checks.as_text(found))
    if not all(c.ok for c in found):
        sys.exit(1)
