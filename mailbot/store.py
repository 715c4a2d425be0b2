"""The SQLite edge: schema migrations and every query mailbot makes, in one place.

Times are stored as ISO 8601 strings in UTC with second precision, so they sort as text.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from mailbot.core.membership import Member, State
from mailbot.errors import StoreError

migrations = Migrations("mailbot")


@migrations()
def m001_membership(db: sqlite_utils.Database) -> None:
    db.table("members").create(
        {
            "email": str,
            "state": str,
            "name": str,
            "org": str,
            "phone": str,
            "skype": str,
            "google": str,
            "about": str,
            "pause_rounds": int,
            "paused_until": str,
            "created_at": str,
            "confirmed_at": str,
            "updated_at": str,
            "left_at": str,
        },
        pk="email",
        not_null={"state"},
    )
    db.table("tokens").create(
        {
            "token_hash": str,
            "email": str,
            "message_id": str,
            "created_at": str,
            "expires_at": str,
            "used_at": str,
        },
        pk="token_hash",
    )
    db.table("tokens").create_index(["message_id"])
    db.table("inbound").create(
        {
            "id": int,
            "mailbox": str,
            "uidvalidity": int,
            "uid": str,
            "message_id": str,
            "sender": str,
            "classified": str,
            "verbs": str,
            "outcome": str,
            "processed_at": str,
        },
        pk="id",
    )
    db.table("inbound").create_index(["mailbox", "uidvalidity", "uid"], unique=True)
    db.table("inbound").create_index(["message_id"])
    db.table("outbox").create(
        {
            "id": int,
            "key": str,
            "kind": str,
            "mail_from": str,
            "recipients": str,
            "message_id": str,
            "raw": bytes,
            "created_at": str,
            "status": str,
            "attempts": int,
            "next_attempt_at": str,
            "last_error": str,
            "sent_at": str,
        },
        pk="id",
        not_null={"key", "status"},
        defaults={"attempts": 0},
    )
    db.table("outbox").create_index(["key"], unique=True)
    db.table("outbox").create_index(["status", "next_attempt_at"])
    db.table("outbox").create_index(["message_id"])
    db.table("outbox_recipients").create(
        {"outbox_id": int, "email": str, "topic": str, "created_at": str},
        foreign_keys=[("outbox_id", "outbox", "id")],
    )
    db.table("outbox_recipients").create_index(["email", "created_at"])
    db.table("failures").create(
        {
            "id": int,
            "mailbox": str,
            "uidvalidity": int,
            "uid": str,
            "message_id": str,
            "reason": str,
            "at": str,
        },
        pk="id",
    )
    db.table("events").create(
        {"id": int, "at": str, "email": str, "event": str, "detail": str},
        pk="id",
    )
    db.table("events").create_index(["email"])


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def hash_token(token: str) -> str:
    """Tokens are stored hashed: a leaked database confirms nobody."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class OutgoingMail:
    key: str  # unique per event: a second trigger inserts nothing, so nobody is mailed twice
    kind: str  # the X-Mailbot-Kind header
    topic: str  # finer than kind, for rate limits: "notice/unknown", "confirm", ...
    mail_from: str
    recipients: tuple[str, ...]
    message_id: str
    raw: bytes


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


