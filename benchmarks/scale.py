"""Long jobs at national scale: mailbot's own CLI, one whole process per step, time and memory.

    python benchmarks/scale.py [--members N] [--readers R] [--learnings L] [--skip STEP]...
                               [--keep DIR] [--timeout S] [--json]
    python benchmarks/scale.py --matching-only M

Method. A work folder gets a ``mailbot.toml`` on the embedded default (``[local]``) with an
``[smtp]`` section pointing at an SMTP sink on a free loopback port, ``[limits] sent_per_hour``
set so high that the hourly cap holds nothing back, and ``[digest] moderation = false`` (with
no admins the digest goes straight to its readers anyway). The sink runs in a separate process
(this script again, ``--child-sink``), so its CPU and memory are nobody's but its own: a few
lines of asyncio that speak just enough SMTP for smtplib, count messages and bytes and throw
them away. Not aiosmtpd (``tests.servers.smtp``): it reads DATA line by line in Python and,
with digests of a few hundred KiB, took more CPU than the sender and set the rate itself.

Every measured step is ``python -m mailbot --config … STEP`` from the same venv, started with
``subprocess.Popen`` and reaped with ``os.wait4``, which returns the resource usage of that one
child: "seconds" is wall time from start to exit (Python's start-up and imports included, see
the ``startup`` row), "peak RSS" is the child's own ``ru_maxrss``. Logging stays at its default
(INFO) into a file per step, as under cron; the progress bar is off (not a terminal).

Steps, with N = ``--members``, R = ``--readers`` (digest readers, N of them members) and
L = ``--learnings``:

* ``startup``: ``mailbot --version``, the fixed cost of every row below.
* ``import``: ``mailbot import people.csv --confirmed`` of N members (realistic names,
  addresses ``person123@org45.example``, about N/50 organisations of Zipf-like sizes, half with
  a phone, 60 % with an "about" line): active at once, no confirmation emails.
* ``members``, ``members-csv``, ``members-json``: ``mailbot members [--format …]`` to
  /dev/null.
* ``pair``: ``mailbot pair``, the first round of N members; intros queued.
* ``followup``: ``mailbot followup``, which sends the latest round's follow-ups now (no clock
  to move: the command does not wait for ``followup_after_days``).
* Not measured: L learnings of 300 to 1,500 characters are added through the store
  (``SqliteStore.add_learning`` on L random follow-ups: 80 % public, 15 % anonymous, 5 %
  private), and R - N digest-only subscribers (``state = 'active'``, ``pairing = 0``,
  ``digest = 1``, what ``subscribe digest`` stores) by plain SQL in one transaction.
* ``digest-preview``: ``mailbot digest --preview --html FILE``, one render of the digest; its
  size (text and HTML) is noted, with what R copies of it weigh on the wire.
* ``digest``: ``mailbot digest``, one copy queued per reader; the database's growth per copy
  is printed.
* ``send``: ``mailbot send``: everything queued (intros, follow-ups, digests) to the sink over
  loopback; the sink's count must equal the sent count.

A watcher kills a step that runs past ``--timeout`` (default an hour) or leaves less than
5 GiB free on the disk; the row is marked, its count and peak still shown (a ``send`` cut short
still gives a rate), and the steps after it are not run. After each step the database's size
(``mailbot.db`` plus ``-wal``) is read, and divided by N.
"items" is what the step handled: members imported or listed, members paired, mail queued,
learnings in the preview, messages sent. Targets (from the issue): ``pair`` and ``followup``
under 30 s at 100,000 members, ``digest`` under 60 s for 200,000 readers, and peak memory under
500 MB for each step; at other sizes the time target is shown pro rata, for orientation only.
``run()`` is importable: one dict a step (step, items, seconds, peak_rss_mib, db_mib, …, notes).

``--matching-only M`` measures only ``mailbot.core.pairing.make_groups`` at M candidates (same
organisations as above, 5 % unknown, M/10 blocked pairs) in a child process (this script,
``--child-matching``): 12 rounds of history are made by ``make_groups`` itself, as a running
service would (as in ``benchmarks/pairing.py``), and the 13th round is timed. History reaches
it as ``mailbot pair`` hands it over, streamed as (a, b, rounds ago) like the store's
``meetings``, and is held meanwhile as arrays of positions (the store keeps it on disk). The
history is made by one child process (``--child-history``) and saved; a second, fresh one
(``--child-matching``) loads it, builds the candidates and blocks and makes the round, so its
peak RSS (``os.wait4``, checked against the target of 1 GB) is what ``mailbot pair`` would hold
for the matching: inputs and the call, nothing left over from making the history. It also
reports its resident set just before the call. Nothing here asserts on time: these are figures
to read.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import gc
import json
import os
import pickle
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mailbot.core.pairing import Candidate, make_groups  # noqa: E402
from mailbot.store import FollowupRow, SqliteStore, stamp  # noqa: E402

BOT = "unmentoring@example.org"
MIB = 2**20
STEPS = ("startup", "import", "members", "members-csv", "members-json", "pair", "followup",
         "digest-preview", "digest", "send")  # fmt: skip
MEMBER_FORMATS = {"members": [], "members-csv": ["--format", "csv"],
                  "members-json": ["--format", "json"]}  # fmt: skip
# step: (seconds, at this many items)
TIME_TARGETS = {"pair": (30.0, 100_000), "followup": (30.0, 100_000), "digest": (60.0, 200_000)}
MEMORY_TARGET = 500 * 10**6  # bytes, every CLI step
MATCHING_MEMORY_TARGET = 10**9
WINDOW = 12  # rounds of history for --matching-only
MAX_MESSAGE = 64 * MIB  # the sink takes messages up to this size
MIN_FREE = 5 * 2**30  # a step is killed when the disk has less than this left

FIRST = ["Anne", "Bob", "Chloe", "Dan", "Eve", "Farid", "Grace", "Hiro", "Ines", "Jonas",
         "Kemi", "Lars", "Maya", "Nils", "Olu", "Priya", "Quinn", "Rosa", "Sam", "Tomas",
         "Aisha", "Bethan", "Ciarán", "Dewi", "Émilie", "Fatima", "Gareth", "Hannah", "Iwan",
         "Joanna", "Kwame", "Lowri", "Mohammed", "Niamh", "Oliver", "Pooja", "Rhys", "Siobhan",
         "Tariq", "Zoë"]  # fmt: skip
LAST = ["Person", "Smith", "Jones", "Okafor", "Nakamura", "Silva", "Novak", "Larsen", "Haddad",
        "Kowalski", "Byrne", "Moreau", "Williams", "Evans", "Patel", "O'Brien", "Davies",
        "Hughes", "Khan", "MacLeod", "Thomas", "Roberts", "Ahmed", "Walsh",
        "Llewellyn"]  # fmt: skip
PLACES = ["Northshire", "Riverside", "Example", "Harbour", "Westdale", "Eastfield", "Kingsbury",
          "Moorland", "Lakeside", "Hillcrest", "Southport", "Greenvale", "Ashford", "Brookmere",
          "Castleton", "Dunmore", "Elmstead", "Fairhaven", "Glenwood", "Highbridge"]  # fmt: skip
KINDS = ["Council", "Borough Council", "NHS Trust", "Library Service", "Housing Association",
         "Fire and Rescue", "Museum", "Police", "College", "University", "Health Board",
         "Transport Authority", "Data Unit", "Parks Trust", "Arts Council"]  # fmt: skip
ABOUT = [
    "I work on digital services and like long walks.",
    "Service designer, new to the sector, curious about everything.",
    "Data person; happy to talk spreadsheets, statistics or sourdough.",
    "Policy adviser. Ask me about procurement (or don't).",
    "Librarian turned product manager, still reading too much.",
    "Social worker by training, now running a small research team.",
]
SENTENCES = [
    "We talked about how each of our teams decides what to stop doing, and it turns out "
    "neither of us has a real process for it.",
    "My partner showed me how their council runs a fortnightly show and tell that anyone in "
    "the building can drop into.",
    "The most useful thing was hearing how a hospital trust handles user research when the "
    "users are clinicians with ten spare minutes a week.",
    "I came away with a much simpler way of writing a business case: the problem, the cost "
    "of doing nothing, and one option we would bet on.",
    "We both inherited spreadsheets that nobody understands, and we swapped notes on how to "
    "retire one without breaking the month-end report.",
    "She suggested pairing a new starter with someone from finance in their first week, "
    "which I am going to try with our next graduate cohort.",
    "It was reassuring to hear that procurement frameworks are just as slow elsewhere, and "
    "that a short pre-market conversation can save weeks.",
    "He described running accessibility testing with residents in the library on Saturday "
    "mornings, which costs almost nothing and finds real problems.",
    "We compared how our organisations publish open data; theirs has a named owner for each "
    "data set, which seems to be the whole trick.",
    "I learned that their housing team writes every letter at a reading age of nine and "
    "that complaints dropped by a third afterwards.",
    "Thirty minutes went by quickly. We agreed to meet again next month to look at each "
    "other's service maps.",
    "The conversation made me realise that our weekly status meeting could be a written "
    "update and a fifteen-minute call for blockers only.",
    "Their team keeps a decision log in plain text next to the code, so nobody has to ask "
    "why something was built the way it was.",
    "We talked about burnout on small teams and how saying no to a senior stakeholder is "
    "easier with a published roadmap to point at.",
    "I had never heard of a pre-mortem before; we are going to run one before our next "
    "launch instead of a retrospective after it.",
    "My match works in a fire service and explained how they plan for rare events; a lot of "
    "it applies to planning for a system outage.",
    "We swapped reading lists. Hers was mostly about public health, mine about service "
    "design, and there was more overlap than either of us expected.",
    "A simple idea I will steal: end every project with a one-page note on what you would "
    "tell someone starting the same project tomorrow.",
]

Row = dict[str, Any]


# --------------------------------------------------------------------------- the people


def org_name(k: int) -> str:
    """A distinct, plausible organisation name for each k."""
    place, kind = PLACES[k % len(PLACES)], KINDS[(k // len(PLACES)) % len(KINDS)]
    series = k // (len(PLACES) * len(KINDS))
    return f"{place} {kind}" + (f" {series + 1}" if series else "")


def zipf_orgs(rng: random.Random, people: int, count: int) -> list[int]:
    """An organisation number for each person: ``count`` organisations of Zipf-like sizes."""
    cumulative = list(accumulate(1 / (k + 1) for k in range(count)))
    return rng.choices(range(count), cum_weights=cumulative, k=people)


def people(rng: random.Random, count: int, prefix: str) -> Iterator[Row]:
    """``count`` people with a profile as a members spreadsheet holds it."""
    orgs = zipf_orgs(rng, count, max(2, count // 50))
    for n, k in enumerate(orgs):
        person: Row = {
            "email": f"{prefix}{n}@org{k}.example",
            "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "org": org_name(k),
            "phone": f"01632 {rng.randrange(960000, 961000)}" if rng.random() < 0.5 else "",
            "about": rng.choice(ABOUT) if rng.random() < 0.6 else "",
        }
        yield person


def write_csv(path: Path, rows: Iterable[Row]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["email", "name", "org", "phone", "about"])
        writer.writeheader()
        writer.writerows(rows)


def learning_text(rng: random.Random) -> str:
    """What someone learned: 300 to 1,500 characters of sentences, in one to three paragraphs."""
    goal = rng.randint(300, 1500)
    sentences: list[str] = []
    while sum(len(s) + 1 for s in sentences) < goal:
        sentences.append(rng.choice(SENTENCES))
    cuts = sorted(rng.sample(range(1, len(sentences)), min(2, len(sentences) - 1)))
    paragraphs = [sentences[a:b] for a, b in zip([0, *cuts], [*cuts, len(sentences)], strict=True)]
    return "\n\n".join(" ".join(p) for p in paragraphs)[:1500].rstrip()


# --------------------------------------------------------------------------- child processes


@dataclass
class Child:
    seconds: float
    peak_rss: int  # bytes, the child's own ru_maxrss
    code: int  # exit code; negative: killed by that signal
    killed: str = ""  # why we killed it: too slow, or the disk nearly full


def low_disk(path: Path) -> str:
    free = shutil.disk_usage(path).free
    return f"killed: less than {MIN_FREE / 2**30:.0f} GiB left on disk" if free < MIN_FREE else ""


def run_child(
    cmd: Sequence[str], stdout: Path | None, stderr: Path, cwd: Path, timeout: float | None
) -> Child:
    """Run ``cmd`` to its end and reap it with ``os.wait4``: wall time and its own peak RSS.
    A watcher kills it after ``timeout`` seconds, or when the disk is nearly full."""
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(stdout.open("wb")) if stdout else subprocess.DEVNULL
        err = stack.enter_context(stderr.open("wb"))
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd)
        done = threading.Event()
        killed: list[str] = []

        def watch() -> None:
            while not done.wait(0.5):
                late = timeout is not None and time.perf_counter() - start > timeout
                reason = f"killed after {timeout:g} s (--timeout)" if late else low_disk(cwd)
                if reason and not done.is_set():
                    killed.append(reason)
                    proc.kill()
                    return

        threading.Thread(target=watch, daemon=True).start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            done.set()
        seconds = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    return Child(seconds, usage.ru_maxrss * 1024, code, killed[0] if killed else "")


def tail(path: Path, lines: int = 5) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


# --------------------------------------------------------------------------- the sink


@dataclass
class Tally:
    messages: int = 0
    size: int = 0


async def smtp_session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       tally: Tally) -> None:  # fmt: skip
    """Just enough SMTP for smtplib: every command is accepted, every message thrown away."""
    writer.write(b"220 sink.test ESMTP\r\n")
    while line := await reader.readline():
        verb = line[:4].upper()
        if verb == b"EHLO":
            writer.write(b"250-sink.test\r\n250 SIZE %d\r\n" % MAX_MESSAGE)
        elif verb == b"DATA":
            writer.write(b"354 end with <CRLF>.<CRLF>\r\n")
            tally.size += len(await reader.readuntil(b"\r\n.\r\n"))
            tally.messages += 1
            writer.write(b"250 OK\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            break
        else:
            writer.write(b"250 OK\r\n")
        await writer.drain()
    await writer.drain()
    writer.close()


async def serve_smtp(tally: Tally, port: int) -> None:
    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await smtp_session(reader, writer, tally)

    server = await asyncio.start_server(session, "127.0.0.1", port, limit=MAX_MESSAGE)
    async with server:
        await server.serve_forever()


def sink_main() -> None:
    """``--child-sink``: an SMTP sink on a free loopback port. Prints the port; then answers
    each line on stdin with "messages bytes" taken so far; ends with stdin."""
    tally = Tally()
    port = free_port()
    threading.Thread(target=asyncio.run, args=(serve_smtp(tally, port),), daemon=True).start()
    for _ in range(500):  # until it listens
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            break
        time.sleep(0.01)
    print(port, flush=True)
    for _ in sys.stdin:
        print(tally.messages, tally.size, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sink:
    """The counting SMTP sink in its own process."""

    def __init__(self) -> None:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child-sink"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdin is not None
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError("the SMTP sink did not start")
        self.port = int(line)

    def received(self) -> tuple[int, int]:
        """(messages, bytes) taken so far."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        messages, size = self.proc.stdout.readline().split()
        return int(messages), int(size)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            if self.proc.stdin:
                self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --------------------------------------------------------------------------- the database


