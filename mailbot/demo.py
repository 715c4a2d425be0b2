"""``mailbot demo``: the product on its embedded default, no outside mail account needed.

An aiosmtpd server on loopback takes mail for any address into local Maildirs; the bot reads
its own Maildir and delivers its replies into the others. A short scenario shows people
joining, confirming, pausing and leaving; then the daemon keeps serving until Ctrl-C.
"""

from __future__ import annotations

import email
import email.policy
import logging
import os
import re
import shlex
import shutil
import smtplib
import sqlite3
import sys
import threading
from collections.abc import Callable
from contextlib import closing
from email.message import EmailMessage
from pathlib import Path

from mailbot.app import App, build_app
from mailbot.config import load_config
from mailbot.core.roster import parse_roster
from mailbot.daemon import Daemon, InstanceLock
from mailbot.embedded import EmbeddedSmtp
from mailbot.errors import MailbotError
from mailbot.outbox import mailbox_folder
from mailbot.sample_mail import make_mail, make_reply
from mailbot.tables import format_members

BOT = "unmentoring@example.org"
MARKER = ".mailbot-demo"
CONFIG = """\
# Written by `mailbot demo`: the embedded default, with local mailboxes instead of IMAP/SMTP.
[bot]
address = "{bot}"
name = "UnMentoring"
database = "mailbot.db"
admins = ["organiser@example.org"]
contact = "the organisers, organiser@example.org"

[local]
maildir = "mail"        # one Maildir per address: mail/<address>/
smtp_port = {port}      # the embedded SMTP server on 127.0.0.1

[daemon]
poll_interval = 2

[limits]
replies_per_day = 50    # trying the demo by hand sends many emails from one address
"""

Echo = Callable[[str], None]


def run_demo(directory: Path, port: int, serve: bool, echo: Echo, fresh: bool = False) -> None:
    """Play the scenario in `directory`, then serve it until Ctrl-C (unless not `serve`).

    The demo holds its folder's lock all the while: a second demo there refuses to start.
    A folder with a previous demo's data is left alone unless `fresh`; the mail server
    starts before anything is deleted, so a busy port costs nothing."""
    with DemoFolder(directory) as folder:
        deleted = folder.check_reusable(fresh)
        hint = "try --port 2525, or --port 0 for any free port"
        with EmbeddedSmtp(directory / "mail", "127.0.0.1", port, busy_hint=hint) as server:
            folder.clear()
            if deleted:
                echo(f"Deleted the previous demo in {directory} ({deleted}).")
            (directory / "mailbot.toml").write_text(CONFIG.format(bot=BOT, port=server.port))
            config = load_config(directory / "mailbot.toml")
            app = build_app(config, migrate=True)
            try:
                _play(app, server, directory, echo)
                if serve:
                    _serve(app, server, directory, echo)
            finally:
                app.close()


def _play(app: App, server: EmbeddedSmtp, directory: Path, echo: Echo) -> None:
    logger = logging.getLogger("mailbot")
    level = logger.level
    logger.setLevel(logging.WARNING)  # the scenario narrates; the log would repeat it
    try:
        scenario = Scenario(server, Daemon(app), directory / "mail", echo)
        scenario.play()
        scenario.round(app)
        scenario.learnings(app)
        echo(f"\nMembers now ({admin_command(directory)} members):")
        echo(format_members(app.store.members(), "table"))
    finally:
        logger.setLevel(level)