class SqliteStore:
    def __init__(self, path: Path):
        self.path = path
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

    # schema

    def migrate(self) -> list[str]:
        pending = [m.name for m in migrations.pending(self.db)]
        migrations.apply(self.db)
        return pending

    def require_schema(self) -> None:
        if migrations.pending(self.db):
            raise StoreError(f"database {self.path} needs `mailbot init` first")

    @contextmanager
    def atomic(self) -> Iterator[None]:
        with self.db.atomic():
            yield

    # members

    def get_member(self, email: str) -> Member | None:
        rows = list(self.db.query("select * from members where email = ?", [email]))
        return _member(rows[0]) if rows else None

    def save_member(self, member: Member, now: datetime, **times: datetime) -> None:
        row: dict[str, Any] = {
            "email": member.email,
            "state": member.state.value,
            "name": member.name,
            "org": member.org,
            "phone": member.phone,
            "skype": member.skype,
            "google": member.google,
            "about": member.about,
            "pause_rounds": member.pause_rounds,
            "paused_until": member.paused_until.isoformat() if member.paused_until else None,
            "updated_at": stamp(now),
        }
        row.update({k: stamp(v) for k, v in times.items()})
        if self.get_member(member.email) is None:
            row.setdefault("created_at", stamp(now))
            self.db.table("members").insert(row)
        else:
            self.db.table("members").update(member.email, row)

    def members(self) -> list[dict[str, Any]]:
        return list(self.db.query("select * from members order by state, email"))

    def members_to_resume(self, today: date) -> list[Member]:
        rows = self.db.query(
            "select * from members where state = 'paused' and paused_until is not null "
            "and paused_until <= ?",
            [today.isoformat()],
        )
        return [_member(r) for r in rows]

    # confirmation tokens

    def add_token(
        self, token: str, email: str, message_id: str, now: datetime, expires: datetime
    ) -> None:
        self.db.table("tokens").insert(
            {
                "token_hash": hash_token(token),
                "email": email,
                "message_id": message_id,
                "created_at": stamp(now),
                "expires_at": stamp(expires),
                "used_at": None,
            }
        )

    def token_by_code(self, token: str) -> dict[str, Any] | None:
        rows = list(self.db.query("select * from tokens where token_hash = ?", [hash_token(token)]))
        return rows[0] if rows else None

    def token_by_message_ids(self, message_ids: list[str]) -> dict[str, Any] | None:
        if not message_ids:
            return None
        marks = ",".join("?" * len(message_ids))
        rows = list(
            self.db.query(
                f"select * from tokens where message_id in ({marks}) order by created_at desc",
                message_ids,
            )
        )
        return rows[0] if rows else None

    def use_token(self, token_hash: str, now: datetime) -> None:
        self.db.table("tokens").update(token_hash, {"used_at": stamp(now)})

    # inbound messages

    def inbound_outcome(self, mailbox: str, uidvalidity: int, uid: str) -> str | None:
        """The recorded outcome of a processed message, or None if it was never processed."""
        rows = list(
            self.db.query(
                "select outcome from inbound where mailbox = ? and uidvalidity = ? and uid = ?",
                [mailbox, uidvalidity, uid],
            )
        )
        return str(rows[0]["outcome"]) if rows else None

    def message_id_seen(self, message_id: str) -> bool:
        return bool(message_id) and bool(
            list(self.db.query("select 1 from inbound where message_id = ? limit 1", [message_id]))
        )

    def record_inbound(
        self,
        mailbox: str,
        uidvalidity: int,
        uid: str,
        message_id: str,
        sender: str,
        classified: str,
        verbs: list[str],
        outcome: str,
        now: datetime,
    ) -> None:
        self.db.table("inbound").insert(
            {
                "mailbox": mailbox,
                "uidvalidity": uidvalidity,
                "uid": uid,
                "message_id": message_id,
                "sender": sender,
                "classified": classified,
                "verbs": " ".join(verbs),
                "outcome": outcome,
                "processed_at": stamp(now),
            }
        )

    def record_failure(
        self, mailbox: str, uidvalidity: int, uid: str, message_id: str, reason: str, now: datetime
    ) -> None:
        self.db.table("failures").insert(
            {
                "mailbox": mailbox,
                "uidvalidity": uidvalidity,
                "uid": uid,
                "message_id": message_id,
                "reason": reason,
                "at": stamp(now),
            }
        )

    # outbox

    def enqueue(self, mail: OutgoingMail, now: datetime) -> bool:
        """Queue a message once per key; False when that key was queued before."""
        if list(self.db.query("select 1 from outbox where key = ?", [mail.key])):
            return False
        table = self.db.table("outbox")
        table.insert(
            {
                "key": mail.key,
                "kind": mail.kind,
                "mail_from": mail.mail_from,
                "recipients": json.dumps(list(mail.recipients)),
                "message_id": mail.message_id,
                "raw": mail.raw,
                "created_at": stamp(now),
                "status": "queued",
                "attempts": 0,
                "next_attempt_at": stamp(now),
                "last_error": None,
                "sent_at": None,
            }
        )
        outbox_id = table.last_pk
        self.db.table("outbox_recipients").insert_all(
            {"outbox_id": outbox_id, "email": r, "topic": mail.topic, "created_at": stamp(now)}
            for r in mail.recipients
        )
        return True

    def due_mail(self, now: datetime, limit: int) -> list[QueuedMail]:
        rows = self.db.query(
            "select * from outbox where status = 'queued' and next_attempt_at <= ? "
            "order by id limit ?",
            [stamp(now), limit],
        )
        return [
            QueuedMail(
                r["id"],
                r["key"],
                r["kind"],
                r["mail_from"],
                tuple(json.loads(r["recipients"])),
                r["raw"],
                r["attempts"],
                r["created_at"],
            )
            for r in rows
        ]

    def mark_sent(self, mail_id: int, now: datetime, refused: str = "") -> None:
        # A sent confirmation's text holds its code: keep only the hash (in tokens).
        self.db.execute(
            "update outbox set status = 'sent', sent_at = ?, last_error = ?, "
            "raw = case when kind = 'confirm' then x'' else raw end where id = ?",
            [stamp(now), refused or None, mail_id],
        )

    def mark_retry(self, mail_id: int, error: str, next_at: datetime) -> None:
        self.db.execute(
            "update outbox set attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
            "where id = ?",
            [error, stamp(next_at), mail_id],
        )

    def mark_failed(self, mail_id: int, error: str) -> None:
        self.db.execute(
            "update outbox set status = 'failed', attempts = attempts + 1, last_error = ? "
            "where id = ?",
            [error, mail_id],
        )

    def mail_count(self, email: str, since: datetime, topics: tuple[str, ...] = ()) -> int:
        """Messages queued for ``email`` since then (of these topics, if given)."""
        sql = "select count(*) as n from outbox_recipients where email = ? and created_at >= ?"
        params: list[object] = [email, stamp(since)]
        if topics:
            sql += f" and topic in ({','.join('?' * len(topics))})"
            params.extend(topics)
        return int(next(self.db.query(sql, params))["n"])

    def outbox_rows(self) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "select id, key, kind, recipients, message_id, status, attempts, last_error "
                "from outbox order by id"
            )
        )

    def is_our_message_id(self, message_id: str) -> bool:
        return bool(list(self.db.query("select 1 from outbox where message_id = ?", [message_id])))

    # audit trail

    def event(self, email: str, event: str, detail: str, now: datetime) -> None:
        self.db.table("events").insert(
            {"at": stamp(now), "email": email, "event": event, "detail": detail}
        )


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
    )
