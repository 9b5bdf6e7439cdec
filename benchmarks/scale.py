"""The matcher at a family's whole album: what 100, 1,000 and 10,000 protected photos cost, as a user meets it.

    python -m benchmarks.scale [--sizes 100,1000,10000] [--corpus ../shared/datasets/dev] [--work DIR]

For each album size, in a data dir of its own (`album_dir`: kept in `--work`, begun as a copy of
the next smaller album kept there, so that a run enrols only the photos no earlier run did):

- **enrolment**: `sentinelle enroll FOLDER` of the photos that bring the album to that size
  (CPU and wall-clock time a photo, the index kept up to date included);
- **start**: `sentinelle run` started, a copy of a protected photo fetched through it from a
  fake Instagram CDN at once and again until it alerts: the time from the command to the first
  image checked, beside the same with one photo enrolled; twice: first with the data dir's files
  out of the page cache (`evict`: a parent's first start of the day), then with them in it;
- **memory**: the whole process tree (Sentinelle and its two checking processes) after 40
  images checked by both: the sum of resident memory (RSS, which counts a page mapped by three
  processes three times) and of proportional memory (PSS, which shares it out: what the tree
  costs the machine);
- **one more photo**: enrolled through the API, then another with `sentinelle enroll`, while
  the proxy runs; a copy of it fetched every 100 ms until it alerts: the time from the
  enrolment to the photo being watched; meanwhile `/api/health` asked every 20 ms (its
  slowest answer);
- **`sentinelle check`** of one image (wall-clock, the command as a parent types it);
- **per image**, in this process, the protected set loaded as a checking process loads it:
  CPU time of `fingerprint` + `Matcher.match` for images that match nothing (PLAIN_PHOTOS people
  photos of the corpus not protected, at their own size and served 1080 px wide) and for
  copies of COPIED_PHOTOS protected photos (COPIES, at their own size and upscaled), and ORB + RANSAC
  (benchmarks.matcher's baseline, with the whole album enrolled, after Sentinelle is done: its
  album would push Sentinelle's pages out of the page cache) on one image in ORB_EVERY of the same
  images (ORB_EVERY_LARGE beyond 1,000 photos), in the same run; and, first of all, the protected
  set loaded with its files out of the page cache and FIRST_OF_DAY strangers' profile pictures
  timed wall-clock (the first of a day, read from the disk).

The album: the 100 photos of `people/` that `benchmarks.matcher` protects (same seed), then
photos made from `scenes/` (each scene whole, flipped upside down, turned a quarter either way,
and four 85 % crops of each of those: 20 distinct photos a scene, 10,000 from the 500 scenes).
Those made photos only make the album large: the costs are measured with them, the recall
figures are those of the 100 real photos' copies, found among them. The images that match
nothing are people photos, from which no album photo is made.

Sentinelle's commands run as installed: from bytecode compiled once (pip compiles it at install;
this benchmark keeps it in `--work`, where a shell with PYTHONDONTWRITEBYTECODE would compile every
module at every command). `sentinelle run` is started with two checking processes (its default on a 3-core machine: the
benchmark makes `os.cpu_count()` say 3). Writes benchmarks/results/scale.md. Run it under both
locks: `flock /tmp/sentinelle-heavy.lock flock /tmp/sentinelle-bench.lock python -m benchmarks.scale`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import shlex
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from benchmarks.matcher import DEFAULT_CORPUS, OrbRansac, draw
from benchmarks.scene import CDN, machine, wait_for_port
from benchmarks.transforms import AVATARS, CLASSES, at_both_sizes, jpeg, served
from tests.support.certs import make_origin_certs
from tests.support.watcher import LOOPBACK_DNS, ROOT, free_port

RESULTS = Path(__file__).parent / "results" / "scale.md"
SIZES = (100, 1000, 10000)
PROTECTED = 100
# The copies timed and counted at each size (each at own size and upscaled).
COPIES = ("640 wide, q85", "4:5 at 640, q75", "78 %, right", "3 emoji + text sticker", "light, phone resolution",
          "9:16 story, blurred background")
# The per-image leg is kept to a few minutes at any album size: the first PLAIN_PHOTOS strangers'
# photos (each at its own size and 1080 px) and copies of the first COPIED_PHOTOS protected ones;
# ORB + RANSAC sees one image in ORB_EVERY of those (over 100 ms an image with 100 photos
# enrolled, seconds with 1,000: a first run with every image held the machine 30 min).
PLAIN_PHOTOS = 60
COPIED_PHOTOS = 20
# Profile-sized images go through one more stage (`proxy.engine.avatar`): strangers' photos and the
# copies made into this profile picture are timed apart.
PROFILE_PICTURE = "45 %, upper left, 320 px"
ORB_EVERY = 12
# The first profile pictures after the protected set is loaded from the disk (its files out of the
# page cache), timed wall-clock: what the first ones of a day cost.
FIRST_OF_DAY = 10
# Then the leg waits, at most this many seconds, for the lists to be read ahead (`segment.read_ahead`).
READ_AHEAD_WAIT = 300
# ... until this share of them is in memory: this machine's page cache gives pages back even with
# memory free (99.6 % of the 10,000 photos' lists read in 7 s, 91 % left two minutes later).
READ_AHEAD_DONE = 0.98
# Beyond 1,000 photos one ORB + RANSAC query takes tens of seconds: it sees one image in
# ORB_EVERY_LARGE (one of each kind of strangers' image, two of each kind of copy).
ORB_EVERY_LARGE = 60
# `sentinelle run` gets two checking processes, as on a 3-core family PC.
CPU_COUNT = 3
# Images checked by both workers before the memory is read.
WARM_IMAGES = 40
MB = 2**20
# The last scenes are kept out of the album: photos of them are enrolled while the proxy runs.
SPARE_SCENES = 2


# --- the album -------------------------------------------------------------------------


def _variants(img: Image.Image) -> list[Image.Image]:
    """20 distinct photos made of one: whole, upside down, turned either way; each whole and cropped to 85 % at each corner."""
    turned = [img, ImageOps.flip(img), img.transpose(Image.Transpose.ROTATE_90), img.transpose(Image.Transpose.ROTATE_270)]
    made = []
    for picture in turned:
        width, height = picture.size
        crop_w, crop_h = round(width * 0.85), round(height * 0.85)
        made.append(picture)
        made += [picture.crop((x, y, x + crop_w, y + crop_h)) for x in (0, width - crop_w) for y in (0, height - crop_h)]
    return made


@dataclass
class Album:
    protected: list[Path]
    strangers: list[Path]  # people photos not protected: they match nothing, and no album photo is made of them
    scenes: list[Path]

    def made(self, count: int) -> list[tuple[str, bytes]]:
        """The first `count` photos made of the scenes (name, JPEG bytes), always in the same order."""
        out: list[tuple[str, bytes]] = []
        for path in self.scenes:
            if len(out) >= count:
                break
            with Image.open(path) as img:
                for number, variant in enumerate(_variants(img.convert("RGB"))):
                    out.append((f"{path.stem}-{number:02d}.jpg", jpeg(variant, 92)))
        if len(out) < count or count > (len(self.scenes) - SPARE_SCENES) * 20:
            raise SystemExit(f"the corpus makes {(len(self.scenes) - SPARE_SCENES) * 20} photos, not {count}")
        return out[:count]

    def spare(self) -> list[tuple[str, bytes]]:
        """Two photos of scenes no album photo is made of, each of another scene: enrolled while the proxy runs."""
        return [(f"{path.stem}-spare.jpg", jpeg(Image.open(path).convert("RGB"), 92)) for path in self.scenes[-SPARE_SCENES:]]


def album(corpus: Path, seed: int) -> Album:
    protected, _, _ = draw(corpus, PROTECTED, seed)
    people = sorted((corpus / "people").glob("*.jpg"))
    chosen = set(protected)
    return Album(protected, [p for p in people if p not in chosen], sorted((corpus / "scenes").glob("*.jpg")))


# --- commands as a parent types them ---------------------------------------------------


def sentinelle_command(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "sentinelle.server", "--data-dir", str(data_dir), *args]


def enrol_folder(data_dir: Path, folder: Path) -> tuple[float, float]:
    """`sentinelle enroll FOLDER`: (wall-clock, CPU) seconds, the command's whole run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(sentinelle_command(data_dir, "enroll", str(folder)), cwd=ROOT, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def album_dir(work: Path, size: int) -> Path:
    """The data dir of the album of `size` photos, kept in `work`: begun, when there is none, as a copy
    of the largest smaller one kept there (whose photos then need not be enrolled again)."""
    data_dir = work / f"album-{size}"
    if not data_dir.exists():
        smaller = sorted((int(p.name.removeprefix("album-")), p) for p in work.glob("album-*")
                         if p.name.removeprefix("album-").isdigit() and int(p.name.removeprefix("album-")) < size)
        if smaller:
            copying = work / f".album-{size}.copying"
            shutil.rmtree(copying, ignore_errors=True)
            shutil.copytree(smaller[-1][1], copying, symlinks=True)
            copying.rename(data_dir)
    return data_dir