def config_text(smtp_port: int) -> str:
    return f"""\
[bot]
address = "{BOT}"
name = "UnMentoring"
database = "mailbot.db"

[local]
maildir = "mail"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
timeout = 120

[limits]
sent_per_hour = 1000000000  # measure sending, not the hourly cap

[digest]
moderation = false
"""


def db_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())


def scalar(db: Path, sql: str, params: Sequence[Any] = ()) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60)
    try:
        return int(conn.execute(sql, params).fetchone()[0] or 0)
    finally:
        conn.close()


def outbox_count(db: Path, status: str) -> int:
    if not db.exists():
        return 0
    return scalar(db, "select count(*) from outbox where status = ?", [status])


def add_readers(db: Path, rng: random.Random, count: int, now: datetime) -> None:
    """Digest-only subscribers, as ``subscribe digest`` stores them, in one transaction."""
    at = stamp(now)
    rows = ((p["email"], p["name"], p["org"], at, at, at) for p in people(rng, count, "reader"))
    conn = sqlite3.connect(db, timeout=60)
    try:
        with conn:
            conn.executemany(
                "insert into members (email, state, name, org, created_at, confirmed_at, "
                "updated_at, digest, pairing) values (?, 'active', ?, ?, ?, ?, ?, 1, 0)",
                rows,
            )
    finally:
        conn.close()


