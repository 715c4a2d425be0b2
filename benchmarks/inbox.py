"""Inbox throughput and memory: mailbot's poll and send against raw imapclient, in one run.

    python benchmarks/inbox.py [--messages N] [--flat M]

A real Dovecot (``tests.servers.dovecot``) is started on a free loopback port, and an aiosmtpd
sink (``tests.servers.smtp.SmtpSink``) runs in a child process. Every measured phase reads a
freshly filled INBOX (a new Dovecot user) holding the same N realistic small messages: "join"
with profile lines (plain, or plain + HTML alternative), HTML-only mail, replies with quoted
text, questions the bot does not understand, and a few out-of-office auto-replies. Filling is
not measured.

Phases, each in a fresh Python process (like ``mailbot poll`` and ``mailbot send``), so that
peak memory is the phase's own:

* **baseline**: raw imapclient. Log in, select INBOX, ``search(['NOT', 'DELETED'])``, fetch
  ``BODY.PEEK[]`` in batches of 100, parse each message with ``email.policy.default`` and read
  its Subject and text body (``get_body(('plain', 'html'))``). Read-only.
* **mailbot poll**: ``ImapInbox(config.imap)`` and ``Service.poll``: sizes then bodies per
  batch of 100, classify, parse commands, one SQLite transaction per message, queue replies,
  MOVE to Processed.
* **mailbot send**: ``Service.send(SmtpTransport(config.smtp))`` until the outbox is empty.

Times come from passes run without tracemalloc (it slows Python code down, and unevenly);
peak Python memory ("peak MiB") comes from separate passes under tracemalloc, on fresh copies
of the mail. "RSS+" is how far the process's peak resident set rose during the timed pass
(VmHWM, reset through /proc/self/clear_refs; else the ru_maxrss delta). Ratios are against
the baseline of the same run: "time x" compares time per message, "mem x" tracemalloc peaks.
The memory-flatness passes run the baseline and mailbot's poll again at M messages (default
N/4) and compare peaks: with batching, the ratio should stay near 1 however many messages wait.
The stdlib's own growth shows in the baseline's ratio: the email parser compiles a regular
expression per MIME boundary into the ``re`` module's cache, which holds up to 512 of them.
Nothing here asserts on time: these are figures to read.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.policy
import gc
import json
import multiprocessing
import os
import platform
import random
import resource
import smtplib
import subprocess
import sys
import tempfile
import time
import traceback
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

from imapclient import IMAPClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.servers: not shipped

from mailbot.clock import SystemClock  # noqa: E402
from mailbot.config import Config, parse_config  # noqa: E402
from mailbot.inbox import ImapInbox  # noqa: E402
from mailbot.outbox import SmtpTransport  # noqa: E402
from mailbot.render import Renderer  # noqa: E402
from mailbot.service import Service  # noqa: E402
from mailbot.store import SqliteStore  # noqa: E402
from mailbot.testing import make_mail, make_reply  # noqa: E402
from tests.servers.dovecot import DovecotServer, find_dovecot, start_dovecot  # noqa: E402

BOT = "unmentoring@example.org"
BATCH = 100
APPEND_CHUNK = 200
MIB = 1024 * 1024
T = TypeVar("T")

FIRST = ["Anne", "Bob", "Chloe", "Dan", "Eve", "Farid", "Grace", "Hiro", "Ines", "Jonas",
         "Kemi", "Lars", "Maya", "Nils", "Olu", "Priya", "Quinn", "Rosa", "Sam",
         "Tomas"]  # fmt: skip
LAST = ["Person", "Smith", "Jones", "Okafor", "Nakamura", "Silva", "Novak", "Larsen",
        "Haddad", "Kowalski", "Byrne", "Moreau"]  # fmt: skip
ORGS = ["Example Council", "Example Borough", "Northshire NHS Trust", "Riverside Library",
        "Department for Examples", "Harbour Housing", "City Museum", "Open Data Unit"]  # fmt: skip
DOMAINS = ["example.org", "example.net", "example.com", "council.example", "nhs.example"]
MAILERS = ["Microsoft Outlook 16.0", "Apple Mail (2.3774.300.61)", "Mozilla Thunderbird"]
ABOUT = [
    "I work on digital services and like long walks.",
    "Service designer, new to the sector, curious about everything.",
    "Data person; happy to talk spreadsheets, statistics or sourdough.",
    "Policy adviser. Ask me about procurement (or don't).",
]
SIGNATURE = "\n\n-- \n{name}\n{org}\nTel: 01632 960{n:03d}\nThis email may be confidential.\n"
RECEIVED = (
    "from mx{n}.{domain} (mx{n}.{domain} [192.0.2.{n}]) by mail.example.org "
    "(Postfix) with ESMTPS id 4Xb{n:05d}; Mon, 2 Nov 2026 09:00:00 +0000"
)


# --------------------------------------------------------------------------- the mail


def _person(rng: random.Random, n: int) -> tuple[str, str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return f"{first} {last}", f"{first}.{last}.{n}@{rng.choice(DOMAINS)}".lower(), rng.choice(ORGS)


def _headers(rng: random.Random, n: int, address: str) -> dict[str, str]:
    domain = address.rpartition("@")[2]
    return {
        "Received": RECEIVED.format(n=n % 250, domain=domain),
        "X-Mailer": rng.choice(MAILERS),
        "MIME-Version": "1.0",
    }


def _html(paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" if p else "<p><br></p>" for p in paragraphs)
    return (
        '<html><head><meta charset="utf-8"><style>p{margin:0}</style></head><body>'
        f'<div dir="ltr">{body}</div></body></html>'
    )


def _join(rng: random.Random, n: int) -> EmailMessage:
    name, address, org = _person(rng, n)
    subject = rng.choice(["join", "Join", "Join UnMentoring please", "subscribe"])
    lines = ["join"] if rng.random() < 0.3 else []
    lines += [f"name: {name}", f"org: {org}"]
    if rng.random() < 0.5:
        lines.append(f"phone: 01632 960{n % 1000:03d}")
    if rng.random() < 0.6:
        lines.append(f"about: {rng.choice(ABOUT)}")
    body = "\n".join(lines) + "\n\nThanks!" + SIGNATURE.format(name=name, org=org, n=n % 1000)
    # About half of mail clients send plain text with an HTML alternative.
    html = _html([*lines, "", "Thanks!", "-- ", name, org]) if rng.random() < 0.5 else None
    return make_mail(f"{name} <{address}>", subject, body, headers=_headers(rng, n, address),
                     html=html)  # fmt: skip


def _html_only(rng: random.Random, n: int) -> EmailMessage:
    name, address, org = _person(rng, n)
    verb = rng.choice(["join", "join", "status", "help"])
    html = _html([verb, f"org: {org}", "", "Kind regards,", f"<b>{name}</b><br>{org}"])
    html = html.replace(
        "</body>", '<div class="gmail_signature">-- <br>Sent from my phone</div></body>'
    )
    return make_mail(f"{name} <{address}>", rng.choice(["", verb, "Hello"]), html=html,
                     headers=_headers(rng, n, address))  # fmt: skip


def _reply(rng: random.Random, to: EmailMessage) -> EmailMessage:
    """A reply to the bot's (imagined) confirmation email, from someone who wrote earlier."""
    original = make_mail(
        f"UnMentoring <{BOT}>",
        "UnMentoring: please confirm you want to join",
        "Hello,\n\nSomeone (probably you) asked to join UnMentoring with this address.\n"
        "Reply to this email, or send: confirm abcdefghijklmnopqrstuvwx\n\n"
        "If it wasn't you, ignore this email; nothing happens.\n\nUnMentoring\n",
        to=str(to["From"]),
    )
    verb = rng.choice(["pause", "pause 2", "status", "resume", "leave", "update\nabout: hi"])
    return make_reply(original, str(to["From"]), verb)


