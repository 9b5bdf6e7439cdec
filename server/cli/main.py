"""The `sentinelle` command: enroll photos, check images, run the watcher, read the log.

Each command is a thin layer over the store, the enroll module and the runner; what it
prints is written for a parent, and `--json` where a script wants to read it.

A command imports what it uses when it runs, not when the program starts: the matching engine
(OpenCV, faiss, numpy), mitmproxy and aiohttp cost seconds to load, and `token`, `log`,
`photos`, `child`, `watchlist`, `patrol`, `notify` (but to check or send), `doctor` and `setup` need none of them
(tests/server/cli/test_startup.py).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sentinelle.server.casefile import case as casefile
from sentinelle.server.cli.options import setting_option
from sentinelle.server.config import (
    default_data_dir,
    ensure_data_dir,
    load_or_create_token,
)
from sentinelle.server.run import RunError
from sentinelle.server.settings import Settings
from sentinelle.server.store.schema import StoreError

if TYPE_CHECKING:
    from sentinelle.server.store.records import Store


class Context:
    """What every command shares: the data dir, and the store opened on first use."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            from sentinelle.server.store.records import Store

            self._store = Store(ensure_data_dir(self.data_dir))
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path),
    help="Where Sentinelle keeps everything it writes "
         "[default: $SENTINELLE_HOME, else your user data folder].",
)
@click.version_option(package_name="sentinelle")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None) -> None:
    """Sentinelle tells you when your child's photos appear on a social network.

    \b
    First time:
      sentinelle setup
      sentinelle enroll --child "Alice Dupont" ~/Pictures/Alice
      sentinelle service install
      sentinelle doctor
    """
    ctx.obj = Context(data_dir or default_data_dir())
    ctx.call_on_close(ctx.obj.close)


@cli.command()
@click.option("--child", help="Whose photos these are (shown in alerts).")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.pass_obj
def enroll(obj: Context, child: str | None, paths: tuple[Path, ...]) -> None:
    """Protect photos: files, folders (searched recursively) or ZIP archives.

    The photos never leave this computer: Sentinelle keeps their fingerprints, a small
    thumbnail and their SHA-256. Enrolling the same file twice does nothing. A ZIP (an
    Instagram or Google Takeout export) is read as a folder of its pictures; its other
    files are left alone. The child is named as with `sentinelle child set`: her first name
    alone means her when hers is the only full name that starts with it.

    \b
    Example:
      sentinelle enroll --child "Alice Dupont" ~/Pictures/Alice holiday.jpg instagram-export.zip
    """
    if child is not None:
        child = _whose(obj.store, child)
    from sentinelle.server.alerts.album import Album
    from sentinelle.server.alerts.enroll import ALREADY, ENROLLED, enroll_candidate

    with Album(paths) as album:
        if sys.stderr.isatty():
            with click.progressbar(album.candidates, label="Enrolling", file=sys.stderr,
                                   item_show_func=lambda c: c.name if c else None) as bar:
                outcomes = [enroll_candidate(obj.store, candidate, child) for candidate in bar]
        else:
            outcomes = [enroll_candidate(obj.store, candidate, child) for candidate in album.candidates]
    enrolled = [o for o in outcomes if o.status == ENROLLED]
    already = [o for o in outcomes if o.status == ALREADY]
    if enrolled:
        _keep_index(obj)
    skipped = [o for o in outcomes if o.status not in (ENROLLED, ALREADY)]
    click.echo(f"Enrolled {len(enrolled)} photo(s); {len(already)} already enrolled; "
               f"{len(skipped)} skipped.")
    for outcome in skipped:
        detail = f" ({outcome.detail})" if outcome.detail else ""
        click.echo(f"  skipped {outcome.source}: {outcome.reason}{detail}")
    if album.ignored:
        click.echo(f"  left alone {album.ignored} other file(s) in the archives (not pictures).")
    if not enrolled and not already:
        sys.exit(1)


