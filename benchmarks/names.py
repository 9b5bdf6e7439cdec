"""Look-alike names: are the impersonators found, and how many others reach the watch list?

    python -m benchmarks.names [--accounts 100000] [--seed 7]

100,000 realistic accounts (French and English names and handles, from Faker's fr_FR, en_US
and en_GB locales, in the shapes handles take: first.last, firstlast + year, initials,
nicknames, Faker's own user names), and, planted among them, look-alikes of four children's
names and handles in every disguise `proxy/feeds/names.py` sees through. Reports how many
look-alikes are found (goal: all), how many other accounts reach each child's watch list
(goal: none that does not carry her full name), and the time per account (it runs on every
account of every feed: goal 20 µs). Writes benchmarks/results/names.md.
"""

from __future__ import annotations

import argparse
import random
import time
import unicodedata
from collections import Counter
from pathlib import Path

from faker import Faker

from benchmarks.scene import machine
from sentinelle.proxy.feeds.names import Child, NameWatch

RESULTS = Path(__file__).parent / "results" / "names.md"
GOAL_US = 20.0

CHILDREN = [
    Child("Léa Martin", aliases=("Lélé",), handles=(("instagram", "lea_mrtn"), ("tiktok", "leamrtn.dance"))),
    Child("Chloé Lefèvre", handles=(("instagram", "chloe.lfv"),)),
    Child("Emma Dubois", aliases=("Emmy",), handles=(("instagram", "emmadbs_"),)),
    Child("Olivia Smith", handles=(("tiktok", "liv.smith.09"),)),
]

CYRILLIC = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "y": "у", "x": "х"}
LEET = {"o": "0", "i": "1", "l": "1", "e": "3", "a": "4", "s": "5", "t": "7"}
SMALL_CAPS = dict(zip("abcdefghijklmnoprstuvwyz", "ᴀʙᴄᴅᴇғɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ"))


def plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def swap_one(text: str, table: dict[str, str], rng: random.Random) -> str | None:
    spots = [i for i, c in enumerate(text) if c in table]
    if not spots:
        return None
    i = rng.choice(spots)
    return text[:i] + table[text[i]] + text[i + 1:]


def disguises(child: Child, rng: random.Random) -> list[tuple[str, str, str]]:
    """(disguise, handle, display name) look-alikes of a child, one or more of each kind."""
    first, last = (plain(w) for w in child.name.split()[:2])
    base = f"{first}.{last}"
    out = [
        ("case", f"{first.upper()}_{last.capitalize()}", ""),
        ("accents", child.name.lower().replace(" ", "."), ""),
        ("separators", f"{first}_{last}", ""), ("separators", f"{first}-{last}", ""), ("separators", f"{first}{last}", ""),
        ("order", f"{last}.{first}", ""), ("order", "user" + str(rng.randint(10, 999)), f"{last.capitalize()} {first.capitalize()}"),
        ("display name", "user" + str(rng.randint(1000, 9999)), child.name),
        ("digits and years", f"{first}{last}{rng.randint(2008, 2016)}", ""), ("digits and years", f"{base}_{rng.randint(1, 99)}", ""),
        ("doubled letters", f"{first}{first[-1]}.{last}{last[-1]}", ""),
        *(("affix", form, "") for form in (f"real_{first}{last}", f"{base}.officiel", f"{base}_2", f"{base}.backup",
                                           f"private.{base}", f"priv_{first}_{last}", f"{first}{last}officiel")),
        *(("look-alike letters (Cyrillic)", h, "") for h in {swap_one(base, CYRILLIC, rng) for _ in range(4)} if h),
        ("look-alike letters (Greek ο)", base.replace("o", "ο", 1), "") if "o" in base else None,
        ("small capitals", "".join(SMALL_CAPS.get(c, c) for c in base), ""),
        *(("leetspeak", h, "") for h in {swap_one(base, LEET, rng) for _ in range(4)} if h),
    ]
    for _, handle in child.handles:
        out += [("her handle, dressed", f"{handle}_backup", ""), ("her handle, dressed", f"real.{handle}", ""),
                ("her handle, dressed", f"{handle}{rng.randint(2, 9)}", ""),
                ("her handle, dressed", handle.replace(".", "_").replace("_", ".", 1), "")]
    for alias in child.aliases:
        out.append(("nickname and last name", f"{plain(alias)}.{last}", ""))
    return [d for d in out if d is not None and d[1] not in {h for _, h in child.handles}]


def handle_for(fake: Faker, first: str, last: str, rng: random.Random) -> str:
    f, l = plain(first).replace(" ", ""), plain(last).replace(" ", "")  # noqa: E741 — first and last, as in the shapes below
    shape = rng.randrange(8)
    if shape == 0:
        return f"{f}.{l}"
    if shape == 1:
        return f"{f}{l}{rng.randint(1, 2015)}"
    if shape == 2:
        return f"{f[0]}{l}"
    if shape == 3:
        return f"{f}_{l[0]}"
    if shape == 4:
        return f"{l}.{f}{rng.randint(1, 99)}"
    if shape == 5:
        return f"{f}{rng.choice(['_officiel', '.pics', '_x', '.dance', '_art'])}"
    return fake.user_name()


def accounts(count: int, seed: int) -> list[tuple[str, str, str, tuple[str, str]]]:
    """(platform, handle, display name, (first, last) it was made from) for `count` accounts."""
    rng = random.Random(seed)
    fakes = [Faker(locale) for locale in ("fr_FR", "en_US", "en_GB")]
    for i, fake in enumerate(fakes):
        fake.seed_instance(seed + i)
    out = []
    for _ in range(count):
        fake = rng.choice(fakes)
        female = rng.random() < 0.5
        first = fake.first_name_female() if female else fake.first_name_male()
        last = fake.last_name()
        display = rng.choice([f"{first} {last}", first, f"{first} {last[0]}.", "", fake.catch_phrase()[:30]])
        out.append((rng.choice(["instagram", "tiktok", "x", "facebook"]), handle_for(fake, first, last, rng), display, (first, last)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    watch = NameWatch(CHILDREN)
    crowd = accounts(args.accounts, args.seed)
    planted = [(child, kind, handle, display) for child in CHILDREN for kind, handle, display in disguises(child, rng)]

    found_by_kind: Counter = Counter()
    planted_by_kind: Counter = Counter()
    missed = []
    for child, kind, handle, display in planted:
        planted_by_kind[kind] += 1
        hit = watch.check("instagram", handle, display)
        if hit is not None and hit.child == child.name:
            found_by_kind[kind] += 1
        else:
            missed.append(f"{child.name}: {kind}: {handle!r} {display!r} → {hit}")

    flagged: dict[str, Counter] = {c.name: Counter() for c in CHILDREN}
    strangers: dict[str, list[str]] = {c.name: [] for c in CHILDREN}
    started = time.perf_counter()
    results = [watch.check(platform, handle, display) for platform, handle, display, _ in crowd]
    elapsed = time.perf_counter() - started
    names_of = {c.name: tuple(plain(w) for w in c.name.split()[:2]) for c in CHILDREN}
    for (platform, handle, display, made_from), hit in zip(crowd, results):
        if hit is None:
            continue
        carries = tuple(plain(w) for w in made_from) == names_of[hit.child]
        flagged[hit.child]["carries her full name" if carries else "does not"] += 1
        if not carries:
            strangers[hit.child].append(f"{platform}: {handle!r} {display!r} ({hit.field}, {hit.what})")
    per_account_us = elapsed / len(crowd) * 1e6

    lines = [
        "# Look-alike names", "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {machine()} (one core)",
        f"- command: `python -m benchmarks.names --accounts {args.accounts} --seed {args.seed}`",
        f"- {len(crowd):,} accounts from Faker (fr_FR, en_US, en_GB): "
        "handles in the shapes people use, display names full, first name only, initial, empty or a phrase; "
        f"{len(planted)} look-alikes of {len(CHILDREN)} children planted ({', '.join(c.name for c in CHILDREN)})", "",
        "## Look-alikes found", "",
        "| disguise | found |", "| --- | ---: |",
        *(f"| {kind} | {found_by_kind[kind]} / {n} |" for kind, n in planted_by_kind.items()),
        f"| **all** | **{sum(found_by_kind.values())} / {len(planted)}** |", "",
    ]
    if missed:
        lines += ["Missed:", "", *(f"- {m}" for m in missed), ""]
    lines += [
        "## Other accounts on each child's watch list", "",
        "| child | reached the watch list | made from her very name (a namesake) | others |",
        "| --- | ---: | ---: | ---: |",
        *(f"| {name} | {sum(c.values())} | {c['carries her full name']} | **{c['does not']}** |" for name, c in flagged.items()),
        "",
        "A namesake (an account made from her first and last name) carries her full name: the watch list shows it, "
        "without a notification, for the parent to look at. Goal: no other.", "",
    ]
    for name, accounts_ in strangers.items():
        if accounts_:
            lines += [f"Others on {name}'s list:", "", *(f"- {a}" for a in accounts_[:20]), ""]
    lines += [
        "## Time", "",
        f"**{per_account_us:.1f} µs** per account (handle and display name), {len(CHILDREN)} children watched "
        f"(goal: {GOAL_US:g} µs); {elapsed:.2f} s for {len(crowd):,} accounts.", "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