def _question(rng: random.Random, n: int) -> EmailMessage:
    name, address, org = _person(rng, n)
    body = (
        "Hi there,\n\nA colleague forwarded me this address. What is this exactly, and how "
        "much time does it take?\n\nBest wishes" + SIGNATURE.format(name=name, org=org, n=n % 1000)
    )
    return make_mail(f"{name} <{address}>", "Question", body, headers=_headers(rng, n, address))


def _auto_reply(to: EmailMessage) -> EmailMessage:
    return make_mail(
        str(to["From"]),
        f"Out of office: {to['Subject'] or 'your message'}",
        "I am out of the office until Monday with limited access to email.\n",
        headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
    )


def build_messages(count: int, seed: int = 2026) -> list[bytes]:
    """``count`` messages, the same ones for a given seed: about 55% join, 15% HTML-only,
    17% replies with quoted text, 8% questions and 5% auto-replies."""
    rng = random.Random(seed)
    people: list[EmailMessage] = []
    out: list[bytes] = []
    for n in range(count):
        roll = rng.random()
        if roll < 0.17 and people:
            msg = _reply(rng, rng.choice(people))
        elif roll < 0.22 and people:
            msg = _auto_reply(rng.choice(people))
        elif roll < 0.30:
            msg = _question(rng, n)
        elif roll < 0.45:
            msg = _html_only(rng, n)
        else:
            msg = _join(rng, n)
            people.append(msg)
        out.append(msg.as_bytes())
    return out