class DemoFolder:
    """The demo's folder, locked while a demo runs in it (the daemon's instance lock)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.lock = InstanceLock(directory / "mailbot.db")

    def __enter__(self) -> DemoFolder:
        directory = self.directory
        if directory.exists() and any(directory.iterdir()) and not (directory / MARKER).exists():
            raise MailbotError(f"{directory} exists and is not a demo folder; pick --dir")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / MARKER).write_text(
            "made by mailbot demo; `mailbot demo --fresh` deletes what is here\n"
        )
        try:
            self.lock.acquire()
        except MailbotError:
            raise MailbotError(
                f"a demo (or `mailbot run`) is already running in {directory}: stop it first "
                "(Ctrl-C in its terminal), or pick another --dir"
            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()

    def check_reusable(self, fresh: bool) -> str:
        """What a previous demo left here ("" if nothing); it is deleted only when asked to."""
        held = self.contents()
        if held and not fresh:
            again = os.environ.get("MAILBOT_DEMO_COMMAND", "mailbot demo")
            raise MailbotError(
                f"{self.directory} holds the last demo ({held}). `{again} --fresh` deletes "
                f"it and starts again; `{admin_command(self.directory)} run` serves it as it is"
            )
        return held

    def contents(self) -> str:
        found = []
        database = self.directory / "mailbot.db"
        if database.exists():
            found.append(f"{_count_members(database)} members in mailbot.db")
        mail = self.directory / "mail"
        if mail.exists():
            count = sum(1 for p in mail.glob("*/*/*") if p.is_file())
            found.append(f"{count} emails under mail/")
        return ", ".join(found)

    def clear(self) -> None:
        """Everything but the marker and the lock this demo holds."""
        keep = {MARKER, self.lock.path.name}
        for path in self.directory.iterdir():
            if path.name in keep:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def _count_members(database: Path) -> int | str:
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            return int(db.execute("select count(*) from members").fetchone()[0])
    except sqlite3.Error:
        return "?"


def admin_command(directory: Path) -> str:
    """The exact command line that runs admin commands against this demo, as typed here:
    ``.venv/bin/mailbot`` when that is how the demo ran and `mailbot` is not on PATH."""
    return f"{mailbot_program()} --config {_shown_path(directory / 'mailbot.toml')}"


def mailbot_program() -> str:
    program = Path(sys.argv[0])
    if program.name != "mailbot" or not program.exists():
        return f"{shlex.quote(sys.executable)} -m mailbot"
    on_path = shutil.which("mailbot")
    if on_path and Path(on_path).resolve() == program.resolve():
        return "mailbot"
    return _shown_path(program)


def _shown_path(path: Path) -> str:
    """A path as short as it can be typed from here: relative below here, else absolute."""
    relative = os.path.relpath(path)
    return shlex.quote(relative if not relative.startswith("..") else os.path.abspath(path))


def _serve(app: App, server: EmbeddedSmtp, directory: Path, echo: Echo) -> None:
    logging.getLogger("mailbot").setLevel(logging.INFO)
    admin = admin_command(directory)
    python = _shown_path(Path(sys.executable))
    echo(f"""
Now serving on the embedded default until Ctrl-C. Try it yourself, with Python:

  {python} -c 'import smtplib; smtplib.SMTP("127.0.0.1", {server.port}).sendmail(\
"you@example.org", "{BOT}", "Subject: join\\n\\norg: Example Council")'

or swaks (swaks --server 127.0.0.1:{server.port} --to {BOT} --from you@example.org
--header "Subject: join"), or point any mail client's outgoing (SMTP) server at 127.0.0.1
port {server.port}, no login. Replies land in {directory / "mail"}/<your address>/new/, one
file per email (a Maildir: read the files, or open it with mutt -f). The bot checks its
mailbox every 2 seconds.

The demo's config is {directory / "mailbot.toml"}. Admin commands, in another terminal:

  {admin} members
  {admin} pair --dry-run
  {admin} digest --preview

