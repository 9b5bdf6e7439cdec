"""`sentinelle doctor`: checks everything a parent could get wrong, and says what to do for each.

Each check returns a `Check` (passed or not, what was found, what to do). It only reads:
it asks the API's public `/api/health` (never a route with the token, which would count as
the extension's contact), opens a TCP connection to the proxy, reads the store, the CA
and the browsers' NSS databases (every one found, trusted or not: server/setup/browsers.py).
"""

from __future__ import annotations

import json
import shutil
import socket
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from sentinelle.server.config import mitmproxy_dir
from sentinelle.server.contact import EXTENSION, last_contact
from sentinelle.server.settings import API_PORT
from sentinelle.server.setup import trust
from sentinelle.server.setup.ca import load_ca
from sentinelle.server.setup.plan import NO_BROWSER, Machine, browser_stores
from sentinelle.server.version import sentinelle_version
from sentinelle.server.watch_counts import read_counts

MIN_FREE_BYTES = 1 << 30  # evidence files are small, but a full disk stops SQLite
START = "start it: `sentinelle service install` (at every login) or `sentinelle run`"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    found: str
    fix: str = ""


def check_api(api_port: int) -> Check:
    name = f"server listening on 127.0.0.1:{api_port}"
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/api/health", timeout=3) as r:
            body = json.loads(r.read())
    except (OSError, ValueError) as e:
        return Check(name, False, f"no answer ({getattr(e, 'reason', e)})", START)
    if body.get("status") != "ok":
        return Check(name, False, f"something else answers: {body!r}", "choose another --api-port")
    return Check(name, True, f"Sentinelle {body.get('version', '?')} answers")


def check_proxy(proxy_port: int) -> Check:
    name = f"proxy listening on 127.0.0.1:{proxy_port}"
    try:
        with socket.create_connection(("127.0.0.1", proxy_port), timeout=3):
            return Check(name, True, "accepts connections")
    except OSError as e:
        return Check(name, False, f"no answer ({e.strerror or e})", START)


def check_ca(data_dir: Path) -> Check:
    ca = load_ca(mitmproxy_dir(data_dir))
    if ca is None:
        return Check("Sentinelle's CA", False, "none yet", "run `sentinelle setup`")
    if not ca.constrained:
        return Check("Sentinelle's CA", False, "it can vouch for any site, not only social networks",
                     "run `sentinelle setup --new-ca`")
    return Check("Sentinelle's CA", True, f"limited to the social networks ({ca.certificate_file})")


def check_trust(data_dir: Path, machine: Machine, runner: trust.Runner) -> list[Check]:
    """One check per browser database found, trusted or not (Linux), or for the OS store."""
    ca = load_ca(mitmproxy_dir(data_dir))
    if ca is None:
        return [Check("CA trusted by the browsers", False, "there is no CA yet", "run `sentinelle setup`")]
    steps = trust.plan(machine.system, ca.certificate_file, machine.home, serial=ca.serial,
                       sha1=ca.sha1, stores=browser_stores(machine, runner), system_store=False)
    if not steps:
        return [Check("CA trusted by the browsers", False, "no Chromium, Chrome or Firefox found",
                      NO_BROWSER)]
    checks = []
    for step in steps:
        name = f"CA trusted by {step.where}"
        if step.todo:
            missing, _, fix = step.todo.partition(": ")
            checks.append(Check(name, False, missing, fix))
            continue
        if step.check is None or runner.which(step.check[0]) is None:
            tool = step.check[0] if step.check else "a checking tool"
            checks.append(Check(name, False, f"cannot check: {tool} not found", step.tool_hint))
            continue
        nss = "-d" in step.check  # NSS certutil: -a prints the certificate to compare
        done = runner.run(step.check + (("-a",) if nss else ()))
        if done.returncode != 0:
            found = "no certificate database yet" if step.makes_db else "not trusted"
            checks.append(Check(name, False, found, "run `sentinelle setup`"))
        elif nss and not _same_certificate(done.stdout, ca.certificate):
            checks.append(Check(name, False, "trusts another Sentinelle CA (an older one)",
                                "run `sentinelle setup` again"))
        else:
            checks.append(Check(name, True, "trusted"))
    return checks