def _whose(store: Store, child: str) -> str:
    """The name of the child `--child` means (one child, one name: server/store/child_names.py),
    said to the parent when it is not the name typed."""
    if not child.split():
        raise click.BadParameter("the child's name is empty", param_hint="--child")
    try:
        meant = store.meant_child(child)
    except StoreError as e:
        raise click.ClickException(str(e)) from None
    if chosen := said_whom(meant, "the photos go to {name}"):
        click.echo(chosen)
    return meant.name


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.pass_obj
def check(obj: Context, as_json: bool, paths: tuple[Path, ...]) -> None:
    """Say whether images are copies of an enrolled photo.

    Uses the same matcher and settings as the watcher. Exit code 0 whatever was found.

    \b
    Example:
      sentinelle check --json ~/Downloads/screenshot.png
      {"file": "/home/me/Downloads/screenshot.png", "match": {"photo": "beach.jpg", ...}}
    """
    from sentinelle.proxy.engine.fingerprint import fingerprint
    from sentinelle.proxy.engine.images import ImageError
    from sentinelle.server.alerts.album import files_under
    from sentinelle.server.alerts.protected import ProtectedSet

    protected = ProtectedSet(obj.store, obj.data_dir)
    names = {p["id"]: p for p in obj.store.photos()}
    for path in files_under(paths):
        line: dict = {"file": str(path), "match": None}
        try:
            found = protected.match(fingerprint(path.read_bytes()))
        except ImageError as e:
            line["error"] = e.reason
        except OSError as e:
            line["error"] = f"unreadable ({e.strerror or e})"
        else:
            if found is not None:
                photo = names[found.photo_id]
                line["match"] = {"photo": photo["name"], "child": photo["child"],
                                 "score": round(found.score, 3)}
                if found.region:
                    line["match"]["region"] = [[round(x, 1), round(y, 1)] for x, y in found.region]
        click.echo(json.dumps(line) if as_json else _check_line(line))


def _check_line(line: dict) -> str:
    if "error" in line:
        return f"{line['file']}: cannot read ({line['error']})"
    if line["match"] is None:
        return f"{line['file']}: no match"
    m = line["match"]
    whose = f" of {m['child']}" if m["child"] else ""
    return f"{line['file']}: COPY of {m['photo']}{whose} (score {m['score']})"


@cli.command()
@click.pass_obj
def photos(obj: Context) -> None:
    """List the enrolled photos.

    \b
    Example:
      sentinelle photos
    """
    rows = obj.store.photos()
    if not rows:
        click.echo("No photo enrolled yet: sentinelle enroll --help")
    for p in rows:
        child = f"  ({p['child']})" if p["child"] else ""
        click.echo(f"{p['id']:>4}  {p['name']}{child}  {p['width']}×{p['height']}  "
                   f"enrolled {p['enrolled_at'][:16]}")


@cli.command()
@click.argument("photos", nargs=-1, required=True, metavar="PHOTO...")
@click.pass_obj
def forget(obj: Context, photos: tuple[str, ...]) -> None:
    """Stop protecting photos.

    Each PHOTO is a number (from `sentinelle photos`) or a file name. Their alerts are kept.
    Nothing is forgotten unless every photo named is found, once.

    \b
    Example:
      sentinelle forget beach.jpg
      sentinelle forget 1 2 3
    """
    chosen: dict[int, dict] = {}
    for ref in photos:
        found = obj.store.find_photos(ref)
        if not found:
            raise click.ClickException(f"no enrolled photo {ref!r}: see `sentinelle photos`")
        if len(found) > 1:
            ids = ", ".join(str(p["id"]) for p in found)
            raise click.ClickException(f"{len(found)} photos are named {ref!r} ({ids}): give a number")
        chosen[found[0]["id"]] = found[0]
    for photo in chosen.values():
        obj.store.forget_photo(photo["id"])
        click.echo(f"Forgot {photo['name']} (#{photo['id']}).")
    _keep_index(obj)


def _keep_index(obj: Context) -> None:
    """After the photos changed: the index beside the store brought up to date, so that the next
    start, or a running proxy, finds it ready, and a forgotten photo's data leave it at once."""
    from sentinelle.server.alerts.protected import keep_index

    keep_index(obj.store, obj.data_dir)


@cli.command()
@setting_option("proxy_port")
@setting_option("api_port")
@click.option("--set", "options", multiple=True, metavar="OPTION=VALUE",
              help="A mitmproxy option, as mitmproxy's own --set (repeatable); those that save, replay or rewrite flows are refused.")
