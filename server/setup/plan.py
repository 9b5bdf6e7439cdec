"""`sentinelle setup` and `sentinelle uninstall`: the steps in order, and what each says.

Setup makes the data dir, the token and the name-constrained CA, then has the browsers
trust the CA (server/setup/trust.py). Every line it prints says what was done and how to undo
it, or the exact command the parent must type. Uninstall removes the trust it recorded
and the login service; the data dir only when asked.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sentinelle.proxy.hosts import all_domains
from sentinelle.server.config import (
    ensure_data_dir,
    load_or_create_token,
    mitmproxy_dir,
)
from sentinelle.server.settings import API_PORT
from sentinelle.server.setup import browsers, trust
from sentinelle.server.setup.ca import (
    CERTIFICATE,
    ensure_ca,
    load_ca,
    uncovered,
    write_ca,
)
from sentinelle.server.setup.service import service_plan

Say = Callable[[str], None]

MARKS = {"done": "✓", "dry-run": "·", "manual": "!", "failed": "✗"}


@dataclass(frozen=True)
class Machine:
    """The facts setup depends on (platform.system(), the home folder, the environment that
    says where its XDG folders are); a seam for tests."""

    system: str
    home: Path
    uid: int = 0
    user: str = ""
    env: Mapping[str, str] = field(default_factory=dict, hash=False)


NO_BROWSER = ("No Chromium, Chrome or Firefox on this PC: Sentinelle watches what they show. Install "
              "one (Debian, Ubuntu: sudo apt install chromium, or firefox-esr), then run "
              "`sentinelle setup` again.")


def browser_stores(machine: Machine, runner: trust.Runner) -> list[browsers.Store]:
    """The NSS databases of this user's browsers (Linux only: elsewhere the OS store serves)."""
    if machine.system in ("Windows", "Darwin"):
        return []
    home = browsers.Home.of(machine.home, machine.env)
    return browsers.stores(home, browsers.installed(home, runner.which))


def setup(data_dir: Path, machine: Machine, runner: trust.Runner, say: Say, *,
          system_store: bool = True, new_ca: bool = False, api_port: int = API_PORT,
          extra_hosts: Sequence[str] = ()) -> bool:
    """Returns True when every step was done (or shown, with --dry-run).

    `extra_hosts` (with `new_ca`, or for the first CA) are domains the CA may also vouch
    for, for the run option `sentinelle_extra_hosts`."""
    confdir = mitmproxy_dir(data_dir)
    if runner.dry_run:
        say(f"Would create the data dir {data_dir} (only you can read it), the extension token "
            f"and Sentinelle's CA in {confdir}.")
        ca = load_ca(confdir)
        ca_file = ca.certificate_file if ca else confdir / "mitmproxy-ca-cert.pem"
        serial, sha1 = (ca.serial, ca.sha1) if ca else ("<serial>", "<sha1>")
    else:
        ensure_data_dir(data_dir)
        load_or_create_token(data_dir)
        say(f"Data dir: {data_dir} (only you can read it). Extension token: `sentinelle token`.")
        domains = all_domains(extra_hosts)
        if new_ca:
            ca, created = write_ca(confdir, domains), True
        else:
            ca, created = ensure_ca(confdir, domains)
        say(f"CA {'created' if created else 'already there'}: {ca.certificate_file}")
        if ca.constrained:
            say(f"  It can vouch only for the social networks Sentinelle watches; its key never "
                f"leaves {confdir} (mode 0600).")
        else:
            say("  ! This CA is an older one that can vouch for any site: "
                "run `sentinelle setup --new-ca` to replace it.")
        if outside := uncovered(ca.certificate, extra_hosts):
            say(f"  ! It cannot vouch for {', '.join(outside)}: add --new-ca to make one that can.")
        if new_ca:
            say("  Restart Sentinelle (`sentinelle service uninstall`, then `install`) to use it.")
        ca_file, serial, sha1 = ca.certificate_file, ca.serial, ca.sha1

    stores = browser_stores(machine, runner)
    steps = trust.plan(machine.system, ca_file, machine.home, serial=serial, sha1=sha1,
                       stores=stores, system_store=system_store)
    say("Trust:")
    outcomes = [runner.install(step) for step in steps]
    for outcome in outcomes:
        say(describe(outcome, undo=True))
    no_browser = machine.system not in ("Windows", "Darwin") and not stores
    if no_browser:
        say(f"  ! {NO_BROWSER}")
    if not runner.dry_run:
        trust.record(data_dir, outcomes)
    say("Next:\n"
        "  sentinelle service install   # start Sentinelle when you log in\n"
        f"  In the extension's options, switch on \"Send only social networks through "
        f"Sentinelle\"\n  (or set the browser's automatic proxy configuration URL to "
        f"http://127.0.0.1:{api_port}/proxy.pac)\n"
        "  sentinelle doctor            # check everything")
    return not no_browser and all(o.status in ("done", "dry-run") for o in outcomes)


