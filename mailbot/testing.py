"""Test doubles shipped with the package: a clock, an inbox and a transport in memory.

They stand in at our own Protocols (``Clock``, ``Inbox``, ``Transport``), never inside a
library, so service tests need no sockets; the real edges are tested against real servers.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from mailbot.config import Config, parse_config
from mailbot.inbox import InboundItem, header_block, is_from
from mailbot.outbox import PermanentFailure, TemporaryFailure
from mailbot.sample_mail import make_mail, make_reply


class FixedClock:
    def __init__(self, moment: datetime = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)):
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@dataclass
class FakeInbox:
    mailbox: str = "fake:INBOX"
    uidvalidity: int = 1
    waiting: dict[int, bytes] = field(default_factory=dict)
    processed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    filed: dict[int, bytes] = field(default_factory=dict)  # processed or set aside, kept
    next_uid: int = 1

    def deliver(self, raw: bytes | EmailMessage) -> int:
        uid = self.next_uid
        self.next_uid += 1
        self.waiting[uid] = raw if isinstance(raw, bytes) else raw.as_bytes()
        return uid

    def count(self) -> int:
        return len(self.waiting)

    def batches(self, size: int, max_bytes: int) -> Iterator[list[InboundItem]]:
        uids = sorted(self.waiting)
        for start in range(0, len(uids), size):
            yield [
                InboundItem(
                    self.mailbox,
                    self.uidvalidity,
                    str(u),
                    self.waiting[u] if len(self.waiting[u]) <= max_bytes else b"",
                    len(self.waiting[u]),
                    b"" if len(self.waiting[u]) <= max_bytes else header_block(self.waiting[u]),
                )
                for u in uids[start : start + size]
                if u in self.waiting
            ]

    def done(self, items: list[InboundItem]) -> None:
        for item in items:
            self.filed[int(item.uid)] = self.waiting.pop(int(item.uid), b"")
            self.processed.append(int(item.uid))

    def set_aside(self, items: list[InboundItem]) -> None:
        for item in items:
            self.filed[int(item.uid)] = self.waiting.pop(int(item.uid), b"")
            self.failed.append(int(item.uid))

    def erase(self, address: str) -> int:
        gone = [uid for uid, raw in self.filed.items() if is_from(header_block(raw), address)]
        for uid in gone:
            del self.filed[uid]
        return len(gone)

    def close(self) -> None:
        pass


class RecordingConnection:
    def __init__(self, transport: RecordingTransport):
        self.transport = transport

    def send(self, mail_from: str, recipients: tuple[str, ...], raw: bytes) -> dict[str, str]:
        if self.transport.fail_with is not None:
            raise self.transport.fail_with
        refused = {r: self.transport.refuse[r] for r in recipients if r in self.transport.refuse}
        if refused and len(refused) == len(recipients):  # as smtplib: nobody took it
            reason = "; ".join(f"{r}: {e}" for r, e in refused.items())
            if all(e.startswith("5") for e in refused.values()):
                raise PermanentFailure(reason, refused)
            raise TemporaryFailure(reason)
        self.transport.sent.append((mail_from, tuple(r for r in recipients if r not in refused),
                                    raw))  # fmt: skip
        return refused


class RecordingTransport:
    """Keeps what was sent; set ``down`` to refuse connections, ``fail_with`` per message."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[str, ...], bytes]] = []
        self.down = False
        self.fail_with: Exception | None = None
        self.refuse: dict[str, str] = {}  # recipient -> "550 5.1.1 no such user"

    @contextmanager
    def connect(self) -> Iterator[RecordingConnection]:
        if self.down:
            raise TemporaryFailure("connection refused (test transport is down)")
        yield RecordingConnection(self)

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        found = [
            email.message_from_bytes(raw, policy=email.policy.default)
            for _, rcpts, raw in self.sent
            if to is None or to in rcpts
        ]
        return [m for m in found if isinstance(m, EmailMessage)]


def make_config(directory: Path, **sections: dict[str, object]) -> Config:
    """A valid local-mode config in ``directory``; sections override its tables."""
    data: dict[str, dict[str, object]] = {
        "bot": {
            "address": "unmentoring@example.org",
            "name": "UnMentoring",
            "database": "mailbot.db",
            "admins": ["organiser@example.org"],
        },
        "local": {"maildir": "mail", "smtp_port": 0},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return parse_config(data, directory / "mailbot.toml", {})


__all__ = ["FakeInbox", "FixedClock", "RecordingTransport", "make_config", "make_mail",
           "make_reply"]  # fmt: skip
