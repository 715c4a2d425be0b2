"""Crash anywhere (#5): kill -9 at each checkpoint, restart, and nothing is lost or done twice.

Each case copies a prepared database, seeds a fresh Dovecot mailbox, and runs the CLI in
subprocesses with ``MAILBOT_KILL_AT`` set (``mailbot.faults``) until one of them dies of
SIGKILL; then it reruns the pipeline from that command without it, as an operator would. The
outcome must equal a clean run of the same scenario in everything observable: the mail the SMTP
sink received, the IMAP folders, members, events, the inbound table, rounds, follow-ups and
digests. Only the one message in flight at ``send.after_smtp`` may arrive twice.

A case whose process does not die fails, so a renamed or unreachable checkpoint cannot make a
case pass vacuously; ``test_every_checkpoint_is_registered_and_tested`` keeps the calls in the
code, ``faults.POINTS`` and the cases below in step.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import itertools
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

import mailbot
from mailbot import faults
from mailbot.core.membership import State
from mailbot.core.roster import parse_roster
from mailbot.render import Renderer
from mailbot.rounds import Rounds
from mailbot.service import Service
from mailbot.store import SqliteStore
from mailbot.testing import FakeInbox, FixedClock, make_config, make_mail
from tests.imap_helpers import append, client, write_config
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp import SmtpSink
from tests.test_e2e import Cli

TOKEN = "abcdefghijklmnopqrstuvwx"  # Erin's confirmation code, made when she was imported
BOSS = "boss@example.org"
ROSTER = """email,name,org
bob@example.net,Bob Smith,Example Borough
carl@example.com,Carl Jones,Example City
dan@example.co.uk,Dan Brown,Example Council
gus@example.edu,Gus Grey,Example Trust
hal@example.org,Hal Ho,Example Works
ivy@example.com,Ivy Green,Example Parish
"""
ANSWERS = [
    ("bob@example.net", "We compared notes on open data portals."),
    ("carl@example.com", "I will borrow their user research checklist."),
]

# --- prepared databases (built once, in-process) --------------------------------------------


def _save(store: SqliteStore, path: Path) -> None:
    store.db.execute("update outbox set status = 'sent', sent_at = created_at")  # delivered
    target = sqlite3.connect(path)
    store.db.conn.backup(target)
    target.close()


def build_templates(root: Path) -> dict[str, Path]:
    """members: six active, Erin pending, Ivy paused for one round; round: + a round (seed 7);
    learnings: + its follow-ups and two answers; preview: + a digest awaiting approval."""
    config = make_config(root, bot={"admins": [BOSS]})
    store = SqliteStore(config.bot.database)
    store.migrate()
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=2))
    renderer = Renderer()
    service = Service(config, store, renderer, clock, make_token=lambda: TOKEN)
    service.import_members(parse_roster(ROSTER)[0], confirmed=True)
    service.import_members(parse_roster("email,name\nerin@example.net,Erin Ek\n")[0], False)
    ivy = store.get_member("ivy@example.com")
    assert ivy is not None
    store.save_member(replace(ivy, state=State.paused, pause_rounds=1), clock.now())
    paths = {name: root / f"{name}.db" for name in ("members", "round", "learnings", "preview")}
    _save(store, paths["members"])
    Rounds(config, store, renderer, clock).run("template round", seed=7)
    _save(store, paths["round"])
    clock.advance(hours=1)
    service.learnings.follow_up_latest()
    clock.advance(hours=1)
    inbox = FakeInbox()
    asked = dict(store.db.execute("select email, message_id from followups").fetchall())
    for email, said in ANSWERS:
        inbox.deliver(make_mail(email, "Re: How did it go?", said,
                                headers={"In-Reply-To": asked[email]}))  # fmt: skip
    assert service.poll(inbox).processed == 2
    assert len(store.learnings()) == 2
    _save(store, paths["learnings"])
    clock.advance(hours=1)
    service.digests.start()
    _save(store, paths["preview"])
    store.close()
    return paths


# --- scenarios ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    template: str
    commands: tuple[tuple[str, ...], ...]
    mail: Callable[[Path], list[EmailMessage | bytes]] = lambda db: []
    config: str = ""  # appended to the config
    admins: bool = False
    no_move: bool = False  # IMAP through a proxy that hides MOVE: copy, delete, expunge


@functools.cache
def _joins_and_commands() -> tuple[EmailMessage, ...]:
    """Seven messages, oldest first; made once so every run sees the very same bytes."""
    return (
        make_mail("Anne Person <anne@example.org>", "join", "org: Example Council"),
        make_mail("Bob Smith <bob@example.net>", "status"),
        # The receiving server vouched for these two (issue #10): their changes act at once.
        make_mail("Carl Jones <carl@example.com>", "pause", headers={
            "Authentication-Results": "mx.example.org; dmarc=pass header.from=example.com"}),
        make_mail("Erin Ek <erin@example.net>", f"confirm {TOKEN}"),
        make_mail(
            "Dan Brown <dan@example.co.uk>",
            "Automatic reply: leave",
            "I am out of the office.",
            headers={"Auto-Submitted": "auto-replied"},
        ),
        make_mail("Fay Far <fay@example.org>", "join", "long words " * 300),  # over the limit
        make_mail("Gus Grey <gus@example.edu>", "leave", headers={
            "Authentication-Results": "mx.example.org; dmarc=pass header.from=example.edu"}),
    )


def _mail(db: Path) -> list[EmailMessage | bytes]:
    return list(_joins_and_commands())


@functools.cache
def _approval(preview_id: str) -> EmailMessage:
    return make_mail(f"Boss <{BOSS}>", "Re: digest preview", "approve",
                     headers={"In-Reply-To": preview_id, "References": preview_id,
                              "Authentication-Results":
                                  "mx.example.org; dkim=pass header.d=example.org; "
                                  "spf=pass smtp.mailfrom=example.org; "
                                  "dmarc=pass header.from=example.org"})  # fmt: skip


def _approve(db: Path) -> list[EmailMessage | bytes]:
    conn = sqlite3.connect(db)
    [(preview_id,)] = conn.execute("select preview_message_id from digests").fetchall()
    conn.close()
    return [_approval(preview_id)]


POLL_AND_SEND = (("poll",), ("send",))
SCENARIOS = {
    "mail": Scenario("members", POLL_AND_SEND, _mail, "[limits]\nmax_message_bytes = 2000\n"),
    "mail-no-move": Scenario(
        "members", POLL_AND_SEND, _mail, "[limits]\nmax_message_bytes = 2000\n", no_move=True
    ),
    "pair": Scenario("members", (("pair", "--seed", "7"), ("send",))),
    "followup": Scenario("round", (("followup",), ("send",))),
    "digest": Scenario("learnings", (("digest",), ("send",))),
    "approve": Scenario("preview", POLL_AND_SEND, _approve, admins=True),
}

# (scenario, MAILBOT_KILL_AT): every checkpoint at least once, mid-batch where it matters.
CASES = [
    ("mail", "poll.before_commit"),
    ("mail", "poll.before_commit:4"),  # three committed, the fourth not, none moved
    ("mail", "poll.after_commit"),  # the first message committed, not moved
    ("mail", "poll.after_commit:4"),  # the first batch of three moved, the fourth not
    ("mail", "poll.after_move"),  # one batch moved, two still in INBOX
    ("mail-no-move", "inbox.after_copy"),  # copied, not deleted: not filed twice
    ("mail", "send.before_smtp"),
    ("mail", "send.before_smtp:3"),
    ("mail", "send.after_smtp"),
    ("mail", "send.after_smtp:3"),  # two sent and recorded, the third sent, not recorded
    ("pair", "pair.before_commit"),
    ("pair", "pair.after_commit"),
    ("pair", "send.after_smtp:2"),  # the second intro, or the back-in notice
    ("followup", "followup.before_commit"),
    ("followup", "followup.after_commit"),
    ("digest", "digest.queued"),
    ("digest", "digest.before_commit"),
    ("digest", "digest.after_commit"),
    ("approve", "digest.queued"),  # approved by mail: inside the poll's transaction
    ("approve", "poll.after_commit"),
]

# A rerun after the work committed refuses to do it again: that is the right answer.
REFUSALS = {
    "pair.after_commit": "less than half a cadence ago",
    "digest.after_commit": "nothing new since the last digest",
}


# --- running ------------------------------------------------------------------------------


class NoMoveProxy:
    """A loopback proxy to Dovecot that hides MOVE from every CAPABILITY list it relays, like
    the servers that lack it; mailbot then files mail by COPY, STORE \\Deleted, EXPUNGE."""

    def __init__(self, host: str, port: int):
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._up, args=(conn, server), daemon=True).start()
            threading.Thread(target=self._down, args=(server, conn), daemon=True).start()

    @staticmethod
    def _up(client: socket.socket, server: socket.socket) -> None:
        with contextlib.suppress(OSError):  # the other direction closed both
            while data := client.recv(65536):
                server.sendall(data)
            server.shutdown(socket.SHUT_WR)  # the client is gone (killed): Dovecot hangs up

    @staticmethod
    def _down(server: socket.socket, client: socket.socket) -> None:
        with server, client, contextlib.suppress(OSError), server.makefile("rb") as lines:
            for line in lines:
                if b"CAPABILITY" in line:
                    line = line.replace(b" MOVE", b"")
                client.sendall(line)

    def close(self) -> None:
        self.listener.close()


class KillableCli(Cli):
    def run(self, args: tuple[str, ...], kill: str | None = None) -> subprocess.CompletedProcess:
        env = {k: v for k, v in self.env.items() if k != faults.ENV}
        if kill:
            env[faults.ENV] = kill
        return subprocess.run(
            [sys.executable, "-m", "mailbot", "--config", str(self.config), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )


def play(cli: KillableCli, commands: tuple[tuple[str, ...], ...], kill: str | None) -> None:
    """Run the pipeline; with ``kill``, one command must die of it, and the rest reruns."""
    start = 0
    while start < len(commands):
        done = cli.run(commands[start], kill)
        if done.returncode == -signal.SIGKILL:
            break
        assert done.returncode == 0, (commands[start], done.stderr)
        start += 1
    else:
        if kill is not None:
            pytest.fail(f"{kill} was never reached by {commands}")
        return
    point = kill.partition(":")[0] if kill else ""
    for n, args in enumerate(commands[start:]):
        done = cli.run(args)
        if n == 0 and point in REFUSALS:
            assert done.returncode == 1 and REFUSALS[point] in done.stderr, done.stderr
        else:
            assert done.returncode == 0, (args, done.stderr)


def folders(server: DovecotServer) -> dict[str, list[str]]:
    """Message-IDs of the mail in each folder (flagged \\Deleted counts as gone)."""
    found: dict[str, list[str]] = {}
    with client(server) as c:
        for folder in ("INBOX", "Processed", "Failed"):
            found[folder] = []
            if not c.folder_exists(folder):
                continue
            c.select_folder(folder, readonly=True)
            uids = c.search(["NOT", "DELETED"])
            heads = c.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
            for data in heads.values():
                header = data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode()
                found[folder].append(header.partition(":")[2].strip())
            found[folder].sort()
    return found


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def observe(db: Path, before: dict[str, int], server: DovecotServer, sink: SmtpSink,
            kill: str | None) -> dict[str, Any]:  # fmt: skip
    """Everything a run changed, checked for the invariants and in a form to compare."""
    copies = Counter(
        (rcpt, str(msg["Message-ID"]), str(msg["X-Mailbot-Kind"]))
        for env, msg in zip(sink.envelopes, sink.messages, strict=True)
        for rcpt in env.rcpt_tos
    )
    twice = {mid for (_, mid, _), n in copies.items() if n > 1}
    assert all(n <= 2 for n in copies.values()), copies
    in_flight = kill is not None and kill.startswith("send.after_smtp")
    assert len(twice) == (1 if in_flight else 0), f"sent again: {twice}"
    mail = Counter((rcpt, kind) for rcpt, _, kind in copies)
    assert max(mail.values(), default=1) == 1, f"mailed twice for one event: {mail}"

    events = Counter(
        query(db, f"select email, event from events where id > {before['events']}")
    )  # fmt: skip
    assert max(events.values(), default=1) == 1, f"acted on twice: {events}"
    rounds = query(db, "select id, number, unmatched from rounds order by id")
    groups = query(db, "select round_id, group_id, email from group_members order by email")
    for round_id, *_ in rounds:
        paired = [email for r, _, email in groups if r == round_id]
        assert len(paired) == len(set(paired)), f"paired twice in round {round_id}: {paired}"
    assert not query(db, "select key from outbox where status != 'sent'")
    return {
        "mail": sorted(mail),
        "folders": folders(server),
        "inbound": sorted(query(db, "select outcome from inbound where mailbox like 'imap:%'")),
        "members": sorted(query(db, "select email, state, pause_rounds from members")),
        "events": sorted(events),
        "rounds": [r[1:] for r in rounds],
        "groups": sorted(query(db, "select group_id, email from group_members")),
        "followups": sorted(query(db, "select group_id, email from followups")),
        "digests": query(db, "select year, issue, status, recipients from digests"),
        "learnings": query(db, "select id, digest_id from learnings order by id"),
        "outbox": sorted(
            query(db, f"select kind, recipients from outbox where id > {before['outbox']}")
        ),  # fmt: skip
    }


def run_case(scenario: Scenario, template: Path, directory: Path, server: DovecotServer,
             sink: SmtpSink, kill: str | None) -> dict[str, Any]:  # fmt: skip
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "mailbot.db"
    shutil.copyfile(template, db)
    before = {t: query(db, f"select coalesce(max(id), 0) from {t}")[0][0]
              for t in ("events", "outbox")}  # fmt: skip
    config = write_config(directory, server, sink, batch_size="3")
    text = config.read_text() + scenario.config
    if scenario.admins:
        text = text.replace(
            'name = "UnMentoring"',
            f'name = "UnMentoring"\nadmins = ["{BOSS}"]',
        )
    proxy = None
    if scenario.no_move:
        proxy = NoMoveProxy(server.host, server.port)
        text = text.replace(f"port = {server.port}\n", f"port = {proxy.port}\n")
    config.write_text(text)
    seeded = scenario.mail(db)
    if seeded:
        append(server, *seeded)
    try:
        play(KillableCli(config, server.password), scenario.commands, kill)
    finally:
        if proxy:
            proxy.close()
    seen = observe(db, before, server, sink, kill)
    ids = sorted(str(m["Message-ID"]) for m in seeded if isinstance(m, EmailMessage))
    assert not seen["folders"]["INBOX"], "left in the inbox"
    assert sorted(seen["folders"]["Processed"] + seen["folders"]["Failed"]) == ids, (
        "every inbound message filed exactly once"
    )
    assert len(seen["inbound"]) == len(ids), "every inbound message recorded exactly once"
    return seen


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_templates(tmp_path_factory.mktemp("templates"))


_users = itertools.count(1)
_clean_runs: dict[str, dict[str, Any]] = {}


def clean_run(name: str, templates: dict[str, Path], server: DovecotServer,
              root: Path) -> dict[str, Any]:  # fmt: skip
    """The scenario without a crash, once per session: what every crashed run must equal."""
    if name not in _clean_runs:
        scenario = SCENARIOS[name]
        view = server.as_user(f"crash-clean{next(_users)}@example.org", "secret")
        with SmtpSink() as sink:
            _clean_runs[name] = run_case(
                scenario, templates[scenario.template], root / "clean", view, sink, None
            )
    return _clean_runs[name]


# --- the tests ----------------------------------------------------------------------------


@pytest.mark.imap
@pytest.mark.slow
@pytest.mark.parametrize("name, kill", CASES)
def test_killed_and_restarted_loses_and_doubles_nothing(
    name, kill, templates, dovecot_server, dovecot, smtp_sink, tmp_path
):
    expected = clean_run(name, templates, dovecot_server, tmp_path)
    scenario = SCENARIOS[name]
    got = run_case(scenario, templates[scenario.template], tmp_path / "crash", dovecot,
                   smtp_sink, kill)  # fmt: skip
    assert got == expected


@pytest.mark.imap
@pytest.mark.slow
def test_the_clean_runs_do_what_the_mail_says(templates, dovecot_server, tmp_path):
    """The yardstick itself: states, mail, rounds and digests as the scenarios intend."""
    mail = clean_run("mail", templates, dovecot_server, tmp_path / "mail")
    states = {email: state for email, state, _ in mail["members"]}
    assert states["anne@example.org"] == "pending"
    assert states["bob@example.net"] == "active"
    assert states["carl@example.com"] == "paused"
    assert states["erin@example.net"] == "active"
    assert states["dan@example.co.uk"] == "active"  # the robot's "leave" did nothing
    assert states["gus@example.edu"] == "left"
    assert {("anne@example.org", "confirm"), ("bob@example.net", "notice"),
            ("carl@example.com", "notice"), ("erin@example.net", "welcome"),
            ("gus@example.edu", "notice")} <= set(mail["mail"])  # fmt: skip
    assert not {r for r, _ in mail["mail"]} & {"dan@example.co.uk"}
    assert len(mail["folders"]["Processed"]) == 6 and len(mail["folders"]["Failed"]) == 1
    assert clean_run("mail-no-move", templates, dovecot_server, tmp_path / "no-move") == mail

    pair = clean_run("pair", templates, dovecot_server, tmp_path / "pair")
    assert len(pair["rounds"]) == 1
    paired = sorted(email for _, email in pair["groups"])
    actives = ["bob@example.net", "carl@example.com", "dan@example.co.uk", "gus@example.edu",
               "hal@example.org"]  # fmt: skip
    assert paired == sorted(actives)  # Ivy sat this one out and is now back
    assert sorted(r for r, k in pair["mail"] if k == "intro") == sorted(actives)
    assert ("ivy@example.com", "notice") in pair["mail"]

    followup = clean_run("followup", templates, dovecot_server, tmp_path / "followup")
    assert sorted(r for r, k in followup["mail"] if k == "followup") == sorted(
        email for _, email in followup["followups"]
    )
    assert len(followup["followups"]) == 5

    for name in ("digest", "approve"):
        digest = clean_run(name, templates, dovecot_server, tmp_path / name)
        [(_, _, status, readers)] = digest["digests"]
        assert status == "sent" and readers == 6
        assert len([r for r, k in digest["mail"] if k == "digest"]) == readers
        assert all(digest_id == 1 for _, digest_id in digest["learnings"])


def test_every_checkpoint_is_registered_and_tested():
    called: list[str] = []
    for path in Path(mailbot.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "checkpoint":
                [arg] = node.args
                assert isinstance(arg, ast.Constant), f"{path}: checkpoint names are literals"
                called.append(arg.value)
    assert sorted(called) == sorted(faults.POINTS), "each point once in the code"
    tested = {str(getattr(c, "values", c)[1]).partition(":")[0] for c in CASES}
    assert tested == set(faults.POINTS)


@pytest.mark.parametrize("value, parsed", [
    ("", None),
    ("send.after_smtp", ("send.after_smtp", 1)),
    ("poll.before_commit:3", ("poll.before_commit", 3)),
])  # fmt: skip
def test_kill_at_is_a_point_and_a_count(value, parsed):
    assert faults.parse_kill_at(value) == parsed


@pytest.mark.parametrize("value", ["poll.before_comit", "send.after_smtp:0", "pair.after_commit:x"])
def test_a_mistyped_kill_point_is_refused(value):
    with pytest.raises(ValueError, match="MAILBOT_KILL_AT"):
        faults.parse_kill_at(value)


def test_a_checkpoint_kills_only_the_nth_time_its_name_is_reached(monkeypatch):
    kills: list[tuple[int, int]] = []
    monkeypatch.setattr(faults.os, "kill", lambda pid, sig: kills.append((pid, sig)))
    monkeypatch.setattr(faults, "_target", ("send.before_smtp", 2))
    monkeypatch.setattr(faults, "_reached", 0)
    faults.checkpoint("send.after_smtp")
    faults.checkpoint("send.before_smtp")
    assert kills == []
    faults.checkpoint("send.before_smtp")
    assert kills == [(os.getpid(), signal.SIGKILL)]
    faults.checkpoint("send.before_smtp")
    assert len(kills) == 1
