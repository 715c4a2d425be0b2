"""Shared set-up for service tests: a real SQLite file, in-memory inbox and transport."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from mailbot.config import Config
from mailbot.render import Renderer
from mailbot.rounds import Rounds
from mailbot.service import PollReport, Service
from mailbot.store import SqliteStore
from mailbot.testing import (
    FakeInbox,
    FixedClock,
    RecordingTransport,
    make_config,
    make_mail,
    make_reply,
)

BOT = "unmentoring@example.org"
ANNE = "Anne Person <anne@example.org>"
BOB = "Bob Smith <bob@example.net>"


@dataclass
class World:
    config: Config
    store: SqliteStore
    service: Service
    rounds: Rounds
    inbox: FakeInbox
    transport: RecordingTransport
    clock: FixedClock

    def receive(self, *messages: EmailMessage | bytes) -> PollReport:
        """Deliver, poll and send, like one daemon cycle."""
        for msg in messages:
            self.inbox.deliver(msg)
        report = self.service.poll(self.inbox)
        self.service.send(self.transport)
        return report

    def mail_to(self, address: str) -> list[EmailMessage]:
        return self.transport.messages(address)

    def last_to(self, address: str) -> EmailMessage:
        found = self.mail_to(address)
        assert found, f"nothing sent to {address}"
        return found[-1]

    def state(self, address: str) -> str | None:
        member = self.store.get_member(address)
        return member.state.value if member else None


def make_world(tmp_path: Path, **sections: dict[str, object]) -> World:
    config = make_config(tmp_path, **sections)
    store = SqliteStore(config.bot.database)
    store.migrate()
    clock = FixedClock()
    seeds = iter(range(1, 10**6))
    rounds = Rounds(config, store, Renderer(), clock, make_seed=lambda: next(seeds))
    service = Service(config, store, Renderer(), clock, rounds=rounds)
    return World(config, store, service, rounds, FakeInbox(), RecordingTransport(), clock)


def body(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def token_of(msg: EmailMessage) -> str:
    found = re.search(r"confirm ([a-z2-7]{24})", str(msg["Subject"]))
    assert found, msg["Subject"]
    return found.group(1)


def confirm_by_reply(world: World, sender: str, address: str) -> None:
    """Answer the "please confirm" email a held change (forget, or an unverified pause) got,
    read from the outbox: it may still wait there when a test holds the transport down."""
    rows = list(world.store.db.query(
        "select o.raw, o.message_id from outbox o join outbox_recipients r on r.outbox_id = o.id "
        "where r.topic = 'confirm-action' and r.email = ? order by o.id desc limit 1",
        [address]))  # fmt: skip
    assert rows, f"no confirmation was asked of {address}"
    asked = email.message_from_bytes(rows[0]["raw"], policy=email.policy.default)
    assert isinstance(asked, EmailMessage)
    if asked["Message-ID"] is None:  # set as it goes out
        asked["Message-ID"] = rows[0]["message_id"]
    world.receive(make_reply(asked, sender, "yes"))


def forget_by_email(world: World, sender: str, address: str) -> None:
    """`forget` by email always asks first; this sends it and confirms."""
    world.receive(make_mail(sender, "forget"))
    confirm_by_reply(world, sender, address)