After Ctrl-C, `{admin} run` serves this demo again as it is.
""")
    daemon = Daemon(app, threading.Event())
    try:
        daemon.run(lock=False)  # the demo holds the lock
    except KeyboardInterrupt:
        pass


class Scenario:
    def __init__(self, server: EmbeddedSmtp, daemon: Daemon, root: Path, echo: Echo):
        self.server = server
        self.daemon = daemon
        self.root = root
        self.echo = echo
        self.seen: dict[str, set[str]] = {}
        self.unread = False  # mail sent to the bot that it has not acted on yet

    def play(self) -> None:
        anne, bob, chloe, dan = (
            "Anne Person <anne@example.org>",
            "Bob Smith <bob@example.net>",
            "Chloe Jones <chloe@example.com>",
            "dan@example.org",
        )
        self.step("Anne, Bob and Chloe ask to join (Anne adds profile lines)")
        self.send(
            make_mail(
                anne,
                "join",
                "name: Anne Person\norg: Example Council\n"
                "about: digital services lead, happy to talk about user research",
            )
        )
        self.send(make_mail(bob, "Subscribe", "Hello! Please add me.\n\nBob"))
        self.send(make_mail(chloe, "join", "org: Example Borough\nskype: chloe.jones"))
        self.cycle()
        self.step("Anne confirms by replying to the confirmation email (quoting it)")
        self.send(make_reply(self.last("anne@example.org"), anne, "Yes please!"))
        self.step("Bob replies from a client that drops threading headers")
        self.send(
            make_reply(self.last("bob@example.net"), bob, "ok", quote=False, keep_headers=False)
        )
        self.step("Chloe types 'confirm <code>' into a new email")
        code = re.search(r"confirm (\w+)\)", str(self.last("chloe@example.com")["Subject"]))
        self.send(make_mail(chloe, "", f"confirm {code.group(1) if code else '?'}"))
        self.cycle()
        self.step("Bob pauses for two rounds; Chloe leaves; Anne asks for her status")
        self.send(make_mail(bob, "pause 2"))
        self.send(make_mail(chloe, "unsubscribe"))
        self.send(make_mail(anne, "status"))
        self.step("Dan writes something the bot does not understand")
        self.send(make_mail(dan, "Hello?", "Is this the coffee thing?"))
        self.step("An out-of-office reply arrives: robots are never answered")
        self.send(
            make_mail(
                anne,
                "Out of Office: status",
                "I'm away until Monday.",
                headers={"Auto-Submitted": "auto-replied"},
            )
        )
        self.cycle()

    def round(self, app: App) -> None:
        self.step("The organiser imports two colleagues from a spreadsheet (mailbot import "
                  "--confirmed)")  # fmt: skip
        rows, _ = parse_roster(
            "email,name,org,about\n"
            "erin@example.edu,Erin Green,Example District,Runs the open data team\n"
            "femi@example.gov,Femi Adeyemi,Example City,Accessibility champion\n"
        )
        added, _ = app.service.import_members(rows, confirmed=True)
        self.echo(f"  imported {', '.join(added)}: active at once, no confirmation email")
        self.step("A pairing round runs (mailbot pair): three active members make one trio; "
                  "Bob is paused")  # fmt: skip
        plan = app.rounds.run("demo round 1")
        for group in plan.groups if plan else ():
            self.echo("  group: " + " + ".join(group))
        self.cycle()

    def learnings(self, app: App) -> None:
        self.step("A week later each of them is asked how it went (mailbot followup)")
        app.learnings.follow_up_latest()
        self.cycle()
        self.step("Erin replies from her phone with what she learned; Femi says they met")
        erin, femi = "Erin Green <erin@example.edu>", "Femi Adeyemi <femi@example.gov>"
        self.send(make_reply(self.last("erin@example.edu"), erin,
                             "Anne showed me how her council recruits user research "
                             "panels.\nWe'll try it for our open data portal.\n\n"
                             "Sent from my iPhone"))  # fmt: skip
        self.send(make_reply(self.last("femi@example.gov"), femi, "yes"))
        self.cycle()
        self.step("The monthly digest goes to the organiser to approve (mailbot digest)")
        app.digests.start()
        self.cycle()
        self.step("The organiser replies 'approve': every reader gets the digest")
        self.send(make_reply(self.last("organiser@example.org"),
                             "Organiser <organiser@example.org>", "approve"))  # fmt: skip
        self.cycle()

    def step(self, text: str) -> None:
        """A new step; what the last one sent is acted on first, so every reply is printed
        under the step that caused it."""
        if self.unread:
            self.cycle()
        self.echo(f"\n== {text}")

    def send(self, msg: EmailMessage) -> None:
        self.echo(f"  -> {msg['From']} sends: {msg['Subject'] or '(no subject)'}")
        with smtplib.SMTP(self.server.host, self.server.port, timeout=10) as smtp:
            smtp.send_message(msg, to_addrs=[BOT])
        self.unread = True

    def cycle(self) -> None:
        self.daemon.cycle()
        self.unread = False
        received = 0
        for person in sorted(p.name for p in self.root.iterdir() if p.name != BOT):
            for msg in self._new_mail(person):
                received += 1
                kind = msg.get("X-Mailbot-Kind", "?")
                self.echo(f"  <- {person} received [{kind}] {msg['Subject']}")
                body = msg.get_body(("plain",))
                text = body.get_content() if body is not None else ""
                for line in [ln for ln in text.splitlines() if ln.strip()][1:3]:
                    self.echo(f"       | {line}")
        if not received:
            self.echo("  (no mail sent)")

    def _new_mail(self, person: str) -> list[EmailMessage]:
        seen = self.seen.setdefault(person, set())
        found = []
        for path in sorted((mailbox_folder(self.root, person) / "new").iterdir()):
            if path.name not in seen:
                seen.add(path.name)
                found.append(
                    email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                )
        return [m for m in found if isinstance(m, EmailMessage)]

    def last(self, person: str) -> EmailMessage:
        paths = sorted((mailbox_folder(self.root, person) / "new").iterdir(), key=lambda p: p.name)
        msg = email.message_from_bytes(paths[-1].read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg
