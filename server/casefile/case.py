"""The case file: one ZIP a platform, a help line or the police can take as it is.

`collect` reads the alerts, their sightings and the protected photos from the store;
`build` writes the ZIP: a readable report (report.html and report.pdf, in English or
French) with the protected photo beside each copy, the accounts, post links, times and
hashes, the reporting channels of the platform and of the parent's country (from the one
data file the extension also uses, extension/data/next-steps.json), the raw evidence
files, sightings.json with every recorded detail, and a manifest of the SHA-256 of every
file (manifest.json, and SHA256SUMS for `sha256sum -c`). `verify` checks a case file
against its manifest: a changed, missing or added file is reported. The report itself is
written by `server.casefile.report` (what it says), `report_html` and `report_pdf`.
"""

from __future__ import annotations

import hashlib
import io
import json
import locale
import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sentinelle.server.casefile.layout import Case, evidence_path, photo_path, utc
from sentinelle.server.casefile.report import Report
from sentinelle.server.casefile.report_html import write_html
from sentinelle.server.casefile.report_pdf import write_pdf
from sentinelle.server.extension_files import ExtensionMissing, extension_file
from sentinelle.server.store.records import Store
from sentinelle.server.version import sentinelle_version

FORMAT = "sentinelle-case-file/1"
# The reporting channels: the data file the extension's review page shows, shipped in the package.
NEXT_STEPS = "data/next-steps.json"
LANGUAGES = ("en", "fr")
COUNTRIES = ("FR", "US", "GB", "BE", "CA", "OTHER")
# The offences the acts may fall under, per country: a reviewed data file, with each entry's source.
OFFENCES = Path(__file__).with_name("offences.json")
MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
# `verify` hashes each file this much at a time: a case file is anyone's ZIP, and one member
# may inflate to gigabytes.
BLOCK_BYTES = 2**20
# The manifest and the checksums are read whole: a case file's list a few hundred bytes a file.
MAX_LIST_BYTES = 16 * 2**20


class CaseFileError(Exception):
    """A case file cannot be made (no such alert, nothing to put in it)."""


def collect(store: Store, alert_ids: Sequence[int] = (), account: str | None = None) -> Case:
    """The alerts named, or all of an account's; raises CaseFileError if there are none."""
    alerts = []
    for alert_id in dict.fromkeys(alert_ids):
        if (alert := store.alert(alert_id)) is None:
            raise CaseFileError(f"no alert {alert_id}: see `sentinelle log`")
        alerts.append(alert)
    if account is not None:
        found = store.alerts_of_account(account)
        if not found:
            raise CaseFileError(f"no alert names the account {account!r}: see `sentinelle log`")
        alerts += [a for a in found if a["id"] not in {b["id"] for b in alerts}]
    if not alerts:
        raise CaseFileError("name at least one alert, or an account")
    for alert in alerts:
        alert["sightings"] = store.sightings(alert["id"])
        alert["thumbnail"] = store.photo_thumbnail(alert["photo_id"])
        if alert["kind"] == "impersonation" and alert.get("account"):
            # The account as the feeds showed it (a search result, a profile): its own evidence.
            alert["watch"] = store.watch_entry_of(alert["platform"], alert["account"])
    return Case(alerts=alerts, evidence_dir=store.evidence_dir)


def collect_case(store: Store, child: str) -> Case:
    """A child's whole case (all of her cases, if the parent split one): its alerts, the
    accounts watched, the reports and what became of each account; CaseFileError if it has
    no alert yet."""
    records = [store.case_record(c["id"]) for c in store.cases_of(child)]
    story = {key: [item for r in records for item in r[key]] for key in ("alerts", "watched", "reports", "events")}
    story["case"] = records[0]["case"] | {"ids": [r["case"]["id"] for r in records]}
    if not story["alerts"]:
        raise CaseFileError(f"the case of {child!r} has no alert yet: see `sentinelle case`")
    for alert in story["alerts"]:
        alert["thumbnail"] = store.photo_thumbnail(alert["photo_id"])
        if alert["kind"] == "impersonation" and alert.get("account"):
            alert["watch"] = store.watch_entry_of(alert["platform"], alert["account"])
    story["alerts"].sort(key=lambda a: (a["first_seen"] or "", a["id"]))
    return Case(alerts=story["alerts"], evidence_dir=store.evidence_dir, story=story)


def load_offences() -> dict:
    """The offences per country (server/casefile/offences.json), shipped with Sentinelle."""
    return json.loads(OFFENCES.read_text(encoding="utf-8"))


def default_language() -> str:
    name = os.environ.get("LC_ALL") or os.environ.get("LANG") or (locale.getlocale()[0] or "")
    return "fr" if name.lower().startswith("fr") else "en"


def default_country() -> str:
    name = os.environ.get("LC_ALL") or os.environ.get("LANG") or (locale.getlocale()[0] or "")
    country = name.split(".")[0].partition("_")[2].upper()
    return country if country in COUNTRIES else "OTHER"