def add_learnings(db: Path, rng: random.Random, count: int, now: datetime) -> int:
    """``count`` learnings on random follow-ups, through the store; returns how many."""
    conn = sqlite3.connect(db, timeout=60)
    try:
        rows = conn.execute("select id, round_id, group_id, email from followups").fetchall()
    finally:
        conn.close()
    chosen = [FollowupRow(*row) for row in rng.sample(rows, min(count, len(rows)))]
    store = SqliteStore(db)
    try:
        with store.atomic():
            for followup in chosen:
                roll = rng.random()
                visibility = "public" if roll < 0.8 else "anonymous" if roll < 0.95 else "private"
                text = learning_text(rng)
                store.add_learning(followup, text, text, False, "", visibility, now)
    finally:
        store.close()
    return len(chosen)


# --------------------------------------------------------------------------- the run


@dataclass
class Bench:
    work: Path
    members: int
    timeout: float | None
    say: Callable[[str], None]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for the next row recorded
    failed: str = ""  # the step that failed: the later ones are not run

    @property
    def db(self) -> Path:
        return self.work / "mailbot.db"

    def mailbot(self, step: str, args: Sequence[str], stdout: Path | None = None) -> Child:
        cmd = [sys.executable, "-m", "mailbot", "--config", str(self.work / "mailbot.toml"), *args]
        out = stdout if stdout is not None else self.work / f"{step}.out"
        child = run_child(cmd, out, self.work / f"{step}.log", self.work, self.timeout)
        if child.code != 0:
            self.failed = step
            why = child.killed or f"exit code {child.code}: {tail(self.work / f'{step}.log', 1)}"
            self.notes.append(f"{step}: {why}")
        return child

    def record(self, step: str, child: Child, items: int, **extra: Any) -> Row:
        size = db_bytes(self.db)
        row: Row = {
            "step": step,
            "items": items,
            "seconds": round(child.seconds, 3),
            "items_per_s": round(items / child.seconds, 1) if child.seconds else None,
            "peak_rss_mib": round(child.peak_rss / MIB, 1),
            "db_mib": round(size / MIB, 2),
            "bytes_per_member": round(size / self.members) if self.members else None,
            "ok": child.code == 0,
            "killed": child.killed or None,
            "notes": self.notes,
            **extra,
        }
        self.notes = []
        self.rows.append(row)
        self.say(
            f"{step}: {items:,} items in {child.seconds:.1f} s, "
            f"peak RSS {child.peak_rss / MIB:.0f} MiB"
        )
        return row

    def members_count(self) -> int:
        return scalar(self.db, "select count(*) from members") if self.db.exists() else 0

    def queued_by(self, step: str, args: Sequence[str]) -> None:
        """A step that queues mail: items are the messages it queued."""
        before, size = outbox_count(self.db, "queued"), db_bytes(self.db)
        child = self.mailbot(step, args)
        queued = outbox_count(self.db, "queued") - before
        grown = db_bytes(self.db) - size
        self.record(step, child, queued, queued=queued,
                    kib_per_item=round(grown / queued / 1024, 1) if queued else None)  # fmt: skip


