"""Mail in and out: inbound records and failures, the outbox, and the limits it counts."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailbot.store.base import (
    OutgoingMail,
    QueuedMail,
    StoreBase,
    stamp,
)

# Mail no limit ever counts (`mail_count` asks for replies, confirmations, help and alerts):
# a round, its follow-ups and a digest leave no limit mark for each of 100,000 people.
UNCOUNTED = frozenset({"intro", "followup", "digest"})


@dataclass(frozen=True)
class OutboxRow:
    """An email in the outbox, as bounces and rebuilt digests need it."""

    id: int
    kind: str
    recipients: tuple[str, ...]
    message_id: str


@dataclass(frozen=True)
class QueuedIntro:
    """An intro (or a deferred copy of one) not yet handed to SMTP, with its group."""

    outbox_id: int
    key: str
    copy_of: int | None  # set for a copy to one recipient the server deferred
    recipients: tuple[str, ...]
    message_id: str
    group_id: int
    first_mover: str
    slot: str
    round_number: int


def _outbox(row: dict[str, Any]) -> OutboxRow:
    return OutboxRow(int(row["id"]), row["kind"], tuple(json.loads(row["recipients"])),
                     row["message_id"])  # fmt: skip


def _intros(rows: Iterable[dict[str, Any]]) -> list[QueuedIntro]:
    return [QueuedIntro(int(r["outbox_id"]), r["key"], r["copy_of"],
                        tuple(json.loads(r["recipients"])), r["message_id"], int(r["group_id"]),
                        r["first_mover"] or "", r["slot"], int(r["round_number"]))
            for r in rows]  # fmt: skip


class MailQueries(StoreBase):
    def inbound_outcome(self, mailbox: str, uidvalidity: int, uid: str) -> str | None:
        """The recorded outcome of a processed message, or None if it was never processed."""
        rows = list(
            self.query(
                "select outcome from inbound where mailbox = ? and uidvalidity = ? and uid = ?",
                [mailbox, uidvalidity, uid],
            )
        )
        return str(rows[0]["outcome"]) if rows else None

    def message_id_seen(self, message_id: str) -> bool:
        return bool(message_id) and bool(
            list(self.query("select 1 from inbound where message_id = ? limit 1", [message_id]))
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
        content_hash: str = "",
    ) -> None:
        self.insert(
            "inbound",
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
                "content_hash": content_hash or None,
            },
        )

    def content_seen(self, content_hash: str) -> bool:
        return bool(
            list(self.query("select 1 from inbound where content_hash = ? limit 1",
                               [content_hash]))
        )  # fmt: skip

    def failure_count(self, mailbox: str, uidvalidity: int, uid: str) -> int:
        row = next(
            self.query(
                "select count(*) as n from failures where mailbox = ? and uidvalidity = ? "
                "and uid = ?",
                [mailbox, uidvalidity, uid],
            )
        )
        return int(row["n"])

    def record_failure(
        self, mailbox: str, uidvalidity: int, uid: str, message_id: str, reason: str, now: datetime
    ) -> None:
        self.insert(
            "failures",
            {
                "mailbox": mailbox,
                "uidvalidity": uidvalidity,
                "uid": uid,
                "message_id": message_id,
                "reason": reason,
                "at": stamp(now),
            },
        )

    # The batch being handled: (mailbox, UIDVALIDITY, UID) of each message in it.

    def in_hand(self) -> list[tuple[str, int, str]]:
        return [(m, int(v), str(u)) for m, v, u in json.loads(self.setting("poll_in_hand") or "[]")]

    def set_in_hand(self, keys: list[tuple[str, int, str]]) -> None:
        self.set_setting("poll_in_hand", json.dumps([list(k) for k in keys]))

    def enqueue(self, mail: OutgoingMail, now: datetime) -> bool:
        """Queue a message once per key; False when that key was queued before."""
        outbox_id = self.insert(
            "outbox",
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
                "return_token": mail.return_token or None,
                "about": mail.about or None,
                "digest_id": mail.digest_id,
                "copy_of": mail.copy_of,
                "body_id": mail.body_id,
            },
            unless="key",
        )
        if not outbox_id:
            return False
        self.insert_many("outbox_recipients", (
            {"outbox_id": outbox_id, "email": r, "topic": mail.topic, "created_at": stamp(now)}
            for r in mail.recipients))  # fmt: skip
        if not mail.reply and mail.topic in UNCOUNTED:
            return True
        self.insert_many("limit_marks", (
            {"key": self._limit_key(r), "topic": mail.topic, "at": stamp(now),
             "reply": int(mail.reply)}
            for r in mail.recipients))  # fmt: skip
        return True

    def _limit_key(self, email: str) -> str:
        """A keyed hash of an address: it counts mail, and says no more about whom to."""
        if self._secret is None:
            self._secret = (self.setting("limit_secret") or "").encode()
        return hmac.new(self._secret, email.lower().encode(), hashlib.sha256).hexdigest()

    def topic_count(self, topic: str, since: datetime) -> int:
        """Replies of one topic queued to anyone since then."""
        rows = self.query("select count(*) as n from limit_marks where topic = ? and at >= ? "
                             "and reply = 1", [topic, stamp(since)])  # fmt: skip
        return int(next(rows)["n"])

    def prune_limit_marks(self, before: datetime) -> None:
        self.db.execute("delete from limit_marks where at < ?", [stamp(before)])

    def mail_count(self, email: str, since: datetime, topics: tuple[str, ...] = (),
                   replies: bool = False) -> int:  # fmt: skip
        """Messages queued for ``email`` since then (of these topics, if given; only answers
        to their own mail with `replies`); counted by the keyed hash, so a `forget` in
        between does not reset the count."""
        sql = "select count(*) as n from limit_marks where key = ? and at >= ?"
        if replies:
            sql += " and reply = 1"
        params: list[object] = [self._limit_key(email), stamp(since)]
        if topics:
            sql += f" and topic in ({','.join('?' * len(topics))})"
            params.extend(topics)
        return int(next(self.query(sql, params))["n"])

    def due_mail(self, now: datetime, limit: int) -> list[QueuedMail]:
        rows = self.query(
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
                r["body_id"],
            )
            for r in rows
        ]

    def mark_sent(self, mail_id: int, now: datetime, refused: str = "") -> None:
        # Once delivered the text is not needed, and it holds codes and phone numbers: the
        # outbox keeps what went to whom and when, not what it said.
        self.db.execute(
            "update outbox set status = 'sent', sent_at = ?, last_error = ?, raw = x'' "
            "where id = ?",
            [stamp(now), refused or None, mail_id],
        )

    def queued_intros_for(self, email: str) -> list[QueuedIntro]:
        """Intros to ``email`` not yet handed to SMTP, with their group."""
        return _intros(
            self.query(
                "select o.id as outbox_id, o.key, o.copy_of, o.recipients, o.message_id, "
                "g.id as group_id, g.first_mover, "
                "r.slot, r.number as round_number from outbox o "
                "join outbox_recipients x on x.outbox_id = o.id "
                "join round_groups g on g.intro_message_id = o.message_id "
                "join rounds r on r.id = g.round_id "
                "where o.kind = 'intro' and o.status = 'queued' and x.email = ?",
                [email],
            )
        )

    def queued_copies_naming(self, email: str) -> list[QueuedIntro]:
        """Deferred copies of an intro, for someone else, of a group ``email`` was in."""
        return _intros(
            self.query(
                "select o.id as outbox_id, o.key, o.copy_of, o.recipients, o.message_id, "
                "g.id as group_id, g.first_mover, r.slot, r.number as round_number from outbox o "
                "join round_groups g on g.intro_message_id = o.message_id "
                "join rounds r on r.id = g.round_id "
                "where o.kind = 'intro' and o.status = 'queued' and o.copy_of is not null "
                "and exists (select 1 from group_members m where m.group_id = g.id "
                "and m.email = ?) and not instr(o.recipients, ?)",
                [email, json.dumps(email)],
            )
        )

    def cancel_mail(self, mail_id: int) -> None:
        self.db.execute("update outbox set status = 'cancelled', raw = x'' where id = ?", [mail_id])

    def requeue_for(self, mail_id: int, recipient: str, now: datetime) -> bool:
        """A copy of a sent message for one recipient the server deferred (4xx)."""
        row = next(self.query("select * from outbox where id = ?", [mail_id]))
        copy = OutgoingMail(
            f"{row['key']}:retry:{recipient}",
            row["kind"],
            row["kind"],
            row["mail_from"],
            (recipient,),
            row["message_id"],
            row["raw"],
            copy_of=row.get("copy_of") or mail_id,
            body_id=row.get("body_id"),
        )
        return self.enqueue(copy, now)

    def mark_retry(self, mail_id: int, error: str, next_at: datetime) -> None:
        self.db.execute(
            "update outbox set attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
            "where id = ?",
            [error, stamp(next_at), mail_id],
        )

    def mark_failed(self, mail_id: int, error: str) -> None:
        self.db.execute(
            "update outbox set status = 'failed', attempts = attempts + 1, last_error = ?, "
            "raw = x'' where id = ?",
            [error, mail_id],
        )

    def outbox_rows(self) -> list[dict[str, Any]]:
        """The outbox without bodies: a plain view for inspection (tests, support)."""
        return list(
            self.query(
                "select id, key, kind, recipients, message_id, status, attempts, last_error "
                "from outbox order by id"
            )
        )

    def outbox_by_message_id(self, message_id: str) -> OutboxRow | None:
        rows = list(self.query("select id, kind, recipients, message_id from outbox "
                                  "where message_id = ?", [message_id]))  # fmt: skip
        return _outbox(rows[0]) if rows else None

    def outbox_by_return_token(self, token: str) -> OutboxRow | None:
        rows = list(self.query("select id, kind, recipients, message_id from outbox "
                                  "where return_token = ?", [token]))  # fmt: skip
        return _outbox(rows[0]) if rows else None

    def recipients_sent_since(self, since: datetime) -> int:
        """Recipients of mail handed to SMTP since then: the global hourly cap counts these."""
        row = next(self.query(
            "select coalesce(sum(json_array_length(recipients)), 0) as n from outbox "
            "where sent_at >= ?", [stamp(since)]))  # fmt: skip
        return int(row["n"])

    def queued_digest_mail(self, digest_id: int) -> list[OutboxRow]:
        rows = self.query("select id, kind, recipients, message_id from outbox "
                             "where digest_id = ? and status = 'queued'", [digest_id])  # fmt: skip
        return [_outbox(r) for r in rows]

    def add_body(self, raw: bytes, now: datetime) -> int:
        """A body many queued emails share (a digest's): stored once."""
        return self.insert("bodies", {"raw": raw, "created_at": stamp(now)})

    def body(self, body_id: int) -> bytes:
        rows = list(self.query("select raw from bodies where id = ?", [body_id]))
        return bytes(rows[0]["raw"]) if rows else b""

    def use_body(self, mail_id: int, lines: bytes, body_id: int) -> None:
        """A queued copy now goes as ``lines`` then that shared body (a digest rebuilt)."""
        self.db.execute("update outbox set raw = ?, body_id = ? where id = ?",
                        [lines, body_id, mail_id])  # fmt: skip

    def prune_bodies(self, before: datetime) -> int:
        """Shared bodies made before then that no queued email needs any more (their copies
        went, or were withdrawn); how many were deleted. A body is younger than an hour
        while its digest is still being queued."""
        sql = ("delete from bodies where created_at < ? and not exists (select 1 from outbox "
               "where body_id = bodies.id and status = 'queued')")  # fmt: skip
        return self.db.conn.execute(sql, [stamp(before)]).rowcount