def as_installed(work: Path) -> None:
    """Sentinelle's commands, started from here on, run from compiled bytecode (kept in `work`)."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(work / "bytecode")


def photo_count(data_dir: Path) -> int:
    if not (data_dir / "sentinelle.db").exists():
        return 0
    out = subprocess.run(sentinelle_command(data_dir, "photos"), cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if line.strip()[:1].isdigit())


# --- a running Sentinelle ---------------------------------------------------------------


class Running:
    """`sentinelle run` (two checking processes) with a fake Instagram CDN serving `served` as /img/N.jpg."""

    def __init__(self, work: Path, data_dir: Path, served: list[Path]) -> None:
        self.work, self.data_dir = work, data_dir
        certs = make_origin_certs(work / "origin", [CDN])
        origin_port, self.proxy_port, self.api_port = free_port(), free_port(), free_port()
        env = os.environ | {"SENTINELLE_TEST_HOSTS": f"{CDN}={origin_port}", "PYTHONUNBUFFERED": "1"}
        self.cdn = self._start("fake-cdn", [sys.executable, "-m", "benchmarks.fake_cdn", str(origin_port), str(certs.cert_file),
                                            str(certs.key_file), *map(str, served)], env)
        wait_for_port(origin_port, self.cdn, work / "fake-cdn.log", 120)
        # The command as typed, in a Python that sees CPU_COUNT cores: `run` then starts CPU_COUNT - 1 checkers.
        command = sentinelle_command(data_dir, "run", "--proxy-port", str(self.proxy_port), "--api-port", str(self.api_port),
                                     "--set", f"scripts={LOOPBACK_DNS}", "--set", f"ssl_verify_upstream_trusted_ca={certs.ca_file}")
        launcher = (f"import os, runpy, sys; os.cpu_count = lambda: {CPU_COUNT}; sys.argv = {command[2:]!r}; "
                    "runpy.run_module('sentinelle.server', run_name='__main__')")
        self.started = time.perf_counter()
        self.process = self._start("sentinelle", [sys.executable, "-c", launcher], env)
        self.token = ""
        self.ca_file = data_dir / "mitmproxy" / "mitmproxy-ca-cert.pem"

    def _start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        with open(self.work / f"{name}.log", "w") as out:
            return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        for process in (self.process, self.cdn):
            process.terminate()
        for process in (self.process, self.cdn):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()

    def fetch(self, number: int) -> bool:
        """GET /img/N.jpg through the proxy (a new address each time: a browser's cache never answers); whether it came."""
        if not self.ca_file.exists():
            return False
        context = ssl.create_default_context(cafile=str(self.ca_file))
        conn = http.client.HTTPSConnection("127.0.0.1", self.proxy_port, context=context, timeout=60)
        conn.set_tunnel(CDN, 443)
        try:
            conn.request("GET", f"/img/{number}.jpg?n={uuid.uuid4().hex}")
            response = conn.getresponse()
            response.read()
            return response.status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def api(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 600) -> object:
        if not self.token:
            self.token = (self.data_dir / "token").read_text().strip()
        request = urllib.request.Request(f"http://127.0.0.1:{self.api_port}{path}", method=method, data=body,
                                         headers={"Authorization": f"Bearer {self.token}", **(headers or {})})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)

    def images(self) -> dict:
        try:
            return self.api("GET", "/api/stats", timeout=10)["images"]
        except (OSError, ValueError):
            return {}

    def wait_for_match(self, number: int, since: float, photo: str | None = None, timeout: float = 900,
                       every: float = 0.1) -> float:
        """Fetch image `number` every `every` s until a fetch of it is matched: the seconds from `since` until
        the proxy says so (a check's own time and the look included). Matched means, for `photo`, an
        alert for the photo of that file name, new or seen once more (an album reused from an earlier
        run may hold one: a forgotten photo's number is given again, and its alert counts the copy
        again); otherwise any image matched since the proxy started."""
        deadline = time.perf_counter() + timeout
        known = self.alert_counts() if photo else {}
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sentinelle run exited: {(self.work / 'sentinelle.log').read_text()[-3000:]}")
            started = time.perf_counter()
            self.fetch(number)
            if photo is None and self.images().get("matched", 0) > 0:
                return time.perf_counter() - since
            if photo is not None and any(a["photo_name"] == photo and a["count"] > known.get(a["id"], 0) for a in self.alerts()):
                return time.perf_counter() - since
            time.sleep(max(0.0, every - (time.perf_counter() - started)))
        raise TimeoutError(f"image {number} was never matched")

    def alerts(self) -> list[dict]:
        try:
            return self.api("GET", "/api/alerts", timeout=10)
        except (OSError, ValueError):
            return []

    def alert_counts(self) -> dict[int, int]:
        return {a["id"]: a["count"] for a in self.alerts()}

    def settle(self, timeout: float = 600) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            images = self.images()
            if images and not images.get("waiting"):
                return
            time.sleep(0.1)

    def memory(self) -> dict[str, float]:
        """RSS and PSS of Sentinelle's process tree (MB), and its process count."""
        pids = _tree(self.process.pid)
        rss = pss = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    key, _, value = line.partition(":")
                    if key == "Rss":
                        rss += int(value.split()[0]) * 1024
                    elif key == "Pss":
                        pss += int(value.split()[0]) * 1024
            except OSError:
                pass
        return {"rss": rss / MB, "pss": pss / MB, "processes": len(pids)}