@setting_option("extension_origins", metavar="ORIGIN")
@click.pass_obj
def run(obj: Context, proxy_port: int, api_port: int, options: tuple[str, ...],
        extension_origins: tuple[str, ...]) -> None:
    """Watch the browser's social-network traffic and raise alerts.

    Point the browser's proxy at 127.0.0.1:PROXY_PORT and trust the CA certificate it
    prints. Ctrl-C stops it.

    \b
    Example:
      sentinelle run --proxy-port 8080 --set sentinelle_extra_hosts=example-social.net
    """
    obj.close()  # the runner opens its own store on its own loop
    settings = Settings(obj.data_dir, proxy_port=proxy_port, api_port=api_port,
                        extension_origins=extension_origins)
    from sentinelle.server.run.runner import serve

    _until_stopped(serve(settings, options))


@cli.command()
@setting_option("icap_port")
@setting_option("icap_host")
@setting_option("icap_allow", metavar="ADDRESS")
@setting_option("workers", type=click.IntRange(min=1), metavar="N")
@setting_option("api_port", help="Where the extension connects (0: no API).")
@setting_option("extra_hosts", metavar="DOMAIN")
@setting_option("extension_origins", metavar="ORIGIN")
@click.pass_obj
def icap(obj: Context, icap_port: int, icap_host: str, icap_allow: tuple[str, ...], workers: int | None,
         api_port: int, extra_hosts: tuple[str, ...], extension_origins: tuple[str, ...]) -> None:
    """Watch a whole network's social-network traffic, as an ICAP service behind Squid.

    Squid decrypts the social networks only and sends their responses here (`sentinelle
    setup squid` writes its configuration); every response is answered at once, unchanged,
    and its images are checked by N worker processes. Alerts go to the same store as `run`:
    `sentinelle log`, `export` and the API work the same. Ctrl-C stops it.

    Only Squid is answered: the addresses of --allow (this machine's own unless told
    otherwise), and only responses that carry the key Squid's configuration holds.

    \b
    Example:
      sentinelle icap --port 1344 --workers 2
      sentinelle icap --host 192.168.1.2 --allow 192.168.1.3
    """
    obj.close()  # the runner opens its own store on its own loop
    settings = Settings(obj.data_dir, icap_host=icap_host, icap_port=icap_port, icap_allow=icap_allow,
                        api_port=api_port, workers=workers, extra_hosts=extra_hosts,
                        extension_origins=extension_origins)
    from sentinelle.server.run.icap_runner import serve_icap

    _until_stopped(serve_icap(settings))


def _until_stopped(serving: Coroutine[Any, Any, None]) -> None:
    """Run a front until it stops (Ctrl-C, SIGTERM); a front that cannot start says why, as the
    command's error."""
    try:
        asyncio.run(serving)
    except RunError as e:
        raise click.ClickException(str(e)) from None
    except KeyboardInterrupt:
        pass
    click.echo("Sentinelle stopped.")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def log(obj: Context, as_json: bool) -> None:
    """Show the match log, newest first.

    \b
    Example:
      sentinelle log --json
    """
    alerts = obj.store.alerts()
    if not alerts and not as_json:
        click.echo("No alert: none of the enrolled photos has been seen.")
    for a in alerts:
        if as_json:
            click.echo(json.dumps(a))
            continue
        where = a["page_url"] or a["host"]
        who = f"  posted by @{a['account']}" if a.get("account") else ""
        if a["kind"] == "impersonation":
            who = f"  IMPERSONATION: @{a['account']} pretends to be {a['resemblance']['child']}" + (
                " (its profile picture)" if a.get("shown_as") == "profile_picture" else "")
        elif a.get("account") and a.get("shown_as") == "profile_picture":
            who = f"  the profile picture of @{a['account']}"
        elif a.get("account") and a.get("first_account"):
            who = f"  re-posted by @{a['account']}, first posted by @{a['first_account']}"
        elif a.get("account") and a.get("shown_as") == "story":
            who = f"  in a story of @{a['account']}"
        elif not a.get("account") and a.get("account_id"):
            who = f"  posted by account id {a['account_id']} (no feed has named its handle yet)"
        post = f"\n      post: {a['post_url']}" if a.get("post_url") else ""
        click.echo(f"#{a['id']:<4} {a['last_seen'][:19]}  {a['status']:<11} {a['platform']:<10} "
                   f"{a['photo_name']}  ×{a['count']}{who}  on {where}\n      {a['image_url']}{post}")


