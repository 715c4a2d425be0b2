"""The store's foundation: the connection, transactions, settings and row helpers."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from mailbot.core.membership import Member, State
from mailbot.errors import StoreError
from mailbot.store.schema import migrations


def replace_address(text: str, email: str, alias: str) -> str:
    """`email` as a whole address in `text` (not inside a longer one) becomes `alias`."""
    pattern = rf"(?<![\w.+'%-]){re.escape(email)}(?![\w.-]*\w)"
    return re.sub(pattern, alias, text, flags=re.IGNORECASE)


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def hash_token(token: str) -> str:
    """Tokens are stored hashed: a leaked database confirms nobody."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _member(row: dict[str, Any]) -> Member:
    return Member(
        email=row["email"],
        state=State(row["state"]),
        name=row["name"] or "",
        org=row["org"] or "",
        phone=row["phone"] or "",
        skype=row["skype"] or "",
        google=row["google"] or "",
        about=row["about"] or "",
        pause_rounds=row["pause_rounds"],
        paused_until=date.fromisoformat(row["paused_until"]) if row["paused_until"] else None,
        skip_next=bool(row.get("skip_next")),
        digest=bool(row.get("digest", 1)),
        pairing=bool(row.get("pairing", 1)),
    )


def _record_meetings(met: dict[frozenset[str], int], group: list[str], ago: int) -> None:
    for i, a in enumerate(group):
        for b in group[i + 1 :]:
            pair = frozenset((a, b))
            met[pair] = min(ago, met.get(pair, ago))


@dataclass(frozen=True)
class OutgoingMail:
    key: str  # unique per event: a second trigger inserts nothing, so nobody is mailed twice
    kind: str  # the X-Mailbot-Kind header
    topic: str  # finer than kind, for rate limits: "notice/unknown", "confirm", ...
    mail_from: str
    recipients: tuple[str, ...]
    message_id: str
    raw: bytes
    return_token: str = ""  # in our envelope sender when VERP is on: ties a bounce to this
    reply: bool = False  # an answer to someone's own mail: counts against the reply cap
    about: str = ""  # the person it is about, when not (only) a recipient: admin alerts
    digest_id: int | None = None  # a digest's copy for one reader
    copy_of: int | None = None  # a retry for one deferred recipient of this outbox id


@dataclass(frozen=True)
class QueuedMail:
    id: int
    key: str
    kind: str
    mail_from: str
    recipients: tuple[str, ...]
    raw: bytes
    attempts: int
    created_at: str


class StoreBase:
    def __init__(self, path: Path):
        self.path = path
        self._secret: bytes | None = None
        try:
            conn = sqlite3.connect(str(path), timeout=30)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc
        self.db = sqlite_utils.Database(conn)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a usable SQLite database: {exc}") from exc

    def close(self) -> None:
        self.db.conn.close()

    def migrate(self) -> list[str]:
        pending = [m.name for m in migrations.pending(self.db)]
        migrations.apply(self.db)
        return pending

    def require_schema(self) -> None:
        if migrations.pending(self.db):
            raise StoreError(f"database {self.path} needs `mailbot init` first")

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction; the outermost takes the write lock at once (BEGIN IMMEDIATE).

        A deferred transaction that reads and then writes can fail at once with "database is
        locked" when another process wrote in between; taking the lock first makes a second
        writer (``mailbot pair`` beside the daemon) wait its turn instead.
        """
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():  # nested: a savepoint
                yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def setting(self, key: str) -> str | None:
        rows = list(self.db.query("select value from settings where key = ?", [key]))
        return str(rows[0]["value"]) if rows else None

    def set_setting(self, key: str, value: str) -> None:
        self.db.table("settings").upsert({"key": key, "value": value}, pk="key")