def describe(outcome: trust.Outcome, undo: bool = False) -> str:
    o, mark = outcome, MARKS[outcome.status]
    lines = {
        "done": f"  {mark} {o.step.where}: done"
                + (" (a new database, where the browser reads it)." if o.step.makes_db and undo else "."),
        "dry-run": f"  {mark} {o.step.where}: would run:",
        "manual": f"  {mark} {o.step.where}: not done ({o.detail}). Type:" if o.commands
              else f"  {mark} {o.step.where}: not done: {o.detail}.",
        "failed": f"  {mark} {o.step.where}: failed ({o.detail}). The command was:",
    }[o.status]
    if o.status != "done":
        lines += "".join(f"\n      {c}" for c in o.commands)
    elif undo:
        lines += "\n      undo: " + " && ".join(
            trust.shell_line(c, o.step.needs_admin) for c in o.step.remove)
    return lines


def uninstall(data_dir: Path, machine: Machine, runner: trust.Runner, say: Say, *,
              purge: bool) -> bool:
    """Remove the recorded trust and the service; the data dir when `purge`."""
    ok = True
    steps = trust.recorded(data_dir, mitmproxy_dir(data_dir) / CERTIFICATE)
    say("Trust:" if steps else "Trust: nothing recorded to remove.")
    undone: list[trust.Step] = []
    left: list[trust.Step] = []
    for step in steps:
        if not runner.dry_run and runner.is_trusted(step) is False:
            say(f"  ✓ {step.where}: already removed.")
            undone.append(step)
            continue
        outcome = runner.remove(step)
        say(describe(outcome))
        if step.makes_db and outcome.status == "done":
            say("      The database setup made stays: the browser uses it as its own now.")
        (undone if outcome.status == "done" else left).append(step)
        ok &= outcome.status in ("done", "dry-run")
    if not runner.dry_run:
        trust.forget(data_dir, undone)
    ok &= remove_service(data_dir, machine, runner, say)
    if purge:
        if runner.dry_run:
            say(f"Would delete {data_dir} (photos' fingerprints, alerts, evidence, CA, token).")
        elif data_dir.exists() and left:
            _purge_but_certificate(data_dir)
            say(f"Deleted {data_dir}, all but the CA's certificate (its key is deleted: it can sign "
                f"nothing any more), which the commands above need. Delete {data_dir} after them.")
        elif data_dir.exists():
            shutil.rmtree(data_dir)
            say(f"Deleted {data_dir}.")
    else:
        say(f"{'Would keep' if runner.dry_run else 'Kept'} {data_dir} (alerts and evidence): "
            "`sentinelle uninstall --purge` deletes it.")
    return ok


def _purge_but_certificate(data_dir: Path) -> None:
    keep = mitmproxy_dir(data_dir) / CERTIFICATE
    for path in data_dir.iterdir():
        if path.is_dir() and path != keep.parent:
            shutil.rmtree(path)
        elif path.is_file() or path.is_symlink():
            path.unlink()
    for path in keep.parent.iterdir():
        if path != keep:
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def install_service(data_dir: Path, machine: Machine, runner: trust.Runner, say: Say) -> bool:
    plan = service_plan(machine.system, machine.home, data_dir, uid=machine.uid, user=machine.user)
    if runner.dry_run:
        say(f"Would write the {plan.kind} {plan.file}:\n{plan.content}")
    else:
        plan.file.parent.mkdir(parents=True, exist_ok=True)
        plan.file.write_text(plan.content, encoding="utf-16" if machine.system == "Windows" else "utf-8")
        say(f"Wrote the {plan.kind} {plan.file}.")
    outcome = runner.install(plan.step)
    say(describe(outcome, undo=True))
    return outcome.status in ("done", "dry-run")


def remove_service(data_dir: Path, machine: Machine, runner: trust.Runner, say: Say) -> bool:
    plan = service_plan(machine.system, machine.home, data_dir, uid=machine.uid, user=machine.user)
    if not plan.file.exists():
        say(f"Service: no {plan.kind} installed.")
        return True
    outcome = runner.remove(plan.step)
    say(describe(outcome))
    if outcome.status == "done":
        plan.file.unlink()
        say(f"  Deleted {plan.file}.")
    elif runner.dry_run:
        say(f"  Would delete {plan.file}.")
    return outcome.status in ("done", "dry-run")


def service_status(data_dir: Path, machine: Machine, runner: trust.Runner) -> tuple[bool, str]:
    plan = service_plan(machine.system, machine.home, data_dir, uid=machine.uid, user=machine.user)
    if not plan.file.exists():
        return False, f"not installed: `sentinelle service install` ({plan.kind})"
    if runner.which(plan.status[0]) is None:
        return False, f"{plan.file} is there, but {plan.status[0]} is not found to ask whether it runs"
    done = runner.run(plan.status)
    state = (done.stdout or done.stderr or "").strip().splitlines()
    if done.returncode == 0:
        return True, f"installed and running ({plan.kind} {plan.file})"
    return False, f"installed ({plan.file}) but not running: {state[0] if state else 'stopped'}"