def step_import(bench: Bench, rng: random.Random) -> None:
    path = bench.work / "people.csv"
    write_csv(path, people(rng, bench.members, "person"))
    child = bench.mailbot("import", ["import", str(path), "--confirmed"])
    bench.record("import", child, bench.members_count())


def step_members(bench: Bench, step: str) -> None:
    child = bench.mailbot(step, ["members", *MEMBER_FORMATS[step]], stdout=Path(os.devnull))
    bench.record(step, child, bench.members_count())


def step_pair(bench: Bench) -> None:
    before = outbox_count(bench.db, "queued")
    child = bench.mailbot("pair", ["pair"])
    paired = 0
    if bench.db.exists():
        paired = scalar(
            bench.db,
            "select count(*) from group_members where round_id = (select max(id) from rounds)",
        )
    queued = outbox_count(bench.db, "queued") - before
    bench.record("pair", child, paired, queued=queued)


def seed_digest(bench: Bench, rng: random.Random, readers: int, learnings: int) -> None:
    """Not measured: learnings from the latest round and digest-only subscribers."""
    now = datetime.now(UTC)
    added = add_learnings(bench.db, rng, learnings, now)
    extra = max(0, readers - scalar(bench.db, "select count(*) from members where digest = 1"))
    add_readers(bench.db, rng, extra, now)
    if added < learnings:
        bench.notes.append(f"only {added} follow-ups to hang learnings on (of {learnings})")
    bench.say(f"seeded {added:,} learnings and {extra:,} digest-only subscribers")


