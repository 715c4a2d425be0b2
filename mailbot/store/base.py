"""The store's foundation: the connection, transactions, settings and row helpers."""

from __future__ import annotations

import hashlib
import itertools
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
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
    body_id: int | None = None  # `raw` is only the header lines; the rest is this shared body


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
    body_id: int | None = None  # the shared body that follows `raw` (see `OutgoingMail`)


class StoreBase:
    def __init__(self, path: Path):
        self.path = path
        self._secret: bytes | None = None
        try:
            # Autocommit outside `atomic()`: no transaction is ever opened behind our back.
            conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc
        self.db = sqlite_utils.Database(conn)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            # A commit survives the process being killed at once, and reaches the disk at the
            # next `make_durable` (or checkpoint): one fsync a batch instead of one a message.
            self.db.execute("PRAGMA synchronous=NORMAL")
            # The write-ahead log shrinks back to 16 MiB after each checkpoint, instead of
            # keeping the size of the biggest job (a round of 100,000: hundreds of MB).
            self.db.execute("PRAGMA journal_size_limit=16777216")
            self.db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a usable SQLite database: {exc}") from exc

    def close(self) -> None:
        self.db.conn.close()

    def migrate(self) -> list[str]:
        if not self.db.conn.execute("select count(*) from sqlite_master").fetchone()[0]:
            # A new database hands the pages sent mail frees back to the disk
            # (`compact`); it can only be chosen before the first table exists.
            self.db.conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            self.db.conn.execute("VACUUM")  # the WAL header is written already: apply it
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

    def make_durable(self) -> None:
        """Everything committed so far survives a power cut, not only a killed process.

        Called before anything outside the database acts on those commits (an IMAP move, a
        batch of sends): one commit at ``synchronous=FULL`` syncs the whole write-ahead log,
        the NORMAL commits before it included.
        """
        conn = self.db.conn
        conn.execute("PRAGMA synchronous=FULL")
        try:
            with self.atomic():
                conn.execute("insert or replace into settings (key, value) values "
                             "('durable_at', datetime('now'))")  # fmt: skip
        finally:
            conn.execute("PRAGMA synchronous=NORMAL")

    # Plain SQL on the connection: sqlite-utils wraps each query in a SAVEPOINT and looks up
    # the schema before each insert, which was two thirds of the statements a poll ran.

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Rows as dicts; the statement runs now, the rows are read as iterated."""
        cursor = self.db.conn.execute(sql, params)
        names = [d[0] for d in cursor.description or ()]
        return (dict(zip(names, row, strict=True)) for row in cursor)

    def insert(self, table: str, record: dict[str, Any], *, replace: bool = False,
               unless: str = "") -> int:  # fmt: skip
        """One row into a table named in our code (never in input); its rowid, or 0 when a
        row with the same ``unless`` (a unique column) is there already."""
        verb = "insert or replace" if replace else "insert"
        columns = ", ".join(f'"{c}"' for c in record)
        marks = ", ".join("?" * len(record))
        sql = f'{verb} into "{table}" ({columns}) values ({marks})'
        if unless:
            sql += f' on conflict("{unless}") do nothing'
        cursor = self.db.conn.execute(sql, list(record.values()))
        return int(cursor.lastrowid or 0) if cursor.rowcount else 0

    def insert_many(self, table: str, records: Iterable[dict[str, Any]]) -> None:
        """Rows with the same columns, in one statement run many times."""
        rows = iter(records)
        first = next(rows, None)
        if first is None:
            return
        columns = ", ".join(f'"{c}"' for c in first)
        marks = ", ".join("?" * len(first))
        self.db.conn.executemany(
            f'insert into "{table}" ({columns}) values ({marks})',
            (list(r.values()) for r in itertools.chain([first], rows)),
        )

    def compact(self) -> None:
        """Give free pages back to the disk (sent mail's text is deleted as it goes): a no-op
        for a database made before `auto_vacuum` was set, which keeps and reuses them."""
        if not self.db.conn.in_transaction:  # executescript would commit it
            # Run to the end (sqlite3_exec): `execute` takes one step, which frees one page.
            self.db.conn.executescript("PRAGMA incremental_vacuum;")

    def setting(self, key: str) -> str | None:
        rows = list(self.query("select value from settings where key = ?", [key]))
        return str(rows[0]["value"]) if rows else None

    def set_setting(self, key: str, value: str) -> None:
        self.insert("settings", {"key": key, "value": value}, replace=True)
