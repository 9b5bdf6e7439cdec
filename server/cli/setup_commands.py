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
from sentinelle.server.cli.options import setting_option
from sentinelle.server.config import ensure_data_dir, load_or_create_icap_key, mitmproxy_dir
from sentinelle.server.contact import EXTENSION, PAC
from sentinelle.server.settings import ICAP_PORT
from sentinelle.server.setup import doctor as checks
from sentinelle.server.setup import squid
from sentinelle.server.setup.ca import KEY_AND_CERT, ensure_ca, uncovered
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
                   uid=os.getuid() if hasattr(os, "getuid") else 0, user=getpass.getuser(),
                   env=dict(os.environ))


def _domain(value: str) -> str:
    try:
        return normalise_domain(value)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--extra-host") from None


DRY_RUN = click.option("--dry-run", is_flag=True, help="Show every step without doing it.")


@click.group(invoke_without_command=True, subcommand_metavar="[squid [OPTIONS]]")
@DRY_RUN
@click.option("--no-system-store", is_flag=True,
              help="Linux: trust the CA in the browsers only, not in the system store.")
@click.option("--new-ca", is_flag=True, help="Replace the CA with a new one (re-run to trust it).")
@click.option("--extra-host", "extra_hosts", multiple=True, metavar="DOMAIN",
              help="A domain the CA may also vouch for, besides the built-in social networks "
                   "(for `run --set sentinelle_extra_hosts=…`; with a new CA). Repeatable.")
@setting_option("api_port")
@click.pass_context
def setup(ctx: click.Context, dry_run: bool, no_system_store: bool, new_ca: bool,
          extra_hosts: tuple[str, ...], api_port: int) -> None:
    """Set up this PC: data folder, token, Sentinelle's own CA, and the browsers' trust in it.

    The CA is made on this PC and can vouch only for the social networks Sentinelle
    watches: a bank's site stays out of its reach even if its key were stolen. Every step
    says what it did and how to undo it; where Sentinelle cannot act (administrator rights,
    a tool missing) it prints the exact command to type. `sentinelle uninstall` undoes it.

    For a whole network behind Squid instead: `sentinelle setup squid`.

    \b
    Example:
      sentinelle setup --dry-run
      sentinelle setup
    """
    if ctx.invoked_subcommand is not None:
        return  # `setup squid`: the PC is not set up
    obj = ctx.obj
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
@setting_option("proxy_port")
@setting_option("api_port")
@click.pass_obj
def doctor(obj, as_json: bool, proxy_port: int, api_port: int) -> None:
    """Check everything, and say what to do for each problem. Exit code 0 only when all pass.

    Checks: the server and the proxy listen, the CA is limited to the social networks and
    trusted by each browser profile found, the extension is paired (its last contact), the
    proxy rules (PAC) are in use, photos are enrolled, the channels to your phone or mailbox
    work, disk space, version.

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
        *checks.check_trust(data_dir, machine, Runner()),
        checks.check_contact(data_dir, EXTENSION, api_port),
        checks.check_contact(data_dir, PAC, api_port),
        checks.check_photos(data_dir, lambda: len(obj.store.photos())),
        checks.check_channels(data_dir, lambda: obj.store.channels()),
        checks.check_images(data_dir),
        checks.check_disk(data_dir),
    ]
    click.echo(checks.as_json(found) if as_json else checks.as_text(found))
    if not all(c.ok for c in found):
        sys.exit(1)


@setup.command("squid")
@click.option("--write", "folder", type=click.Path(file_okay=False, path_type=Path),
              help=f"Write {squid.CONFIG_FILE} and Squid's copy of the CA ({squid.CA_FILE}) into this "
                   "folder [default: print the configuration].")
@click.option("--port", default=3128, show_default=True, help="Where the devices' proxy points.")
@click.option("--listen", default="", metavar="ADDRESS", help="Listen on this address only [default: all].")
@click.option("--icap", "icap", multiple=True, metavar="HOST:PORT",
              help="Sentinelle's ICAP service (`sentinelle icap`); repeat for stand-bys, tried in order "
                   f"[default: 127.0.0.1:{ICAP_PORT}].")
@click.option("--ssl-db", type=click.Path(path_type=Path), default=squid.SSL_DB, show_default=True,
              help="Squid's database of the certificates it makes.")
@click.option("--certgen", type=click.Path(path_type=Path), default=squid.CERTGEN, show_default=True,
              help="Squid's certificate generator.")
@click.option("--extra-host", "extra_hosts", multiple=True, metavar="DOMAIN",
              help="A domain to decrypt and watch besides the built-in social networks (repeatable; "
                   "the CA must cover it: `sentinelle setup --new-ca --extra-host DOMAIN`).")
@click.pass_obj
def setup_squid(obj, folder: Path | None, port: int, listen: str, icap: tuple[str, ...], ssl_db: Path,
                certgen: Path, extra_hosts: tuple[str, ...]) -> None:
    """Configure Squid for a whole network: decrypt the social networks only, with
    Sentinelle's CA, and send their responses to `sentinelle icap`.

    Every other site is spliced: passed through as it is, never decrypted. `bypass=on`: with
    Sentinelle stopped, Squid passes responses on unchecked. The CA is the one `sentinelle
    setup` makes (made here if there is none), which can vouch for the social networks only.

    \b
    Example:
      sentinelle setup squid
      sudo sentinelle --data-dir /var/lib/sentinelle setup squid --write /etc/squid/conf.d
    """
    obj.close()
    extra = [_domain(d) for d in extra_hosts]
    ca, _ = ensure_ca(mitmproxy_dir(ensure_data_dir(obj.data_dir)))
    if outside := uncovered(ca.certificate, extra):
        raise click.ClickException(f"Sentinelle's CA cannot vouch for {', '.join(outside)}: "
                                   "`sentinelle setup --new-ca --extra-host DOMAIN` makes one that can.")
    services = [_icap_address(value) for value in icap] or [squid.DEFAULT_ICAP]
    ca_pem = mitmproxy_dir(obj.data_dir) / KEY_AND_CERT
    target = (folder / squid.CA_FILE) if folder else ca_pem
    settings = squid.SquidSettings(ca_file=target.absolute(), icap_key=load_or_create_icap_key(obj.data_dir),
                                   port=port, listen=listen, icap=services, ssl_db=ssl_db, certgen=certgen,
                                   extra_domains=extra)
    if folder is None:
        click.echo(squid.squid_config(settings), nl=False)
        return
    written = squid.write_files(folder, settings, ca_pem.read_bytes())
    init_db = " ".join(squid.init_ssl_db_command(settings))
    mode = "mode 0600" + (f", owned by {written.owner})" if written.owner else ")")
    click.echo(f"Squid configuration, with the ICAP service's key: {written.config} ({mode}\n"
               f"Squid's copy of Sentinelle's CA (key and certificate): {written.ca_file} ({mode}\n"
               "Next:\n"
               + ("" if written.owner else
                  f"  sudo chown proxy: {written.config} {written.ca_file}   # Squid must read them\n")
               + f"  {init_db}   # once: Squid's database of the certificates it makes\n"
               f"  In /etc/squid/squid.conf, remove Debian's own `http_port 3128` if this one uses {port},\n"
               "  and allow the network's devices (`http_access allow localnet`).\n"
               "  sudo systemctl restart squid\n"
               f"  sentinelle icap   # as a service: Squid sends the social networks' responses to it\n"
               f"  Devices trust {ca.certificate_file} and use this machine's port {port} as their proxy.")


def _icap_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{value!r} is not HOST:PORT", param_hint="--icap")
    return host, int(port)