def step_digest_preview(bench: Bench, record: bool) -> int:
    """One render of the digest; returns the estimated bytes of one reader's copy."""
    html = bench.work / "digest-preview.html"
    child = bench.mailbot("digest-preview", ["digest", "--preview", "--html", str(html)])
    text = bench.work / "digest-preview.out"
    size = sum(p.stat().st_size for p in (text, html) if p.exists())
    listed = scalar(
        bench.db,
        "select count(*) from learnings where digest_id is null and visibility != 'private'",
    )
    if record:
        bench.record("digest-preview", child, listed, copy_kib=round(size / 1024, 1))
    return int(size * 1.05) + 1500  # quoted-printable and headers


def step_digest(bench: Bench, copy_bytes: int) -> None:
    readers = scalar(
        bench.db, "select count(*) from members where state in ('active', 'paused') and digest = 1"
    )
    whole = readers * copy_bytes / 2**30
    bench.notes.append(
        f"digest: one reader's copy renders to about {copy_bytes / 1024:,.0f} KiB, so "
        f"{readers:,} readers' copies are {whole:,.1f} GiB to send"
    )
    bench.queued_by("digest", ["digest"])


def queued_kinds(db: Path) -> dict[str, int]:
    """Queued mail by kind (intro, followup, digest…)."""
    if not db.exists():
        return {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "select kind, count(*) from outbox where status = 'queued' group by kind "
            "order by count(*) desc"
        ).fetchall()
    finally:
        conn.close()
    return {kind: int(n) for kind, n in rows}


def step_send(bench: Bench, sink: Sink) -> None:
    kinds = queued_kinds(bench.db)
    bench.say("send: " + ", ".join(f"{k} {n:,}" for k, n in kinds.items()) + " queued")
    before_sent = outbox_count(bench.db, "sent")
    before = sink.received()
    child = bench.mailbot("send", ["send"])
    sent = outbox_count(bench.db, "sent") - before_sent
    taken, size = (now - then for now, then in zip(sink.received(), before, strict=True))
    if taken != sent:
        bench.notes.append(f"send: the sink took {taken:,} messages but {sent:,} were marked sent")
    bench.record("send", child, sent, sink_messages=taken, sink_mib=round(size / MIB, 1),
                 kinds=kinds)  # fmt: skip


def progress_line(started: float) -> Callable[[str], None]:
    def say(text: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {text}", file=sys.stderr, flush=True)

    return say


def run(
    members: int = 100_000,
    readers: int | None = None,
    learnings: int = 1000,
    skip: Iterable[str] = (),
    keep: Path | None = None,
    timeout: float | None = 3600,
    seed: int = 2026,
    say: Callable[[str], None] | None = None,
) -> list[Row]:
    """Every step not in ``skip``, each a whole ``mailbot`` process; returns one row a step
    (keys: step, items, seconds, peak_rss_mib, db_mib and more). ``keep``: do the work in
    this folder (made if missing) and leave it there."""
    say = say or progress_line(time.perf_counter())
    skipped = set(skip)
    rng = random.Random(seed)
    with contextlib.ExitStack() as stack:
        if keep is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mailbot-scale-")))
        else:
            work = keep.resolve()
            work.mkdir(parents=True, exist_ok=True)
            if (work / "mailbot.db").exists():
                raise SystemExit(f"{work} holds a mailbot.db already: give an empty folder")
        sink = Sink()
        stack.callback(sink.stop)
        (work / "mailbot.toml").write_text(config_text(sink.port), encoding="utf-8")
        bench = Bench(work, members, timeout, say)
        init = bench.mailbot("init", ["init"])
        if init.code != 0:
            why = init.killed or tail(work / "init.log")
            raise RuntimeError(f"mailbot init failed: {why}")
        run_steps(
            bench, rng, skipped, readers if readers is not None else 2 * members, learnings, sink
        )
        if keep is not None:
            say(f"kept {work}")
    rows = bench.rows
    return rows


def run_steps(
    bench: Bench, rng: random.Random, skipped: set[str], readers: int, learnings: int, sink: Sink
) -> None:
    def wanted(step: str) -> bool:
        if step in skipped:
            return False
        if bench.failed:
            bench.rows[-1]["notes"].append(f"{step}: not run, {bench.failed} failed")
            return False
        return True

    if wanted("startup"):
        bench.record("startup", bench.mailbot("startup", ["--version"]), 1)
    if wanted("import"):
        step_import(bench, rng)
    for step in ("members", "members-csv", "members-json"):
        if wanted(step):
            step_members(bench, step)
    if wanted("pair"):
        step_pair(bench)
    if wanted("followup"):
        bench.queued_by("followup", ["followup"])
    if wanted("digest-preview") or wanted("digest"):
        seed_digest(bench, rng, readers, learnings)
        copy_bytes = step_digest_preview(bench, record=wanted("digest-preview"))
        if wanted("digest"):
            step_digest(bench, copy_bytes)
    if wanted("send"):
        step_send(bench, sink)


# --------------------------------------------------------------------------- matching only


def status_bytes(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise OSError(key)


def matching_inputs(m: int, seed: int) -> tuple[list[Candidate], set[frozenset[str]]]:
    rng = random.Random(seed)
    orgs = zipf_orgs(rng, m, max(2, m // 50))
    ids = [f"person{n}@org{k}.example" for n, k in enumerate(orgs)]
    cands = [
        Candidate(pid, "" if rng.random() < 0.05 else org_name(k), rng.randrange(3))
        for pid, k in zip(ids, orgs, strict=True)
    ]
    blocked: set[frozenset[str]] = set()
    while len(blocked) < m // 10:
        blocked.add(frozenset(rng.sample(ids, 2)))
    return cands, blocked


class History:
    """Past rounds as ``mailbot pair`` reads them from the store: streamed as (a, b, rounds
    ago), held here compactly as each round's pairs of candidate positions (a trio as its
    three pairs), oldest first."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.rounds: list[array[int]] = []

    def add(self, groups: Iterable[tuple[str, ...]], position: dict[str, int]) -> None:
        flat = array("i")
        for g in groups:
            for i in range(len(g)):
                for j in range(i + 1, len(g)):
                    flat.extend((position[g[i]], position[g[j]]))
        self.rounds.append(flat)

    def meetings(self) -> Iterator[tuple[str, str, int]]:
        ids = self.ids
        for ago, flat in enumerate(reversed(self.rounds), 1):
            for k in range(0, len(flat), 2):
                yield ids[flat[k]], ids[flat[k + 1]], ago

    def __len__(self) -> int:
        return sum(len(flat) // 2 for flat in self.rounds)

    def repeats(self, groups: Iterable[tuple[str, ...]]) -> int:
        """Pairs in ``groups`` that met before (holding the new pairs, not the old ones)."""
        new = {(min(g[i], g[j]), max(g[i], g[j])) for g in groups
               for i in range(len(g)) for j in range(i + 1, len(g))}  # fmt: skip
        return sum((min(a, b), max(a, b)) in new for a, b, _ in self.meetings())


def make_history(cands: list[Candidate], blocked: set[frozenset[str]], seed: int,
                 rounds: int = WINDOW) -> History:  # fmt: skip
    """``rounds`` rounds made by make_groups itself, each fed the rounds before it."""
    rng = random.Random(seed + 1)
    past = History([c.id for c in cands])
    position = {pid: n for n, pid in enumerate(past.ids)}
    for _ in range(rounds):
        found = make_groups(cands, past.meetings(), blocked, random.Random(rng.randrange(2**32)))
        past.add(found.groups, position)
    return past


def history_main(m: int, seed: int, path: Path) -> None:
    """``--child-history M FILE``: make 12 rounds of history and save them to FILE."""
    cands, blocked = matching_inputs(m, seed)
    past = make_history(cands, blocked, seed)
    with path.open("wb") as fh:
        pickle.dump(past.rounds, fh)


def matching_main(m: int, seed: int, path: Path) -> None:
    """``--child-matching M FILE``: the 13th round on the history in FILE; one JSON line out.
    The process holds what ``mailbot pair`` holds: candidates, blocks and the call's own."""
    cands, blocked = matching_inputs(m, seed)
    past = History([c.id for c in cands])
    with path.open("rb") as fh:
        past.rounds = pickle.load(fh)
    gc.collect()
    rss_before = status_bytes("VmRSS")
    start = time.perf_counter()
    result = make_groups(cands, past.meetings(), blocked, random.Random(seed))
    seconds = time.perf_counter() - start
    found = {"seconds": seconds, "rss_before": rss_before, "met": len(past),
             "groups": len(result.groups), "unmatched": len(result.unmatched)}  # fmt: skip
    print(json.dumps(found | {"repeats": past.repeats(result.groups)}))


def run_matching(m: int, seed: int = 2026, timeout: float | None = None) -> Row:
    """``make_groups`` at ``m`` candidates with 12 rounds of history, in a child process of
    its own (the history is made by another one before it)."""
    me = [sys.executable, str(Path(__file__).resolve())]
    with tempfile.TemporaryDirectory(prefix="mailbot-matching-") as tmp:
        work = Path(tmp)
        saved, out, err = work / "history.pickle", work / "out.json", work / "err.log"
        maker = run_child([*me, "--child-history", str(m), str(saved), "--seed", str(seed)],
                          None, err, work, timeout)  # fmt: skip
        if maker.code != 0:
            raise RuntimeError(f"making the history failed: {maker.killed or tail(err, 10)}")
        child = run_child([*me, "--child-matching", str(m), str(saved), "--seed", str(seed)],
                          out, err, work, timeout)  # fmt: skip
        if child.code != 0:
            raise RuntimeError(f"the matching child failed: {child.killed or tail(err, 10)}")
        found = json.loads(out.read_text())
    return {
        "step": "matching",
        "items": m,
        "seconds": round(found["seconds"], 3),
        "items_per_s": round(m / found["seconds"], 1),
        "peak_rss_mib": round(child.peak_rss / MIB, 1),
        "db_mib": None,
        "history_seconds": round(maker.seconds, 1),
        "inputs_rss_mib": round(found["rss_before"] / MIB, 1),
        "met": found["met"],
        "groups": found["groups"],
        "unmatched": found["unmatched"],
        "repeats": found["repeats"],
        "child_seconds": round(child.seconds, 1),
        "ok": True,
    }


# --------------------------------------------------------------------------- output


TABLE_HEAD = ("step", "items", "seconds", "items/s", "queued", "peak RSS MiB", "db MiB",
              "bytes/member")  # fmt: skip


def cells(r: Row) -> tuple[str, ...]:
    def num(key: str, fmt: str) -> str:
        value = r.get(key)
        return "-" if value is None else format(value, fmt)

    name = r["step"]
    if not r.get("ok", True):
        name += " (killed)" if r.get("killed") else " (FAILED)"
    return (name, num("items", ","), num("seconds", ".2f"), num("items_per_s", ",.0f"),
            num("queued", ","), num("peak_rss_mib", ".0f"), num("db_mib", ".1f"),
            num("bytes_per_member", ","))  # fmt: skip


def table(rows: list[Row]) -> str:
    lines = [TABLE_HEAD] + [cells(r) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(TABLE_HEAD))]
    out = []
    for k, line in enumerate(lines):
        rest = [c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)]
        out.append("  ".join([line[0].ljust(widths[0]), *rest]))
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def verdicts(rows: list[Row]) -> list[str]:
    """One line per target: ``ok`` or ``OVER``."""
    lines = []
    for r in rows:
        step = r["step"]
        if not (r.get("ok", True) or r.get("killed")):
            continue
        if step in TIME_TARGETS and r["items"] and r.get("ok", True):
            target, at = TIME_TARGETS[step]
            scaled = target * r["items"] / at
            tag = "ok  " if r["seconds"] <= scaled else "OVER"
            lines.append(
                f"{tag} {step}: {r['seconds']:.1f} s for {r['items']:,} (target < "
                f"{target:.0f} s at {at:,}; pro rata {scaled:.1f} s)"
            )
        limit = MATCHING_MEMORY_TARGET if step == "matching" else MEMORY_TARGET
        peak = r["peak_rss_mib"] * MIB
        tag = "ok  " if peak < limit else "OVER"
        lines.append(
            f"{tag} {step}: peak RSS {peak / 10**6:,.0f} MB (target < {limit / 10**6:,.0f} MB)"
        )
    return lines


def report(rows: list[Row], heading: str, as_json: bool) -> None:
    print(heading)
    print()
    print(table(rows))
    print()
    for line in verdicts(rows):
        print(line)
    notes = [note for r in rows for note in r.get("notes", [])]
    if notes:
        print("\nnotes:")
        for note in notes:
            print(f"  {note}")
    for r in rows:
        if r["step"] == "digest" and r.get("kib_per_item"):
            print(f"\ndigest: {r['queued']:,} copies queued, the database grew by about "
                  f"{r['kib_per_item']:,} KiB a copy")  # fmt: skip
        if r["step"] == "send" and r.get("kinds"):
            print(
                f"\nqueued before send: {', '.join(f'{k} {n:,}' for k, n in r['kinds'].items())}; "
                f"the sink took {r['sink_messages']:,} ({r['sink_mib']:,} MiB)"
            )
        if r["step"] == "matching":
            print(
                f"\nmatching: {r['met']:,} pairs in 12 rounds of history (made in "
                f"{r['history_seconds']:.0f} s by another process); {r['inputs_rss_mib']:.0f} MiB "
                f"resident before the call, {r['peak_rss_mib']:.0f} MiB at the child's peak; "
                f"{r['groups']:,} groups, {r['repeats']} repeats, {r['unmatched']} unmatched"
            )
    if as_json:
        print()
        print(json.dumps(rows, indent=2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000, help="N members (100000)")
    parser.add_argument("--readers", type=int, help="R digest readers, N of them members (2N)")
    parser.add_argument("--learnings", type=int, default=1000, help="L learnings (1000)")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=STEPS,
        metavar="STEP",
        help=f"leave a step out (repeatable): {', '.join(STEPS)}",
    )
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work in DIR and keep it")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds a step (3600)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    parser.add_argument(
        "--matching-only",
        type=int,
        metavar="M",
        help="only time make_groups at M candidates, in a child process",
    )
    parser.add_argument("--child-sink", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-history", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--child-matching", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_sink:
        return sink_main()
    if args.child_history:
        return history_main(int(args.child_history[0]), args.seed, Path(args.child_history[1]))
    if args.child_matching:
        return matching_main(int(args.child_matching[0]), args.seed, Path(args.child_matching[1]))
    if args.matching_only:
        row = run_matching(args.matching_only, args.seed, args.timeout)
        report(
            [row],
            f"make_groups at {args.matching_only:,} candidates, {WINDOW} rounds of "
            f"history; Python {sys.version.split()[0]}, {os.cpu_count()} cores",
            args.json,
        )
        return None
    if args.members < 2:
        parser.error("--members must be at least 2")
    readers = args.readers if args.readers is not None else 2 * args.members
    rows = run(args.members, readers, args.learnings, args.skip, args.keep, args.timeout, args.seed)
    heading = (
        f"mailbot at scale: {args.members:,} members, {readers:,} digest readers, "
        f"{args.learnings:,} learnings; Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores, SQLite {sqlite3.sqlite_version}"
    )
    report(rows, heading, args.json)
    return None


if __name__ == "__main__":
    main()