# --------------------------------------------------------------------------- servers


@dataclass(frozen=True)
class Login:
    """What a child process needs to reach one Dovecot user (DovecotServer does not pickle)."""

    host: str
    port: int
    user: str
    password: str

    def client(self) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=60)
        client.login(self.user, self.password)
        return client

    def count(self, folder: str = "INBOX") -> int:
        client = self.client()
        try:
            return int(client.select_folder(folder, readonly=True)[b"EXISTS"])
        finally:
            client.logout()


def fill(server: DovecotServer, user: str, messages: list[bytes]) -> Login:
    """A new Dovecot user whose INBOX holds ``messages`` (MULTIAPPEND when offered)."""
    view = server.as_user(user, "secret")
    login = Login(view.host, view.port, view.user, view.password)
    client = login.client()
    try:
        multi = b"MULTIAPPEND" in client.capabilities()
        for start in range(0, len(messages), APPEND_CHUNK):
            chunk = messages[start : start + APPEND_CHUNK]
            if multi:
                client.multiappend("INBOX", chunk)
            else:
                for raw in chunk:
                    client.append("INBOX", raw)
    finally:
        client.logout()
    if login.count() != len(messages):
        raise RuntimeError(f"INBOX of {user} holds {login.count()}, not {len(messages)}")
    return login


def _sink_main(conn: Any) -> None:
    from tests.servers.smtp import SmtpSink

    sink = SmtpSink().start()
    conn.send(sink.port)
    try:
        while conn.recv() == "take":  # how many arrived; forget them (keeps the child small)
            conn.send(len(sink))
            sink.clear()
    finally:
        sink.stop()


class Sink:
    """The SMTP sink in its own process: its CPU and memory are not the sender's."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_sink_main, args=(child,), daemon=True)
        self.process.start()
        child.close()
        if not self.conn.poll(30):
            self.stop()
            raise RuntimeError("the SMTP sink did not start within 30 s")
        self.port = int(self.conn.recv())

    def take(self) -> int:
        self.conn.send("take")
        return int(self.conn.recv())

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send("stop")
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


# --------------------------------------------------------------------------- measuring


def _status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_hwm() -> bool:
    """Reset the peak resident set (Linux 4.0+), so VmHWM becomes this phase's own peak."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return _status_kib("VmHWM") is not None


@dataclass
class Measure:
    count: int = 0
    seconds: float = 0.0
    peak: int | None = None  # tracemalloc peak, bytes
    rss_rise: int | None = None  # bytes
    outcomes: Counter[str] | None = None


@contextlib.contextmanager
def measured(traced: bool) -> Iterator[Measure]:
    """Wall time and RSS rise of the block, and with ``traced`` its tracemalloc peak."""
    m = Measure()
    gc.collect()
    hwm = _reset_hwm()
    rss0 = _status_kib("VmRSS") or 0
    maxrss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    try:
        yield m
    finally:
        m.seconds = time.perf_counter() - start
        if traced:
            m.peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        if hwm:
            m.rss_rise = max(0, (_status_kib("VmHWM") or 0) - rss0) * 1024
        else:  # ru_maxrss only grows: it rises only if this phase set a new high
            m.rss_rise = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - maxrss0) * 1024


