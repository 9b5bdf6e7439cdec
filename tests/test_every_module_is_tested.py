"""Every module of proxy/ and server/ has its test file beside the others (tests/ mirrors the
tree: proxy/engine/avatar.py → tests/proxy/engine/test_avatar.py), or is listed here with where
its behaviour is proven instead. A listed module's tests must exist: the list cannot drift."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# module → the test files that prove it, and why not a file of its own.
TESTED_ELSEWHERE: dict[str, tuple[tuple[str, ...], str]] = {
    "proxy/engine/frame.py": (("tests/proxy/engine/test_fingerprint.py", "tests/proxy/engine/test_matcher.py"),
                              "the frame is found as part of a fingerprint; its tests are the framed copies'"),
    "proxy/engine/arrayfile.py": (("tests/proxy/engine/test_index.py",), "the index's files, written and mapped back by it"),
    "proxy/engine/segment.py": (("tests/proxy/engine/test_index.py", "tests/server/alerts/test_protected.py"),
                                "the index's parts, added, hidden, merged and searched as the index"),
    "proxy/feeds/common.py": (("tests/proxy/feeds/test_feed_shapes.py",), "shared steps of the readers"),
    **{f"proxy/feeds/{platform}.py": (("tests/proxy/feeds/test_feed_shapes.py", "tests/proxy/feeds/test_feed_properties.py"),
                                      "one test a shape, and properties over every reader, in one place")
       for platform in ("facebook", "facebook_pages", "instagram", "pinterest", "reddit", "snapchat", "tiktok", "x")},
    "proxy/fronts/feed_reading.py": (("tests/proxy/fronts/test_watch.py", "tests/proxy/fronts/test_addon_attribution.py",
                                      "tests/test_cases_end_to_end.py"), "feeds and profiles read, as the watch reads them"),
    "proxy/fronts/pool.py": (("tests/proxy/fronts/test_addon.py", "tests/test_worker_crash.py"),
                             "the checking processes, started, handed work and replaced under the watch"),
    "proxy/fronts/sighting.py": (("tests/proxy/fronts/test_watch.py", "tests/proxy/fronts/test_addon.py"),
                                 "plain data and the evidence headers, made by the watch"),
    "server/alerts/enroll.py": (("tests/server/alerts/test_enrol_properties.py", "tests/server/cli/test_cli.py",
                                 "tests/server/api/test_app.py"), "enrolment, through the store, the CLI and the API"),
    "server/alerts/events.py": (("tests/server/alerts/test_recorder.py", "tests/server/api/test_app.py"),
                                "the fan-out, heard by the recorder's and the stream's tests"),
    "server/api/alerts.py": (("tests/server/api/test_app.py",), "the alerts' routes, with the API's other wire tests"),
    "server/api/common.py": (("tests/server/api/test_app.py", "tests/server/api/test_people.py"), "the handlers' helpers"),
    "server/api/guard.py": (("tests/server/api/test_app.py", "tests/server/api/test_handshake.py",
                             "tests/server/api/test_pac.py"), "who may ask, asked on every route"),
    "server/api/photos.py": (("tests/server/api/test_app.py",), "the photos' routes, with the API's other wire tests"),
    "server/api/proxy_config.py": (("tests/server/api/test_pac.py",), "the PAC and the proxy's settings, served"),
    "server/api/stream.py": (("tests/server/api/test_app.py",), "the event stream, with the API's other wire tests"),
    "server/api/usage.py": (("tests/server/api/test_app.py",), "`/api/stats`'s process figures"),
    "server/casefile/case.py": (("tests/server/casefile/test_casefile.py",), "the case file, made and verified"),
    "server/casefile/layout.py": (("tests/server/casefile/test_casefile.py",), "where each part of the case file sits"),
    **{f"server/casefile/{module}.py": (("tests/server/casefile/test_casefile.py", "tests/server/casefile/test_casefile_reposts.py",
                                          "tests/server/casefile/test_casefile_impersonation.py",
                                          "tests/server/casefile/test_casefile_stories_and_ids.py"),
                                         "the report inside the case file: what it says, written as HTML and PDF")
       for module in ("report", "report_html", "report_pdf")},
    **{f"server/casefile/{module}.py": (("tests/server/casefile/test_casefile.py",),
                                         "the PDF's glyphs and the outlined pictures, read in the case file")
       for module in ("glyphs", "pictures")},
    "server/cli/main.py": (("tests/server/cli/test_cli.py", "tests/server/cli/test_startup.py"), "the command, run as a parent runs it"),
    "server/cli/options.py": (("tests/server/cli/test_cli.py",), "options made from the settings, read in `--help`"),
    "server/cli/setup_commands.py": (("tests/server/setup/test_doctor.py", "tests/server/setup/test_trust.py"),
                                     "the setup commands, beside what they set up"),
    "server/config.py": (("tests/server/cli/test_cli.py", "tests/server/api/test_handshake.py"), "the data dir and the token"),
    "server/contact.py": (("tests/server/setup/test_doctor.py",), "last contacts, as doctor reads them"),
    "server/extension_files.py": (("tests/extension/test_extension_files.py",), "the extension's files, where it ships"),
    "server/run/root.py": (("tests/server/run/test_mitmdump_addon.py", "tests/server/run/test_icap_runner.py",
                            "tests/test_end_to_end.py"), "the composition root under each of its fronts"),
    "server/run/runner.py": (("tests/test_end_to_end.py", "tests/test_bombs.py"), "`sentinelle run`, end to end"),
    "server/settings.py": (("tests/server/cli/test_cli.py",), "the settings, as the commands' options"),
    "server/setup/plan.py": (("tests/server/setup/test_trust.py", "tests/server/setup/test_service.py"), "setup's steps"),
    "server/store/children.py": (("tests/server/store/test_store_children.py",), "the store's children, named as the store"),
    "server/store/photos.py": (("tests/server/store/test_store.py", "tests/server/store/test_store_avatar_views.py",
                                "tests/server/store/test_store_fingerprints_v3.py"), "the store's photos, named as the store"),
    "server/store/records.py": (("tests/server/store/test_store.py",), "the store's records, named as the store"),
    "server/store/sightings.py": (("tests/server/store/test_store.py", "tests/server/store/test_store_attribution.py",
                                   "tests/server/store/test_store_account_ids.py"), "the store's alerts, named as the store"),
    "server/store/migrations.py": (("tests/server/store/test_store.py", "tests/server/store/test_store_children.py",
                                    "tests/server/store/test_store_attribution.py", "tests/server/store/test_cases.py"),
                                   "each migration, on a database of the schema before it"),
    "server/store/schema.py": (("tests/server/store/test_store.py", "tests/server/store/test_store_children.py"),
                               "`migrate` and what the store's parts share, under the store"),
    "server/version.py": (("tests/server/cli/test_cli.py",), "`--version`"),
    "server/watch_counts.py": (("tests/server/setup/test_doctor.py",), "the counts, as doctor reads them"),
}


def modules() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for folder in ("proxy", "server") for p in (ROOT / folder).rglob("*.py")
                  if p.name not in ("__init__.py", "__main__.py"))


def own_test(module: str) -> Path:
    path = Path(module)
    return ROOT / "tests" / path.parent / f"test_{path.stem}.py"


def test_every_module_has_its_test_file_or_says_where_it_is_tested():
    untested = [m for m in modules() if not own_test(m).is_file() and m not in TESTED_ELSEWHERE]
    assert not untested, f"no tests/…/test_<module>.py, and not listed in TESTED_ELSEWHERE: {untested}"


def test_the_list_names_real_tests_of_real_modules():
    for module, (tests, why) in TESTED_ELSEWHERE.items():
        assert (ROOT / module).is_file(), f"{module} is listed but no longer exists"
        assert not own_test(module).is_file(), f"{module} has its own test file now: take it off the list"
        assert why and all((ROOT / t).is_file() for t in tests), (module, tests)