def build(case: Case, lang: str = "en", country: str = "OTHER", next_steps: Path | None = None) -> bytes:
    """The case file as ZIP bytes. Reads the evidence files; touches nothing."""
    lang = lang if lang in LANGUAGES else "en"
    country = country.upper() if country.upper() in COUNTRIES else "OTHER"
    files: dict[str, bytes] = {}
    for alert in case.alerts:
        if alert["thumbnail"]:
            files[photo_path(alert)] = alert["thumbnail"]
        for s in alert["sightings"]:
            path = case.evidence_dir / s["evidence_file"]
            if path.is_file():
                files[evidence_path(s)] = path.read_bytes()
            else:  # deleted by hand from the data dir: the report and sightings.json say so
                s["evidence_missing"] = True
    steps = _load_steps(next_steps)
    if case.story is not None:
        for event in case.story["events"]:  # the pages that said an account was gone
            if event.get("evidence_file") and (path := case.evidence_dir / event["evidence_file"]).is_file():
                files[evidence_path(event)] = path.read_bytes()
        files["case.json"] = json.dumps(_public_case(case, lang), indent=2, ensure_ascii=False).encode()
    report = Report(case, lang, country, steps, files, load_offences() if case.story is not None else None)
    files["sightings.json"] = json.dumps(
        [_public(alert) for alert in case.alerts], indent=2, ensure_ascii=False).encode()
    files["report.html"] = write_html(report).encode()
    files["report.pdf"] = write_pdf(report)
    digests = {path: hashlib.sha256(data).hexdigest() for path, data in sorted(files.items())}
    manifest = {
        "format": FORMAT, "created": utc(case.created), "generator": _generator(),
        "alerts": [a["id"] for a in case.alerts],
        "files": [{"path": p, "sha256": d, "bytes": len(files[p])} for p, d in digests.items()],
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path in digests:
            z.writestr(path, files[path])
        z.writestr(MANIFEST, json.dumps(manifest, indent=2))
        z.writestr(CHECKSUMS, "".join(f"{d}  {p}\n" for p, d in digests.items()))
    return out.getvalue()


def file_name(case: Case) -> str:
    return f"sentinelle-case-{case.created.strftime('%Y%m%dT%H%M%SZ')}.zip"


# -- verifying -----------------------------------------------------------------------

@dataclass
class Verdict:
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    manifest_sha256: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: Path) -> Verdict:
    """Check every file of a case file against its manifest."""
    verdict = Verdict()
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if MANIFEST not in names:
                verdict.problems.append(f"{MANIFEST} is missing: this is not a Sentinelle case file")
                return verdict
            raw = _read_list(z, MANIFEST)
            verdict.manifest_sha256 = hashlib.sha256(raw).hexdigest()
            manifest = json.loads(raw)
            listed = {f["path"]: f["sha256"] for f in manifest["files"]}
            for name, expected in listed.items():
                if name not in names:
                    verdict.problems.append(f"{name}: missing")
                    continue
                actual = _sha256(z, name)
                verdict.checked += 1
                if actual != expected:
                    verdict.problems.append(f"{name}: changed (SHA-256 {actual}, manifest says {expected})")
                elif name.startswith("evidence/") and not Path(name).name.startswith(actual):
                    verdict.problems.append(f"{name}: its name is not its SHA-256 ({actual})")
            for name in sorted(names - set(listed) - {MANIFEST, CHECKSUMS}):
                if not name.endswith("/"):
                    verdict.problems.append(f"{name}: added (not in the manifest)")
            if CHECKSUMS in names:
                sums = {line[66:]: line[:64] for line in _read_list(z, CHECKSUMS).decode().splitlines() if line}
                if sums != listed:
                    verdict.problems.append(f"{CHECKSUMS} does not agree with {MANIFEST}")
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, KeyError, TypeError, EOFError,
            RuntimeError, NotImplementedError) as e:  # anyone's ZIP: damaged, encrypted, of another method
        verdict.problems.append(f"cannot read it as a case file: {e}")
    return verdict


def _sha256(z: zipfile.ZipFile, name: str) -> str:
    """A member's SHA-256, read a block at a time."""
    digest = hashlib.sha256()
    with z.open(name) as member:
        while block := member.read(BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def _read_list(z: zipfile.ZipFile, name: str) -> bytes:
    """The manifest or the checksums, whole; ValueError past MAX_LIST_BYTES."""
    with z.open(name) as member:
        data = member.read(MAX_LIST_BYTES + 1)
    if len(data) > MAX_LIST_BYTES:
        raise ValueError(f"{name} is larger than {MAX_LIST_BYTES // 2**20} MB")
    return data


# -- the report ----------------------------------------------------------------------

def _load_steps(path: Path | None) -> dict:
    """The reporting channels. They ship with Sentinelle: a case file without them would
    leave a parent with evidence and nowhere to send it, so their absence is an error."""
    try:
        path = path or extension_file(NEXT_STEPS)
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, ExtensionMissing) as e:
        raise CaseFileError(f"the reporting channels ({path}) cannot be read: {e}. "
                            "Reinstall Sentinelle.") from None


def _public(alert: dict) -> dict:
    """An alert as sightings.json shows it: every recorded detail, file paths inside the ZIP."""
    out = {k: v for k, v in alert.items() if k not in ("sightings", "thumbnail")}
    out["protected_photo_file"] = photo_path(alert) if alert["thumbnail"] else None
    out["sightings"] = [{k: v for k, v in s.items() if k != "evidence_file"} | {"evidence_path": evidence_path(s)}
                        for s in alert["sightings"]]
    return out


def _public_case(case: Case, lang: str) -> dict:
    """A case as case.json shows it: its timeline, accounts, reports and account events, said in `lang`."""
    from sentinelle.server.casefile.timeline import accounts, reports, timeline

    story = case.story
    assert story is not None  # made for a whole case's file only
    return {"case": story["case"], "timeline": timeline(story, case.created, lang=lang),
            "accounts": accounts(story, lang),
            "reports": reports(story, case.created), "events": story["events"]}


def _generator() -> str:
    return f"Sentinelle {sentinelle_version()}"