def _child_main(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send((True, fn(*args)))
    except BaseException:  # noqa: B036 - reported to the parent, which raises
        conn.send((False, traceback.format_exc()))
    finally:
        conn.close()


def in_child(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a fresh Python process: clean heap, its own peak RSS."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child_main, args=(child, fn, args))
    process.start()
    child.close()
    try:
        ok, value = parent.recv()
    except EOFError:
        ok, value = False, f"the child process died (exit code {process.exitcode})"
    process.join()
    if not ok:
        raise RuntimeError(f"{fn.__name__} failed in its child process:\n{value}")
    return value  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- the phases


def phase_baseline(login: Login, traced: bool) -> Measure:
    """Raw imapclient and the stdlib parser: the least any IMAP reader has to do."""
    chars = 0
    with measured(traced) as m:
        client = login.client()
        client.select_folder("INBOX")
        uids = sorted(client.search(["NOT", "DELETED"]))
        for start in range(0, len(uids), BATCH):
            fetched = client.fetch(uids[start : start + BATCH], ["BODY.PEEK[]"])
            for data in fetched.values():
                msg = email.message_from_bytes(data[b"BODY[]"], policy=email.policy.default)
                subject = str(msg.get("Subject", ""))
                part = msg.get_body(("plain", "html"))  # type: ignore[attr-defined]
                text = part.get_content() if part is not None else ""
                chars += len(subject) + len(text)
                m.count += 1
            del fetched
        client.logout()
    if not chars:
        raise RuntimeError("the baseline read no text at all")
    return m


def _config(directory: Path, login: Login, smtp_port: int) -> Config:
    data: dict[str, dict[str, Any]] = {
        "bot": {"address": BOT, "name": "UnMentoring", "database": "mailbot.db"},
        "imap": {
            "host": "127.0.0.1",
            "port": login.port,
            "security": "none",
            "username": login.user,
            "password": login.password,
            "batch_size": BATCH,
            "timeout": 60,
        },
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none", "timeout": 60},
        # The hourly cap would hold most of the outbox back: measure sending, not the cap.
        "limits": {"sent_per_hour": 10**9},
    }
    return parse_config(data, directory / "mailbot.toml", {})


def _service(config: Config) -> tuple[SqliteStore, Service]:
    store = SqliteStore(config.bot.database)
    store.migrate()
    return store, Service(config, store, Renderer(), SystemClock())


def _kind(outcome: str) -> str:
    if outcome.startswith("ignored"):
        return outcome.split("(")[0].strip()
    return "FAILED" if outcome.startswith("failed") else outcome


def phase_poll(directory: Path, login: Login, smtp_port: int, traced: bool) -> Measure:
    config = _config(directory, login, smtp_port)
    assert config.imap is not None
    store, service = _service(config)
    try:
        with measured(traced) as m:
            inbox = ImapInbox(config.imap)
            try:
                report = service.poll(inbox)
            finally:
                inbox.close()
    finally:
        store.close()
    m.count = sum(report.outcomes.values())
    m.outcomes = Counter(_kind(o) for o in report.outcomes.elements())
    return m


def phase_raw_send(directory: Path, login: Login, smtp_port: int, traced: bool) -> Measure:
    """The send baseline: the same queued messages through raw smtplib over one connection,
    read from the outbox first (not timed); the outbox is left as it was."""
    config = _config(directory, login, smtp_port)
    store = SqliteStore(config.bot.database)
    try:
        queued = [(m.mail_from, list(m.recipients), m.raw)
                  for m in store.due_mail(SystemClock().now(), 10**9)]  # fmt: skip
    finally:
        store.close()
    with measured(traced) as m:
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=60) as smtp:
            for mail_from, recipients, raw in queued:
                smtp.sendmail(mail_from, recipients, raw)
                m.count += 1
    return m


def phase_send(directory: Path, login: Login, smtp_port: int, traced: bool) -> Measure:
    config = _config(directory, login, smtp_port)
    assert config.smtp is not None
    store, service = _service(config)
    try:
        with measured(traced) as m:
            transport = SmtpTransport(config.smtp)
            while True:  # until nothing is due (one call may deliver only part of the outbox)
                report = service.send(transport)
                if report.retrying or report.failed:
                    raise RuntimeError(f"sending went wrong: {report}")
                if not report.sent:
                    break
                m.count += report.sent
    finally:
        store.close()
    return m


# --------------------------------------------------------------------------- the run


class Bench:
    def __init__(self, server: DovecotServer, sink: Sink, workdir: Path):
        self.server = server
        self.sink = sink
        self.workdir = workdir
        self.runs = 0
        self.raw_send = Measure()  # the last send baseline, measured just before our send

    def fresh(self, messages: list[bytes], what: str) -> tuple[Login, Path]:
        self.runs += 1
        directory = self.workdir / f"{what}{self.runs}"
        directory.mkdir()
        return fill(self.server, f"{what}{self.runs}@example.org", messages), directory

    def baseline(self, messages: list[bytes]) -> tuple[Measure, Measure]:
        login, _ = self.fresh(messages, "base")
        timed = in_child(phase_baseline, login, False)
        traced = in_child(phase_baseline, login, True)  # read-only: the same mail again
        for m in (timed, traced):
            if m.count != len(messages):
                raise RuntimeError(f"the baseline read {m.count} of {len(messages)} messages")
        return timed, traced

    def ours(self, messages: list[bytes], traced: bool, send: bool) -> tuple[Measure, Measure]:
        login, directory = self.fresh(messages, "bot")
        poll = in_child(phase_poll, directory, login, self.sink.port, traced)
        if poll.count != len(messages) or login.count():
            raise RuntimeError(
                f"poll handled {poll.count} of {len(messages)}; {login.count()} left in INBOX"
            )
        sent = Measure()
        if send:
            raw = in_child(phase_raw_send, directory, login, self.sink.port, traced)
            if self.sink.take() != raw.count:
                raise RuntimeError("the raw smtplib baseline lost mail")
            self.raw_send = raw
            sent = in_child(phase_send, directory, login, self.sink.port, traced)
            received = self.sink.take()
            if received != sent.count:
                raise RuntimeError(f"sent {sent.count} but the sink received {received}")
        return poll, sent


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / MIB:.2f}"