def check_contact(data_dir: Path, kind: str, api_port: int = API_PORT,
                  now: datetime | None = None) -> Check:
    when = last_contact(data_dir, kind)
    if kind == EXTENSION:
        name, fix = ("extension paired",
                     "in the extension's options, paste the token `sentinelle token` prints")
    else:
        name, fix = ("PAC active (only social sites go through Sentinelle)",
                     "switch on \"Send only social networks through Sentinelle\" in the "
                     "extension's options, or set the browser's automatic proxy configuration "
                     f"URL to http://127.0.0.1:{api_port}/proxy.pac")
    if when is None:
        return Check(name, False, "never", fix)
    return Check(name, True, f"last contact {when.isoformat(timespec='seconds')} "
                             f"({_ago((now or datetime.now(UTC)) - when)})")


def check_channels(data_dir: Path, channels: Callable[[], list[dict]]) -> Check:
    """Whether alerts reach the parent away from the PC: every channel (`sentinelle notify`)
    works; the ones that fail say since when and why. None at all is the parent's choice."""
    name = "alerts to your phone or mailbox"
    found = channels() if (data_dir / "sentinelle.db").exists() else []
    if not found:
        return Check(name, True, "no channel: alerts reach only this PC's browser (`sentinelle notify add`)")
    failing = [c for c in found if c["failures"]]
    if not failing:
        return Check(name, True, ", ".join(c["name"] for c in found) + " working")
    return Check(name, False, "; ".join(
        f"{c['name']} failing since {datetime.fromisoformat(c['failing_since']).astimezone():%Y-%m-%d %H:%M} "
        f"({c['failures']} tries, "
        f"{c['pending']} waiting): {c['last_error']}" for c in failing),
        "`sentinelle notify test NAME` to try it now; if its URL is wrong, `sentinelle notify remove NAME` and add it again")


def check_photos(data_dir: Path, count_photos: Callable[[], int]) -> Check:
    name = "photos enrolled"
    if not (data_dir / "sentinelle.db").exists():
        return Check(name, False, "none", "sentinelle enroll --child NAME FOLDER")
    n = count_photos()
    return Check(name, n > 0, str(n), "" if n else "sentinelle enroll --child NAME FOLDER")


# Above this share of images passed unchecked, the PC is too busy for Sentinelle to be trusted.
MAX_SHED_SHARE = 0.01


def check_images(data_dir: Path) -> Check:
    """What the watcher did with the images since it last started (from watch-counts.json)."""
    name = "images checked"
    counts = read_counts(data_dir)
    if counts is None:
        return Check(name, False, "no count yet", START)
    shed = sum(n for reason, n in counts.get("skipped", {}).items() if reason.startswith("shed"))
    found = (f"{counts.get('checked', 0)} of {counts.get('seen', 0)} since Sentinelle started, "
             f"{counts.get('matched', 0)} matched, {shed} passed unchecked because it was busy")
    ok = shed <= MAX_SHED_SHARE * max(1, counts.get("seen", 0))
    return Check(name, ok, found, "" if ok else "close heavy programs, or use a PC with more cores: "
                 "images the browser showed went unchecked")


def check_disk(data_dir: Path, min_free: int = MIN_FREE_BYTES) -> Check:
    where = next((p for p in (data_dir, *data_dir.parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(where).free
    ok = free >= min_free
    return Check("disk space", ok, f"{free / 2**30:.1f} GB free on {where}",
                 "" if ok else f"free at least {min_free / 2**30:.0f} GB on this disk")


def check_version() -> Check:
    return Check("version", True, f"Sentinelle {sentinelle_version()}")


def as_json(checks: list[Check]) -> str:
    return json.dumps({"ok": all(c.ok for c in checks), "checks": [asdict(c) for c in checks]})


def as_text(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        lines.append(f"{'✓' if c.ok else '✗'} {c.name}: {c.found}")
        if not c.ok and c.fix:
            lines.append(f"    → {c.fix}")
    failed = sum(not c.ok for c in checks)
    lines.append("All good." if not failed else f"{failed} problem(s) to fix.")
    return "\n".join(lines)


def _same_certificate(pem_text: str, certificate: x509.Certificate) -> bool:
    try:
        return certificate in x509.load_pem_x509_certificates(pem_text.encode())
    except ValueError:
        return False


def _ago(delta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 120:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // 1440} days ago"