@cli.command()
@click.argument("alert_ids", nargs=-1, type=int, metavar="ALERT_ID...")
@click.option("--account", metavar="NAME", help="Every alert of this account (as `sentinelle log` shows it).")
@click.option("--case", "child", metavar="CHILD",
              help="A child's whole case: its timeline first, each account and its evidence, the reports.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the ZIP [default: sentinelle-case-<time>.zip here].")
@click.option("--lang", type=click.Choice(casefile.LANGUAGES), default=casefile.default_language,
              help="Language of the report [default: your system's, else en].")
@click.option("--country", type=click.Choice(casefile.COUNTRIES, case_sensitive=False),
              default=casefile.default_country,
              help="Whose help lines the report lists [default: your system's, else OTHER].")
@click.pass_obj
def export(obj: Context, alert_ids: tuple[int, ...], account: str | None, child: str | None,
           output: Path | None, lang: str, country: str) -> None:
    """Write a case file: a ZIP to hand to the platform, a help line or the police.

    It holds a report (report.html and report.pdf) with the protected photo beside each
    copy, the account and post, times and SHA-256 hashes and where to report; the evidence
    files exactly as received; sightings.json; and manifest.json with the SHA-256 of every
    file, so that any change is visible (`sentinelle verify`).

    \b
    Example:
      sentinelle export 1 3
      sentinelle export --account fake.account.123 --lang fr --country FR -o case.zip
      sentinelle export --case "Alice Martin" --country FR
    """
    from sentinelle.proxy.files import write_atomically

    try:
        case = (casefile.collect_case(obj.store, child) if child
                else casefile.collect(obj.store, list(alert_ids), account))
    except (casefile.CaseFileError, StoreError) as e:
        raise click.ClickException(str(e)) from None
    data = casefile.build(case, lang, country)
    output = output or Path(casefile.file_name(case))
    write_atomically(output, data, 0o600)  # photos of a child: the parent's to read, whatever the umask
    verdict = casefile.verify(output)
    click.echo(f"Case file: {output} ({len(case.alerts)} alert(s), {verdict.checked} files).\n"
               f"  SHA-256 of its manifest: {verdict.manifest_sha256}\n"
               "  Note this number apart from the file: it proves the manifest was not changed either.")


@cli.command()
@click.argument("case_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                metavar="CASEFILE")
def verify(case_file: Path) -> None:
    """Check a case file: every file against the SHA-256 its manifest lists.

    Exit code 0 when nothing was changed, added or removed; 1 otherwise.

    \b
    Example:
      sentinelle verify sentinelle-case-20261125T094107Z.zip
    """
    verdict = casefile.verify(case_file)
    for problem in verdict.problems:
        click.echo(f"✗ {problem}")
    if verdict.manifest_sha256:
        click.echo(f"  SHA-256 of its manifest: {verdict.manifest_sha256}")
    if not verdict.ok:
        click.echo(f"{case_file}: TAMPERED or damaged ({len(verdict.problems)} problem(s)).")
        sys.exit(1)
    click.echo(f"✓ {case_file}: all {verdict.checked} files match the manifest.")


@cli.command()
@click.pass_obj
def token(obj: Context) -> None:
    """Print the token that pairs the browser extension.

    It is created on first use, readable by you only.

    \b
    Example:
      sentinelle token
    """
    click.echo(load_or_create_token(obj.data_dir))


from sentinelle.server.cli.cases import case, reported  # noqa: E402
from sentinelle.server.cli.children import child, said_whom, watchlist  # noqa: E402
from sentinelle.server.cli.notify import notify  # noqa: E402
from sentinelle.server.cli.patrol import patrol  # noqa: E402
from sentinelle.server.cli.setup_commands import doctor, service, setup, uninstall  # noqa: E402

for _command in (setup, service, doctor, uninstall, child, watchlist, notify, patrol, reported, case):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="sentinelle")