def _per_message_ms(m: Measure) -> float:
    return 1000 * m.seconds / m.count if m.count else float("nan")


def table(rows: list[tuple[str, Measure, Measure]]) -> str:
    """Rows of (name, timed pass, traced pass); the first row is the baseline."""
    _, base_t, base_m = rows[0]
    head = ("phase", "messages", "seconds", "msgs/s", "ms/msg", "peak MiB", "RSS+ MiB",
            "time x", "mem x")  # fmt: skip
    lines = [head]
    for name, t, m in rows:
        time_x = _per_message_ms(t) / _per_message_ms(base_t)
        mem_x = f"{m.peak / base_m.peak:.2f}" if m.peak and base_m.peak else "-"
        lines.append(
            (
                name,
                str(t.count),
                f"{t.seconds:.2f}",
                f"{t.count / t.seconds:.0f}" if t.seconds else "-",
                f"{_per_message_ms(t):.3f}",
                _mib(m.peak),
                _mib(t.rss_rise),
                f"{time_x:.2f}",
                mem_x,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for k, line in enumerate(lines):
        cells = [line[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)]
        out.append("  ".join(cells))
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _dovecot_version() -> str:
    binary = find_dovecot()
    done = subprocess.run([binary or "dovecot", "--version"], capture_output=True, text=True)
    return (done.stdout.split() or ["?"])[0]


def _filesystem(path: Path) -> str:
    done = subprocess.run(["df", "--output=fstype", str(path)], capture_output=True, text=True)
    lines = done.stdout.split()
    return lines[-1] if done.returncode == 0 and len(lines) > 1 else "?"


def run(count: int, flat_count: int) -> None:
    started = time.perf_counter()

    def say(text: str) -> None:
        print(f"[{time.perf_counter() - started:5.1f}s] {text}", file=sys.stderr, flush=True)

    messages = build_messages(count)
    flat_messages = build_messages(flat_count)
    sizes = sorted(len(m) for m in messages)
    server = start_dovecot()
    sink: Sink | None = None
    try:
        sink = Sink()
        with tempfile.TemporaryDirectory(prefix="mailbot-bench-") as tmp:
            bench = Bench(server, sink, Path(tmp))
            say(f"baseline: {count} messages, timed then under tracemalloc")
            base_t, base_m = bench.baseline(messages)
            say(f"mailbot: {count} messages, timed poll and send")
            poll_t, send_t = bench.ours(messages, traced=False, send=True)
            raw_t = bench.raw_send
            say(f"mailbot: {count} messages, poll and send under tracemalloc")
            poll_m, send_m = bench.ours(messages, traced=True, send=True)
            raw_m = bench.raw_send
            say(f"{flat_count} messages: baseline, then mailbot's poll timed and traced")
            _, flat_base_m = bench.baseline(flat_messages)
            flat_t, _ = bench.ours(flat_messages, traced=False, send=False)
            flat_m, _ = bench.ours(flat_messages, traced=True, send=False)
            database_fs = _filesystem(Path(tmp))
    finally:
        if sink is not None:
            sink.stop()
        server.stop()
    say("done")

    print(
        f"mailbot inbox benchmark: {count} messages of {sizes[0]}-{sizes[-1]} bytes "
        f"(median {sizes[len(sizes) // 2]}), batches of {BATCH}; Python "
        f"{platform.python_version()}, Dovecot {_dovecot_version()}, {os.cpu_count()} cores, "
        f"SQLite on {database_fs}"
    )
    print()
    print(
        table(
            [
                ("baseline", base_t, base_m),
                ("mailbot poll", poll_t, poll_m),
            ]
        )
    )
    print()
    print(table([("raw smtplib", raw_t, raw_m), ("mailbot send", send_t, send_m)]))
    print()
    poll_rate = _per_message_ms(base_t) / _per_message_ms(poll_t)
    send_rate = _per_message_ms(raw_t) / _per_message_ms(send_t)
    print(f"rate against the baseline (target >= 0.5 poll, >= 0.7 send): poll "
          f"{poll_rate:.2f}, send {send_rate:.2f}")  # fmt: skip
    summary = {"messages": count, "poll_rate": round(poll_rate, 3),
               "send_rate": round(send_rate, 3),
               "poll_mem_x": round(poll_m.peak / base_m.peak, 3) if poll_m.peak and base_m.peak
               else None, "poll_peak_mib": round((poll_m.peak or 0) / MIB, 2),
               "base_peak_mib": round((base_m.peak or 0) / MIB, 2)}  # fmt: skip
    print("summary: " + json.dumps(summary))  # for benchmarks/all.py
    print()
    print("time x: ms per message / baseline's; mem x: tracemalloc peak / baseline's;")
    print("RSS+: rise of peak RSS over the phase's start, in the timed pass (own process)")
    outcomes = poll_t.outcomes or Counter()
    print("poll outcomes: " + "; ".join(f"{k} x{v}" for k, v in outcomes.most_common()))
    print()
    print("memory flatness, mailbot poll (tracemalloc peak; ~1.0 means batching keeps it flat):")
    runs = sorted(
        [(flat_count, flat_t, flat_m, flat_base_m), (count, poll_t, poll_m, base_m)],
        key=lambda r: r[0],
    )
    for n, t, m, b in runs:
        print(
            f"  {n:>6} messages: peak {_mib(m.peak)} MiB (baseline {_mib(b.peak)}), "
            f"RSS+ {_mib(t.rss_rise)} MiB, {_per_message_ms(t):.3f} ms/message"
        )
    (small, _, small_m, small_b), (large, _, large_m, large_b) = runs
    if small_m.peak and large_m.peak and small_b.peak and large_b.peak:
        print(
            f"  peak ratio at {large} vs {small} messages (x{large / small:.1f}): mailbot "
            f"{large_m.peak / small_m.peak:.2f}, baseline {large_b.peak / small_b.peak:.2f}"
        )
        print(
            f"  mailbot's peak above the baseline's: {_mib(small_m.peak - small_b.peak)} MiB "
            f"at {small}, {_mib(large_m.peak - large_b.peak)} MiB at {large} messages"
        )
        print(
            "  (both grow while the re module's cache fills: the email parser compiles a "
            "pattern\n  per MIME boundary and the cache keeps up to 512)"
        )
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s, filling included")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="N, messages per pass (2000)")
    parser.add_argument(
        "--flat", type=int, default=None, help="messages in the memory-flatness pass (N/4)"
    )
    args = parser.parse_args(argv)
    if args.messages < 1 or (args.flat is not None and args.flat < 1):
        parser.error("message counts must be at least 1")
    run(args.messages, args.flat or max(1, args.messages // 4))


if __name__ == "__main__":
    main()
