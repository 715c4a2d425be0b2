"""``mailbot demo``: the product on its embedded default, no outside mail account needed.

An aiosmtpd server on loopback takes mail for any address into local Maildirs; the bot reads
its own Maildir and delivers its replies into the others. A short scenario shows people
joining, confirming, pausing and leaving; then the daemon keeps serving until Ctrl-C.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
import shutil
import smtplib
import threading
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from mailbot.app import App, build_app
from mailbot.cli import format_members
from mailbot.config import load_config
from mailbot.core.roster import parse_roster
from mailbot.daemon import Daemon
from mailbot.embedded import EmbeddedSmtp
from mailbot.errors import MailbotError
from mailbot.outbox import mailbox_folder
from mailbot.testing import make_mail, make_reply

BOT = "unmentoring@example.org"
MARKER = ".mailbot-demo"
CONFIG = """\
# Written by `mailbot demo`: the embedded default, with local mailboxes instead of IMAP/SMTP.
[bot]
address = "{bot}"
name = "UnMentoring"
database = "mailbot.db"
admins = ["organiser@example.org"]

[local]
maildir = "mail"        # one Maildir per address: mail/<address>/
smtp_port = {port}      # the embedded SMTP server on 127.0.0.1

[daemon]
poll_interval = 2
"""

Echo = Callable[[str], None]


def run_demo(directory: Path, port: int, serve: bool, echo: Echo) -> None:
    _fresh(directory)
    with EmbeddedSmtp(directory / "mail", "127.0.0.1", port) as server:
        (directory / "mailbot.toml").write_text(CONFIG.format(bot=BOT, port=server.port))
        config = load_config(directory / "mailbot.toml")
        app = build_app(config, migrate=True)
        logger = logging.getLogger("mailbot")
        level = logger.level
        logger.setLevel(logging.WARNING)  # the scenario narrates; the log would repeat it
        try:
            scenario = Scenario(server, Daemon(app), directory / "mail", echo)
            scenario.play()
            scenario.round(app)
            scenario.learnings(app)
            echo("\nMembers now (mailbot members):")
            rows = app.store.members()
            echo(format_members(rows, "table"))
            if serve:
                _serve(app, server, directory, echo)
        finally:
            logger.setLevel(level)
            app.close()


def _fresh(directory: Path) -> None:
    if directory.exists():
        if not (directory / MARKER).exists():
            raise MailbotError(f"{directory} exists and is not a demo folder; pick --dir")
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / MARKER).write_text("made by mailbot demo; deleted by the next demo run\n")


def _serve(app, server: EmbeddedSmtp, directory: Path, echo: Echo) -> None:  # type: ignore[no-untyped-def]
    logging.getLogger("mailbot").setLevel(logging.INFO)
    echo(f"""
Now serving on the embedded default until Ctrl-C. Try it yourself:

  swaks --server 127.0.0.1:{server.port} --to {BOT} --from you@example.org --header "Subject: join"

or point any mail client's outgoing (SMTP) server at 127.0.0.1 port {server.port}, no login.
Replies land in {directory / "mail"}/<your address>/new/ (a Maildir: open it with mutt -f,
or read the files). The bot checks its mailbox every 2 seconds.
""")
    daemon = Daemon(app, threading.Event())
    try:
        daemon.run()
    except KeyboardInterrupt:
        pass


class Scenario:
    def __init__(self, server: EmbeddedSmtp, daemon: Daemon, root: Path, echo: Echo):
        self.server = server
        self.daemon = daemon
        self.root = root
        self.echo = echo
        self.seen: dict[str, set[str]] = {}

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
        app.service.import_members(rows, confirmed=True)
        self.step("A pairing round runs (mailbot pair): three active members make one trio; "
                  "Bob is paused")  # fmt: skip
        plan = app.rounds.run("demo round 1")
        for group in plan.groups if plan else ():
            self.echo("  group: " + " + ".join(group))
        self.cycle()

    def learnings(self, app: App) -> None:
        self.step("A week later each of them is asked how it went (mailbot followup)")
        app.service.learnings.follow_up_latest()
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
        app.service.digests.start()
        self.cycle()
        self.step("The organiser replies 'approve': every reader gets the digest")
        self.send(make_reply(self.last("organiser@example.org"),
                             "Organiser <organiser@example.org>", "approve"))  # fmt: skip
        self.cycle()

    def step(self, text: str) -> None:
        self.echo(f"\n== {text}")

    def send(self, msg: EmailMessage) -> None:
        self.echo(f"  -> {msg['From']} sends: {msg['Subject'] or '(no subject)'}")
        with smtplib.SMTP(self.server.host, self.server.port, timeout=10) as smtp:
            smtp.send_message(msg, to_addrs=[BOT])

    def cycle(self) -> None:
        self.daemon.cycle()
        for person in sorted(p.name for p in self.root.iterdir() if p.name != BOT):
            for msg in self._new_mail(person):
                kind = msg.get("X-Mailbot-Kind", "?")
                self.echo(f"  <- {person} received [{kind}] {msg['Subject']}")
                body = msg.get_body(("plain",))
                text = body.get_content() if body is not None else ""
                for line in [ln for ln in text.splitlines() if ln.strip()][1:3]:
                    self.echo(f"       | {line}")

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