def _tree(pid: int) -> list[int]:
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                queue += [int(c) for c in task.joinpath("children").read_text().split()]
            except OSError:
                pass
    return pids


class Pinger(threading.Thread):
    """Asks /api/health every `every` s while it runs: the slowest answer."""

    def __init__(self, api_port: int, every: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.url, self.every = f"http://127.0.0.1:{api_port}/api/health", every
        self.times: list[float] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=30) as response:
                    response.read()
            except OSError:
                pass
            self.times.append(time.perf_counter() - start)
            self.stopping.wait(max(0.0, self.every - (time.perf_counter() - start)))

    def slowest(self) -> float:
        self.stopping.set()
        self.join()
        return max(self.times) if self.times else float("nan")


def multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"{name}\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


# --- one album size -----------------------------------------------------------------------


@dataclass
class Figures:
    size: int
    enrol: tuple[int, float, float] | None = None  # photos, wall s, CPU s (None: the data dir was reused)
    ready: float = 0.0  # s from the command to the first image checked
    ready_cold: float = 0.0  # the same, the data dir's files out of the page cache first
    memory: dict = field(default_factory=dict)
    memory_after: dict = field(default_factory=dict)
    via_api: float = 0.0
    via_cli: float = 0.0
    api_call: float = 0.0  # the upload's own answer
    slowest_health: float = 0.0
    check: float = 0.0
    times: dict[str, list[float]] = field(default_factory=dict)  # label -> CPU s per image
    found: dict[str, list[bool]] = field(default_factory=dict)  # label -> right answer per image
    orb: dict[str, list[float]] = field(default_factory=dict)
    orb_found: dict[str, list[bool]] = field(default_factory=dict)
    alerts_on_strangers: int = 0
    load_seconds: float = 0.0  # the protected set loaded, its files out of the page cache
    first_of_day: list[float] = field(default_factory=list)  # wall s of each of the first profile pictures then
    disk: dict = field(default_factory=dict)  # MB: database, index
    read_ahead: tuple[float, float] = (0.0, 0.0)  # s from the load until the lists were in the page cache, and the share then


def both_checkers_check(running: Running, served: list) -> None:
    """Both checking processes check strangers' images (WARM_IMAGES in all), then settle."""
    threads = [threading.Thread(target=lambda k=k: [running.fetch(3 + (k + 2 * i) % (len(served) - 3)) for i in range(WARM_IMAGES // 2)])
               for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    running.settle()


def run_leg(work: Path, data_dir: Path, served: list[Path], new_photos: list[tuple[str, bytes]], figures: Figures | None, log) -> float:
    """`sentinelle run` on `data_dir`: the time to the first image checked; with `figures`, the rest of the leg too.
    Served: 0 a copy of a protected photo, 1 and 2 the photos enrolled while running, 3… strangers."""
    running = Running(work, data_dir, served)
    try:
        ready = running.wait_for_match(0, running.started)
        log(f"  ready {ready:.1f} s after the command")
        if figures is None:
            return ready
        figures.ready = ready
        # Both checkers check strangers' images, then the memory is read.
        both_checkers_check(running, served)
        figures.memory = running.memory()
        log(f"  memory {figures.memory}")
        pinger = Pinger(running.api_port)
        pinger.start()
        body, kind = multipart(new_photos[0][0], new_photos[0][1])
        start = time.perf_counter()
        running.api("POST", "/api/photos", body, {"Content-Type": kind})
        figures.api_call = time.perf_counter() - start
        figures.via_api = running.wait_for_match(1, start, new_photos[0][0])
        log(f"  one more photo through the API: answered in {figures.api_call:.2f} s, watched after {figures.via_api:.2f} s")
        folder = work / "one-more"
        folder.mkdir(exist_ok=True)
        (folder / new_photos[1][0]).write_bytes(new_photos[1][1])
        start = time.perf_counter()
        cli = subprocess.Popen(sentinelle_command(data_dir, "enroll", str(folder / new_photos[1][0])), cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        figures.via_cli = running.wait_for_match(2, start, new_photos[1][0])
        cli.wait()
        figures.slowest_health = pinger.slowest()
        log(f"  one more photo with `enroll`: watched after {figures.via_cli:.2f} s; slowest /api/health {figures.slowest_health * 1000:.0f} ms")
        both_checkers_check(running, served)
        figures.memory_after = running.memory()
        log(f"  memory after the two enrolments {figures.memory_after}")
        return ready
    finally:
        running.stop()
        # The photos enrolled while running leave the album as they came: the next size starts from the same set.
        for name, _ in new_photos:
            subprocess.run(sentinelle_command(data_dir, "forget", name), cwd=ROOT, capture_output=True)


def evict(folder: Path) -> None:
    """Drop the files of `folder` from the page cache (POSIX_FADV_DONTNEED: clean pages leave, as
    after a reboot), so that the next start reads them from the disk."""
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def disk_use(data_dir: Path) -> dict[str, float]:
    """MB on the disk: the data dir's database, and its index as the newest manifest names it (the
    segments an older one still names are deleted some minutes after they are replaced)."""
    from sentinelle.server.alerts.protected import index_folder

    def size(path: Path) -> float:
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / MB if path.is_dir() else path.stat().st_size / MB

    folder = index_folder(data_dir)
    latest = folder.latest()
    index = sum(size(folder.path / name) for name in latest.segments) if latest else 0.0
    return {"database": size(data_dir / "sentinelle.db"), "index": index}


def lists_in_memory(data_dir: Path) -> float:
    """The share of the index's inverted lists (the newest manifest's segments) in the page cache,
    as util-linux's fincore reads it (mincore)."""
    from sentinelle.proxy.engine.segment import LISTS
    from sentinelle.server.alerts.protected import index_folder

    folder = index_folder(data_dir)
    latest = folder.latest()
    paths = [str(folder.path / name / LISTS) for name in latest.segments] if latest else []
    if not paths:
        return 1.0
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES,SIZE", *paths],
                         check=True, capture_output=True, text=True).stdout.split()
    resident, size = sum(map(int, out[0::2])), sum(map(int, out[1::2]))
    return resident / size if size else 1.0


def timed_check(data_dir: Path, image: Path) -> float:
    start = time.perf_counter()
    out = subprocess.run(sentinelle_command(data_dir, "check", str(image)), cwd=ROOT, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if "COPY" not in out.stdout:
        raise SystemExit(f"sentinelle check did not find the copy: {out.stdout}")
    return seconds


def loaded_matcher(data_dir: Path):
    """The protected set as a checking process loads it: the index kept beside the store, mapped."""
    from sentinelle.proxy.fronts import worker
    from sentinelle.server.alerts.protected import index_folder, keep_up
    from sentinelle.server.store.records import Store

    store = Store(data_dir, read_only=True)
    try:
        manifest = keep_up(store, index_folder(data_dir))
    finally:
        store.close()
    return worker.load(worker.IndexRef(str(manifest.path), manifest.generation)).matcher


def per_image(figures: Figures, data_dir: Path, the_album: Album, photo_bytes: list[tuple[str, bytes]], log) -> None:
    """Time an image of Sentinelle, then of ORB + RANSAC, in this process, the whole album enrolled in each.

    Sentinelle goes first: with the index's files out of the page cache, FIRST_OF_DAY strangers'
    profile pictures (wall-clock: the first of a day), then, once its inverted lists are read ahead
    (or READ_AHEAD_WAIT s), every image. ORB + RANSAC's album, built after, would otherwise push the
    index out and charge Sentinelle with reading it again."""
    from sentinelle.proxy.engine.fingerprint import fingerprint
    from sentinelle.proxy.engine.images import ImageError

    images = the_images(the_album)
    first_of_day = [profile_picture(path.read_bytes()) for path in the_album.strangers[PLAIN_PHOTOS:PLAIN_PHOTOS + FIRST_OF_DAY]]
    evict(data_dir)
    start = time.perf_counter()
    matcher = loaded_matcher(data_dir)
    figures.load_seconds = time.perf_counter() - start
    log(f"  protected set loaded in {figures.load_seconds:.1f} s, its files first dropped from the page cache")
    names = _photo_ids(data_dir)  # id -> file name
    loaded = time.perf_counter()
    for data in first_of_day:
        start = time.perf_counter()
        found = matcher.match(fingerprint(data))
        figures.first_of_day.append(time.perf_counter() - start)
        if found is not None:
            figures.alerts_on_strangers += 1
    # The rows below are "the index in memory": wait for its lists to be read ahead, and say when they were.
    while (share := lists_in_memory(data_dir)) < READ_AHEAD_DONE and time.perf_counter() - loaded < READ_AHEAD_WAIT:
        time.sleep(0.25)
    figures.read_ahead = (time.perf_counter() - loaded, share)
    log(f"  lists {100 * share:.0f} % in the page cache {figures.read_ahead[0]:.0f} s after the load")
    for label, data, truth in images:
        start = time.process_time()
        try:
            found = matcher.match(fingerprint(data))
        except ImageError:
            found = None
        figures.times.setdefault(label, []).append(time.process_time() - start)
        answer = names.get(found.photo_id) if found else None
        figures.found.setdefault(label, []).append(answer == truth if truth else answer is None)
        if truth is None and answer is not None:
            figures.alerts_on_strangers += 1
    orb = OrbRansac()
    orb_start = time.perf_counter()
    for number, (_name, data) in enumerate(photo_bytes):
        orb.enrol(number, data)
    orb.finish()
    orb_names = [name for name, _ in photo_bytes]
    log(f"  ORB + RANSAC enrolled {len(photo_bytes)} photos in {time.perf_counter() - orb_start:.0f} s")
    orb_every = orb_share(figures.size)
    seen_of: dict[str, int] = {}
    for label, data, truth in images:
        number = seen_of[label] = seen_of.get(label, -1) + 1
        if number % orb_every == 0:
            start = time.process_time()
            orb_answer = orb.query(data)
            figures.orb.setdefault(label, []).append(time.process_time() - start)
            named = orb_names[orb_answer] if orb_answer is not None else None
            figures.orb_found.setdefault(label, []).append(named == truth if truth else named is None)


def the_images(the_album: Album) -> list[tuple[str, bytes, str | None]]:
    """The per-image leg's images: (label, bytes, the protected photo's name, None where it matches nothing)."""
    from sentinelle.proxy.engine.images import open_image

    images: list[tuple[str, bytes, str | None]] = []
    for path in the_album.strangers[:PLAIN_PHOTOS]:
        data = path.read_bytes()
        images.append(("matches nothing, own size", data, None))
        images.append(("matches nothing, 1080 px", served(open_image(data, min_side=1)), None))
        images.append(("matches nothing, profile picture", profile_picture(data), None))
    transforms = [t for t in at_both_sizes(sum(CLASSES.values(), ())) if t.name in COPIES]
    for path in the_album.protected[:COPIED_PHOTOS]:
        img = open_image(path.read_bytes(), min_side=1)
        for transform in transforms:
            images.append((f"copy, {transform.size}", transform.apply(img), path.name))
        images.append(("copy, profile picture", profile_picture(path.read_bytes()), path.name))
    return images


def profile_picture(data: bytes) -> bytes:
    """A photo made into the avatar class's PROFILE_PICTURE, as Instagram serves it."""
    from sentinelle.proxy.engine.images import open_image

    return next(t for t in AVATARS if t.name == PROFILE_PICTURE).apply(open_image(data, min_side=1))


def orb_share(size: int) -> int:
    """ORB + RANSAC sees one image in this many at an album of `size` photos."""
    return ORB_EVERY if size <= 1000 else ORB_EVERY_LARGE


def _photo_ids(data_dir: Path) -> dict[int, str]:
    from sentinelle.server.store.records import Store

    store = Store(data_dir, read_only=True)
    try:
        return {p["id"]: p["name"] for p in store.photos()}
    finally:
        store.close()


# --- the report ------------------------------------------------------------------------


def _ms(values: list[float]) -> str:
    return f"{1000 * float(np.mean(values)):.1f}" if values else "–"


def _pct(values: list[bool]) -> str:
    return f"{100 * sum(values) / len(values):.1f} %" if values else "–"


def memory_growth(results: list[Figures]) -> list[str]:
    """What each further 1,000 photos add to the tree's memory, between one album size and the next (PSS, after the warm-up)."""
    out = []
    for smaller, larger in zip(results, results[1:]):
        added = larger.memory.get("pss", 0) - smaller.memory.get("pss", 0)
        thousands = (larger.size - smaller.size) / 1000
        out.append(f"- memory added per further 1,000 photos, from {smaller.size:,} to {larger.size:,}: "
                   f"{added / thousands:.0f} MB (PSS; RSS {(larger.memory.get('rss', 0) - smaller.memory.get('rss', 0)) / thousands:.0f} MB)")
    return out


def report(results: list[Figures], one_photo_ready: float, command: str, seconds: float) -> str:
    lines = [
        "# Scale benchmark: the matcher at a family's whole album",
        "",
        f"- date: {subprocess.run(['date', '-u'], capture_output=True, text=True).stdout.strip()}",
        f"- machine: {machine()} (shared: the benchmark's client, the fake CDN, Sentinelle and its two checkers on them)",
        f"- command: `{command}`",
        f"- album: the {PROTECTED} photos of `people/` that `benchmarks.matcher` protects, then photos made of `scenes/` "
        "(each scene whole, upside down, turned a quarter either way, and 85 % crops of each at its four corners): "
        "only costs are measured with those; recall is that of the real photos' copies among them",
        f"- `sentinelle run` with {CPU_COUNT - 1} checking processes (its default on a {CPU_COUNT}-core PC)",
        f"- with one photo enrolled, `sentinelle run` checked its first image {one_photo_ready:.1f} s after the command",
        "- start → first image checked: cold, the data dir's files first dropped from the page cache (a first start of the day); "
        "warm, right after (the start the rest of the leg measures); the one-photo start it is compared with is warm",
        "",
        "## Ready, memory, enrolment",
        "",
        "| enrolled photos | enrol (wall / CPU a photo) | start → first image checked: cold / warm | … minus with 1 photo | "
        "one more photo watched after: API / `enroll` | slowest `/api/health` meanwhile | `sentinelle check` of one image | "
        "memory of the tree, PSS (RSS) | after two more enrolments | on the disk: database + index |",
        "| ---: | --- | ---: | ---: | --- | ---: | ---: | --- | --- | --- |",
    ]
    for f in results:
        enrol = f"{1000 * f.enrol[1] / f.enrol[0]:.0f} / {1000 * f.enrol[2] / f.enrol[0]:.0f} ms ({f.enrol[0]:,} photos)" if f.enrol else "reused"
        lines.append(
            f"| {f.size:,} | {enrol} | {f.ready_cold:.1f} s / {f.ready:.1f} s | {f.ready_cold - one_photo_ready:+.1f} / {f.ready - one_photo_ready:+.1f} s | "
            f"{f.via_api:.1f} s / {f.via_cli:.1f} s | "
            f"{1000 * f.slowest_health:.0f} ms | {f.check:.1f} s | {f.memory.get('pss', 0):.0f} MB ({f.memory.get('rss', 0):.0f} MB) | "
            f"{f.memory_after.get('pss', 0):.0f} MB ({f.memory_after.get('rss', 0):.0f} MB) | "
            f"{f.disk.get('database', 0):,.0f} + {f.disk.get('index', 0):,.0f} MB |"
        )
    lines += ["", *memory_growth(results)]
    lines += [
        "",
        "## Per image (CPU time of one core, ms, mean) and recall, the whole album enrolled",
        "",
        "Sentinelle on every image first, then ORB + RANSAC (whose album, built after, would push Sentinelle's pages out of the page cache) on one in "
        + ", ".join(f"{orb_share(f.size)} at {f.size:,}" for f in results) + ", the whole album enrolled in it too. "
        f"Images that match nothing: {PLAIN_PHOTOS} people photos not protected. "
        f"Copies: {', '.join(COPIES)}, of {COPIED_PHOTOS} of the {PROTECTED} real photos. "
        f"Profile pictures: each of those photos made into the avatar class's \"{PROFILE_PICTURE}\", served 320 px square as Instagram serves them.",
        "",
        "| enrolled photos | images | Sentinelle ms | ORB + RANSAC ms | ratio | Sentinelle right | ORB + RANSAC right |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for f in results:
        for label, times in f.times.items():
            orb = f.orb.get(label, [])
            ratio = f"1/{np.mean(orb) / np.mean(times):.0f}" if orb else "–"
            lines.append(f"| {f.size:,} | {label} ({len(times)}) | {_ms(times)} | {_ms(orb)} | {ratio} | "
                         f"{_pct(f.found[label])} | {_pct(f.orb_found.get(label, []))} |")
    lines += ["", f"A first start of the day, in this process: the protected set loaded with its files out of the page cache, then "
              f"{FIRST_OF_DAY} strangers' profile pictures (not among the {PLAIN_PHOTOS} above), wall-clock, before any other image:", ""]
    lines += [f"- {f.size:,} photos: loaded in {f.load_seconds:.1f} s; the first picture {1000 * f.first_of_day[0]:.0f} ms, "
              f"the {len(f.first_of_day)}: mean {_ms(f.first_of_day)} ms, slowest {1000 * max(f.first_of_day):.0f} ms, "
              f"last {1000 * f.first_of_day[-1]:.0f} ms; the inverted lists {100 * f.read_ahead[1]:.0f} % in the page cache "
              f"{f.read_ahead[0]:.0f} s after the load (read ahead by `segment.read_ahead`); the table above was measured then"
              for f in results if f.first_of_day]
    lines += ["", "Strangers' images alerting: " + ", ".join(f"{f.size:,}: {f.alerts_on_strangers}" for f in results),
              "", f"Whole run: {seconds:.0f} s.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS.resolve())
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=None, help="keep the data dir here and reuse it (the enrolment is then not timed again)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--skip-per-image", action="store_true", help="leave out the per-image leg (quick runs)")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    command = shlex.join(["python", "-m", "benchmarks.scale", *(sys.argv[1:] if argv is None else argv)])
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    started = time.perf_counter()
    work = args.work or Path(tempfile.mkdtemp(prefix="sentinelle-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    as_installed(work)
    the_album = album(args.corpus, args.seed)
    made = the_album.made(max(sizes) - PROTECTED)
    new_photos = the_album.spare()  # enrolled while running, then forgotten
    folder = work / "new"
    for name, data in new_photos:
        (work / name).write_bytes(data)  # what the fake CDN serves of them
    strangers = the_album.strangers[:30]
    served_paths = [the_album.protected[0], *(work / name for name, _ in new_photos), *strangers]

    log("one photo enrolled")
    one = work / "one-photo"
    if photo_count(one) != 1:
        shutil.rmtree(one, ignore_errors=True)
        enrol_folder(one, the_album.protected[0])
    (work / "run-1").mkdir(exist_ok=True)
    # Twice: the first start in a new `--work` compiles what `sentinelle run` imports (pip does it at
    # install), and would make the one-photo start seconds slower than the albums' it is compared with.
    run_leg(work / "run-1", one, served_paths, new_photos, None, log)
    one_ready = run_leg(work / "run-1", one, served_paths, new_photos, None, log)

    all_photos = [(p.name, p.read_bytes()) for p in the_album.protected] + made
    results = []
    for size in sizes:
        log(f"album of {size:,} photos")
        figures = Figures(size)
        data_dir = album_dir(work, size)
        have = photo_count(data_dir)
        if have > size:
            raise SystemExit(f"{data_dir} holds {have} photos, more than {size}")
        if have < size:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            for name, data in all_photos[have:size]:
                (folder / name).write_bytes(data)
            wall, cpu = enrol_folder(data_dir, folder)
            figures.enrol = (size - have, wall, cpu)
            log(f"  enrolled {size - have} photos: {1000 * wall / (size - have):.0f} ms a photo (wall)")
        leg = work / f"run-{size}"
        leg.mkdir(exist_ok=True)
        evict(data_dir)
        figures.ready_cold = run_leg(leg, data_dir, served_paths, [], None, log)
        run_leg(leg, data_dir, served_paths, new_photos, figures, log)
        copy = work / "copy.jpg"
        copy.write_bytes(served(Image.open(the_album.protected[0]).convert("RGB")))
        figures.check = timed_check(data_dir, copy)
        figures.disk = disk_use(data_dir)
        log(f"  sentinelle check: {figures.check:.1f} s")
        if not args.skip_per_image:
            per_image(figures, data_dir, the_album, all_photos[:size], log)
        results.append(figures)
        text = report(results, one_ready, command, time.perf_counter() - started)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
