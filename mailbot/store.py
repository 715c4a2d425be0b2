"""The SQLite edge: schema migrations and every query mailbot makes, in one place.

Times are stored as ISO 8601 strings in UTC with second precision, so they sort as text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
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


@migrations()
def m002_rounds(db: sqlite_utils.Database) -> None:
    db.table("members").add_column("skip_next", int, not_null_default=0)
    # Follow-ups in a row that got no answer; three pause the member (see rounds.py).
    db.table("members").add_column("missed_followups", int, not_null_default=0)
    db.table("rounds").create(
        {
            "id": int,
            "slot": str,
            "number": int,
            "started_at": str,
            "seed": int,
            "cost": float,
            "candidates": int,
            "unmatched": str,
            "followup_at": str,
        },
        pk="id",
        not_null={"slot", "number"},
    )
    db.table("rounds").create_index(["slot"], unique=True)
    db.table("round_groups").create(
        {
            "id": int,
            "round_id": int,
            "number": int,
            "size": int,
            "first_mover": str,
            "intro_message_id": str,
            "met": int,
        },
        pk="id",
        foreign_keys=[("round_id", "rounds", "id")],
    )
    db.table("round_groups").create_index(["round_id", "number"], unique=True)
    db.table("group_members").create(
        {"group_id": int, "round_id": int, "email": str, "trio_seat": int},
        pk=("group_id", "email"),
        foreign_keys=[("group_id", "round_groups", "id"), ("round_id", "rounds", "id")],
    )
    db.table("group_members").create_index(["email"])
    db.table("group_members").create_index(["round_id"])
    db.table("blocks").create(
        {"email": str, "blocked": str, "created_at": str}, pk=("email", "blocked")
    )
    db.table("settings").create({"key": str, "value": str}, pk="key")


@migrations()
def m003_learnings(db: sqlite_utils.Database) -> None:
    db.table("rounds").add_column("followed_up_at", str)
    db.table("followups").create(
        {"id": int, "round_id": int, "group_id": int, "email": str, "code": str,
         "message_id": str, "sent_at": str, "answered_at": str},
        pk="id", foreign_keys=[("round_id", "rounds", "id"), ("group_id", "round_groups", "id")],
    )  # fmt: skip
    db.table("followups").create_index(["group_id", "email"], unique=True)
    db.table("followups").create_index(["message_id"])
    db.table("followups").create_index(["code"])
    db.table("learnings").create(
        {"id": int, "round_id": int, "group_id": int, "email": str, "text": str, "raw": str,
         "needs_review": int, "reason": str, "visibility": str, "created_at": str,
         "digest_id": int},
        pk="id",
    )  # fmt: skip
    db.table("learnings").create_index(["email"])
    db.table("learnings").create_index(["digest_id"])
    db.table("members").add_column("digest", int, not_null_default=1)  # gets the digest
    db.table("members").add_column("pairing", int, not_null_default=1)  # 0: digest only
    db.table("digests").create(
        {"id": int, "year": int, "issue": int, "created_at": str, "status": str,
         "preview_message_id": str, "items": str, "dropped": str, "decided_at": str,
         "sent_at": str, "recipients": int},
        pk="id",
    )  # fmt: skip


@migrations()
def m004_reliability(db: sqlite_utils.Database) -> None:
    # Dedupe inbound mail that has no Message-ID across a UIDVALIDITY change.
    db.table("inbound").add_column("content_hash", str)
    db.table("inbound").create_index(["content_hash"])
    db.table("failures").create_index(["mailbox", "uidvalidity", "uid"])
    # Set when permanent bounces paused a member; cleared when they write to us again.
    db.table("members").add_column("bounced_at", str)
    db.table("bounces").create(
        {"id": int, "email": str, "day": str, "at": str, "status": str, "diagnostic": str,
         "outbox_id": int, "source": str},
        pk="id",
    )  # fmt: skip
    db.table("bounces").create_index(["email", "day"], unique=True)  # one per address a day
    # Raw mail in IMAP folders still to erase after a `forget` (done after the commit).
    db.table("erasures").create({"email": str, "requested_at": str, "alias": str}, pk="email")
    # Our per-message return path token (VERP): a bounce addressed to it names the message.
    db.table("outbox").add_column("return_token", str)
    db.table("outbox").create_index(["return_token"])
    db.table("outbox").create_index(["sent_at"])
    # Looked up for nearly every reply a person sends (intro threads, follow-up answers).
    db.table("round_groups").create_index(["intro_message_id"])
    db.table("followups").create_index(["email"])


@migrations()
def m005_owner_confirms(db: sqlite_utils.Database) -> None:
    # A change asked for by an unverified sender waits here until the owner replies:
    # {"subject": ..., "lines": [...], "verbs": [...]}, read again and applied then.
    db.table("tokens").add_column("action", str)


@migrations()
def m006_limits_outlive_forget(db: sqlite_utils.Database) -> None:
    # Mail counted against an address's daily limits, by a keyed hash of the address only:
    # `forget` erases the address everywhere else, and the limit still holds for its window.
    db.table("limit_marks").create({"key": str, "topic": str, "at": str})
    db.table("limit_marks").create_index(["key", "at"])
    db.table("limit_marks").create_index(["at"])
    db.table("settings").insert({"key": "limit_secret", "value": secrets.token_hex(32)},
                                replace=True)  # fmt: skip


@migrations()
def m007_reply_marks(db: sqlite_utils.Database) -> None:
    # The daily reply cap counts answers to people's own mail only: intros, follow-ups and
    # digests must not use up the answers to a member's commands.
    db.table("limit_marks").add_column("reply", int, not_null_default=0)


@migrations()
def m008_round_seeds(db: sqlite_utils.Database) -> None:
    # Each round's seed is derived from this and the round's number, so `pair --dry-run`
    # shows the very groups the next round (manual or scheduled) will make.
    db.table("settings").insert({"key": "round_secret", "value": secrets.token_hex(32)},
                                replace=True)  # fmt: skip


@migrations()
def m009_mail_about(db: sqlite_utils.Database) -> None:
    # The person an email is about, besides its recipients (an admin alert about a member):
    # `forget` finds it by this column, never by searching keys for a substring.
    db.table("outbox").add_column("about", str)
    db.table("outbox").create_index(["about"])


@migrations()
def m010_mail_references(db: sqlite_utils.Database) -> None:
    # What an email belongs to, as columns rather than parts of its key read back with LIKE:
    # the digest a copy carries, and the message a per-recipient retry copies.
    db.table("outbox").add_column("digest_id", int)
    db.table("outbox").add_column("copy_of", int)
    db.execute("update outbox set digest_id = cast(substr(key, 8, instr(substr(key, 8), ':') - 1) "
               "as integer) where kind = 'digest' and key like 'digest:%'")  # fmt: skip
    db.execute("update outbox set copy_of = (select min(o.id) from outbox o where o.message_id "
               "= outbox.message_id and o.id < outbox.id) where instr(key, ':retry:')")  # fmt: skip
    db.table("outbox").create_index(["digest_id"])


def replace_address(text: str, email: str, alias: str) -> str:
    """`email` as a whole address in `text` (not inside a longer one) becomes `alias`."""
    pattern = rf"(?<![\w.+'%-]){re.escape(email)}(?![\w.-]*\w)"
    return re.sub(pattern, alias, text, flags=re.IGNORECASE)


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


class SqliteStore:
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
            "skip_next": int(member.skip_next),
            "digest": int(member.digest),
            "pairing": int(member.pairing),
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

    def members_in(self, state: State) -> list[Member]:
        rows = self.db.query("select * from members where state = ? order by email", [state])
        return [_member(r) for r in rows]

    # rounds

    def round_by_slot(self, slot: str) -> dict[str, Any] | None:
        rows = list(self.db.query("select * from rounds where slot = ?", [slot]))
        return rows[0] if rows else None

    def latest_round(self) -> dict[str, Any] | None:
        rows = list(self.db.query("select * from rounds order by number desc limit 1"))
        return rows[0] if rows else None

    def add_round(
        self,
        slot: str,
        number: int,
        seed: int,
        now: datetime,
        cost: float,
        candidates: int,
        unmatched: list[str],
        followup_at: datetime,
    ) -> int:
        """A round; ``unmatched`` got a "no match" email; follow-ups are due at ``followup_at``."""
        table = self.db.table("rounds")
        table.insert(
            {
                "slot": slot,
                "number": number,
                "started_at": stamp(now),
                "seed": seed,
                "cost": cost,
                "candidates": candidates,
                "unmatched": json.dumps(unmatched),
                "followup_at": stamp(followup_at),
            }
        )
        assert table.last_pk is not None
        return int(table.last_pk)

    def add_group(
        self,
        round_id: int,
        number: int,
        members: tuple[str, ...],
        trio_seat: str,
        first_mover: str,
        intro_message_id: str,
    ) -> None:
        groups = self.db.table("round_groups")
        groups.insert(
            {
                "round_id": round_id,
                "number": number,
                "size": len(members),
                "first_mover": first_mover,
                "intro_message_id": intro_message_id,
                "met": None,
            }
        )
        group_id = groups.last_pk
        self.db.table("group_members").insert_all(
            {
                "group_id": group_id,
                "round_id": round_id,
                "email": email,
                "trio_seat": int(email == trio_seat),
            }
            for email in members
        )

    def round_groups(self, round_id: int) -> list[list[str]]:
        rows = self.db.query(
            "select g.number, m.email from round_groups g join group_members m "
            "on m.group_id = g.id where g.round_id = ? order by g.number, m.rowid",
            [round_id],
        )
        groups: dict[int, list[str]] = {}
        for row in rows:
            groups.setdefault(row["number"], []).append(row["email"])
        return list(groups.values())

    def meetings(self, current_number: int) -> dict[frozenset[str], int]:
        """Every pair that has met: how many rounds ago (1 = last round), most recent."""
        met: dict[frozenset[str], int] = {}
        rows = self.db.query(
            "select m.group_id, m.email, r.number from group_members m "
            "join rounds r on r.id = m.round_id order by m.group_id"
        )
        group: list[str] = []
        current = None
        number = 0
        for row in [*rows, {"group_id": None, "email": "", "number": 0}]:
            if row["group_id"] != current:
                _record_meetings(met, group, current_number - number)
                group, current, number = [], row["group_id"], row["number"]
            group.append(row["email"])
        return met

    def unresponsive(self, limit: int) -> list[Member]:
        rows = self.db.query(
            "select * from members where state = 'active' and missed_followups >= ? order by email",
            [limit],
        )
        return [_member(r) for r in rows]

    def clear_skip_next(self) -> None:
        self.db.execute("update members set skip_next = 0 where skip_next != 0")

    def reset_missed_followups(self, email: str) -> None:
        self.db.execute("update members set missed_followups = 0 where email = ?", [email])

    def is_intro_thread(self, message_ids: list[str]) -> bool:
        if not message_ids:
            return False
        marks = ",".join("?" * len(message_ids))
        found = self.db.query(
            f"select 1 from round_groups where intro_message_id in ({marks}) limit 1",
            message_ids,
        )
        return bool(list(found))

    # follow-ups and learnings

    def rounds_to_follow_up(self, now: datetime) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "select * from rounds where followed_up_at is null and followup_at <= ? "
                "order by number",
                [stamp(now)],
            )
        )

    def mark_followed_up(self, round_id: int, now: datetime) -> None:
        self.db.execute("update rounds set followed_up_at = ? where id = ?", [stamp(now), round_id])

    def groups_of_round(self, round_id: int) -> list[dict[str, Any]]:
        rows = self.db.query(
            "select g.id, g.number, m.email from round_groups g join group_members m "
            "on m.group_id = g.id where g.round_id = ? order by g.number, m.rowid",
            [round_id],
        )
        groups: dict[int, dict[str, Any]] = {}
        for row in rows:
            group = groups.setdefault(row["id"], {"id": row["id"], "number": row["number"],
                                                  "members": []})  # fmt: skip
            group["members"].append(row["email"])
        return list(groups.values())

    def add_followup(self, round_id: int, group_id: int, email: str, code: str,
                     message_id: str, now: datetime) -> None:  # fmt: skip
        self.db.table("followups").insert(
            {"round_id": round_id, "group_id": group_id, "email": email, "code": code,
             "message_id": message_id, "sent_at": stamp(now), "answered_at": None}
        )  # fmt: skip
        self.db.execute(
            "update members set missed_followups = missed_followups + 1 where email = ?",
            [email],
        )

    def followup_for(self, sender: str, message_ids: list[str], code: str) -> dict[str, Any] | None:
        """The follow-up a message answers: by Message-ID, else by the code in the subject."""
        marks = ",".join("?" * len(message_ids)) or "''"
        rows = list(
            self.db.query(
                f"select * from followups where email = ? and (message_id in ({marks}) "
                "or code = ?) order by id desc limit 1",
                [sender, *message_ids, code or "-"],
            )
        )
        if rows:
            return rows[0]
        # A reply to the group's intro, once its follow-up went out, counts too.
        rows = list(
            self.db.query(
                f"select f.* from followups f join round_groups g on g.id = f.group_id "
                f"where f.email = ? and g.intro_message_id in ({marks}) order by f.id desc "
                "limit 1",
                [sender, *message_ids],
            )
        )
        return rows[0] if rows else None

    def latest_unpublished_learning(self, email: str) -> dict[str, Any] | None:
        rows = list(self.db.query(
            "select * from learnings where email = ? and digest_id is null order by id desc "
            "limit 1", [email]))  # fmt: skip
        return rows[0] if rows else None

    def release_learning(self, learning_id: int, text: str | None) -> bool:
        """An organiser read a flagged learning: publish it (with their text, if given)."""
        sql = "select * from learnings where id = ? and digest_id is null"
        rows = list(self.db.query(sql, [learning_id]))
        if not rows:
            return False
        body = text if text is not None else (rows[0]["text"] or rows[0]["raw"] or "")
        self.db.execute("update learnings set needs_review = 0, reason = '', text = ? "
                        "where id = ?", [body.strip(), learning_id])  # fmt: skip
        return True

    def hold_learning(self, learning_id: int, reason: str) -> None:
        """Keep a learning out of the digest until an organiser has read it."""
        self.db.execute("update learnings set needs_review = 1, reason = ? where id = ?",
                        [reason, learning_id])  # fmt: skip

    def set_visibility(self, learning_id: int, visibility: str) -> None:
        self.db.execute("update learnings set visibility = ? where id = ?",
                        [visibility, learning_id])  # fmt: skip

    def answer_followup(self, followup: dict[str, Any], met: bool | None, now: datetime) -> None:
        self.db.execute(
            "update followups set answered_at = coalesce(answered_at, ?) where id = ?",
            [stamp(now), followup["id"]],
        )
        self.reset_missed_followups(followup["email"])
        if met is not None:  # the group met if anyone in it says so
            self.db.execute(
                "update round_groups set met = max(coalesce(met, 0), ?) where id = ?",
                [int(met), followup["group_id"]],
            )

    def add_learning(self, followup: dict[str, Any], text: str, raw: str, needs_review: bool,
                     reason: str, visibility: str, now: datetime) -> int:  # fmt: skip
        table = self.db.table("learnings")
        table.insert(
            {"round_id": followup["round_id"], "group_id": followup["group_id"],
             "email": followup["email"], "text": text, "raw": raw,
             "needs_review": int(needs_review), "reason": reason, "visibility": visibility,
             "created_at": stamp(now), "digest_id": None}
        )  # fmt: skip
        assert table.last_pk is not None
        return int(table.last_pk)

    def learnings(self) -> list[dict[str, Any]]:
        return list(self.db.query("select * from learnings order by id"))

    # digests

    def unpublished_learnings(self) -> list[dict[str, Any]]:
        return self._learnings_for_digest("l.digest_id is null", [])

    def learnings_of_digest(self, digest_id: int) -> list[dict[str, Any]]:
        return self._learnings_for_digest("l.digest_id = ?", [digest_id])

    def _learnings_for_digest(self, where: str, params: list[Any]) -> list[dict[str, Any]]:
        """Learnings with what a digest shows beside them: round number, name, organisation."""
        return list(
            self.db.query(
                "select l.*, r.number as round_number, m.name as name, m.org as org "
                "from learnings l join rounds r on r.id = l.round_id "
                f"left join members m on m.email = l.email where {where} order by l.id",
                params,
            )
        )

    def digests_to_redo(self, email: str) -> list[int]:
        """Digests still being sent (queued copies left) that carry a learning of ``email``."""
        rows = self.db.query(
            "select distinct l.digest_id from learnings l where l.email = ? and exists "
            "(select 1 from outbox o where o.digest_id = l.digest_id and o.status = 'queued')",
            [email],
        )
        return [int(r["digest_id"]) for r in rows]

    def queued_digest_mail(self, digest_id: int) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "select id, recipients, message_id from outbox where digest_id = ? "
                "and status = 'queued'",
                [digest_id],
            )
        )

    def replace_raw(self, mail_id: int, raw: bytes) -> None:
        self.db.execute("update outbox set raw = ? where id = ?", [raw, mail_id])

    def round_stats(self, since: str, last: int = 0) -> list[dict[str, Any]]:
        """Groups formed and met per round whose follow-ups went out after ``since``
        (the rounds a digest reports on), or the ``last`` such rounds whatever their date."""
        where = "r.followed_up_at is not null" + ("" if last else " and r.followed_up_at > ?")
        rows = self.db.query(
            "select r.number, count(g.id) as groups, coalesce(sum(g.met = 1), 0) as met "
            f"from rounds r join round_groups g on g.round_id = r.id where {where} "
            "group by r.id order by r.number desc" + (f" limit {int(last)}" if last else ""),
            [] if last else [since],
        )
        return sorted(rows, key=lambda r: r["number"])

    def new_member_count(self, since: str) -> int:
        row = next(
            self.db.query(
                "select count(*) as n from members where confirmed_at > ? and pairing = 1 "
                "and state != 'left'",
                [since],
            )
        )
        return int(row["n"])

    def digest_recipients(self) -> list[Member]:
        rows = self.db.query(
            "select * from members where state in ('active', 'paused') and digest = 1 "
            "and bounced_at is null order by email"
        )
        return [_member(r) for r in rows]

    def digests(self) -> list[dict[str, Any]]:
        return list(self.db.query("select * from digests order by id"))

    def add_digest(self, year: int, issue: int, status: str, preview_message_id: str,
                   items: list[int], now: datetime) -> int:  # fmt: skip
        """``items``: the learning ids in the order they are numbered in the preview."""
        table = self.db.table("digests")
        table.insert({"year": year, "issue": issue, "created_at": stamp(now), "status": status,
                      "preview_message_id": preview_message_id, "items": json.dumps(items),
                      "dropped": "[]", "decided_at": None, "sent_at": None,
                      "recipients": 0})  # fmt: skip
        assert table.last_pk is not None
        return int(table.last_pk)

    def update_digest(self, digest_id: int, **values: Any) -> None:
        self.db.table("digests").update(digest_id, values)

    def digest_by_preview(self, message_ids: list[str]) -> dict[str, Any] | None:
        if not message_ids:
            return None
        marks = ",".join("?" * len(message_ids))
        rows = list(
            self.db.query(
                f"select * from digests where preview_message_id in ({marks})", message_ids
            )
        )
        return rows[0] if rows else None

    def publish_learnings(self, ids: list[int], digest_id: int) -> None:
        if ids:
            marks = ",".join("?" * len(ids))
            self.db.execute(
                f"update learnings set digest_id = ? where id in ({marks})", [digest_id, *ids]
            )

    def forget(self, email: str, now: datetime) -> None:
        """Erase a person: profile, learnings, codes, bounces, their log lines, and every copy
        of mail to or from them we still hold. Where their address is part of history other
        people share (groups, so nobody meets a stranger twice; outbox keys, so no event is
        mailed twice) it becomes a random alias. What is left (the goodbye still to send, the
        filed mail in the IMAP folders) goes in ``scrub`` once that mail is out."""
        alias = "forgotten-" + secrets.token_hex(8)
        for table in ("learnings", "tokens", "blocks", "members", "followups", "bounces",
                      "events"):  # fmt: skip
            self.db.execute(f"delete from {table} where email = ?", [email])
        self.db.execute("delete from blocks where blocked = ?", [email])
        self.db.execute("update inbound set sender = '' where sender = ?", [email])
        self.db.execute("update group_members set email = ? where email = ?", [alias, email])
        self.db.execute("update round_groups set first_mover = ? where first_mover = ?",
                        [alias, email])  # fmt: skip
        self.db.execute("update rounds set unmatched = replace(unmatched, ?, ?) "
                        "where instr(unmatched, ?)",
                        [json.dumps(email), json.dumps(alias), json.dumps(email)])  # fmt: skip
        for row in list(self.db.query("select rowid, reason from failures where instr(reason, ?)",
                                      [email])):  # fmt: skip
            self.db.execute("update failures set reason = ? where rowid = ?",
                            [replace_address(row["reason"], email, alias), row["rowid"]])
        # Mail about them that has not gone yet is moot; what has gone names the alias.
        self.db.execute("update outbox set status = 'cancelled', raw = x'' "
                        "where about = ? and status = 'queued'", [email])  # fmt: skip
        self.db.execute("update outbox set about = ? where about = ?", [alias, email])
        self._rename_in_outbox(email, alias)
        self._scrub_outbox(email, alias, keep_queued=False)
        self.db.table("erasures").upsert({"email": email, "requested_at": stamp(now),
                                          "alias": alias}, pk="email", alter=True)  # fmt: skip

    def _rename_in_outbox(self, email: str, alias: str) -> None:
        """Their address becomes the alias in outbox keys (one ``:``-separated part equal to
        it, so forgetting ann@ never touches joann@'s keys) and in SMTP errors."""
        rows = self.db.query("select id, key, last_error from outbox where instr(key, ?) "
                             "or instr(last_error, ?)", [email, email])  # fmt: skip
        for row in list(rows):
            key = ":".join(alias if part == email else part for part in row["key"].split(":"))
            error = replace_address(row["last_error"] or "", email, alias) or row["last_error"]
            if (key, error) != (row["key"], row["last_error"]):
                self.db.execute("update outbox set key = ?, last_error = ? where id = ?",
                                [key, error, row["id"]])  # fmt: skip

    def _scrub_outbox(self, email: str, alias: str, keep_queued: bool) -> None:
        """Mail to ``email``: queued mail to them alone is cancelled (unless ``keep_queued``:
        the goodbye), queued group mail goes to the others only, sent or failed mail keeps no
        text and names the alias (a list of the same length: a group intro stays a group's)."""
        rows = self.db.query(
            "select o.id, o.status, o.recipients, o.raw from outbox o join outbox_recipients x "
            "on x.outbox_id = o.id where x.email = ?",
            [email],
        )
        for row in list(rows):
            recipients = json.loads(row["recipients"])
            rest = [r for r in recipients if r != email]
            if row["status"] == "queued" and keep_queued:
                continue
            if row["status"] == "queued":
                status, raw, recipients = ("queued", row["raw"], rest) if rest else (
                    "cancelled", b"", [alias])  # fmt: skip
            else:
                status, raw = row["status"], b""
                recipients = [alias if r == email else r for r in recipients]
            self.db.execute(
                "update outbox set status = ?, raw = ?, recipients = ? where id = ?",
                [status, raw, json.dumps(recipients), row["id"]],
            )
            self.db.execute("delete from outbox_recipients where outbox_id = ? and email = ?",
                            [row["id"], email])  # fmt: skip

    def pending_erasures(self) -> list[str]:
        return [r["email"] for r in self.db.query("select email from erasures order by email")]

    def mail_waiting_for(self, email: str) -> bool:
        return bool(list(self.db.query(
            "select 1 from outbox o join outbox_recipients x on x.outbox_id = o.id "
            "where x.email = ? and o.status = 'queued' limit 1", [email])))  # fmt: skip

    def erased(self, email: str) -> None:
        """The last of a forgotten person: the goodbye has gone, their filed mail too."""
        rows = list(self.db.query("select alias from erasures where email = ?", [email]))
        alias = (rows[0].get("alias") if rows else None) or "forgotten-" + secrets.token_hex(8)
        self._scrub_outbox(email, alias, keep_queued=True)
        self.db.execute("delete from erasures where email = ?", [email])

    def export(self, email: str) -> dict[str, Any] | None:
        """Everything we hold about one person, for a subject access request."""
        member = list(self.db.query("select * from members where email = ?", [email]))
        if not member:
            return None
        queries = {
            "events": "select at, event, detail from events where email = ? order by id",
            "groups": "select r.number as round, r.started_at, g.number as group_number, "
            "(select group_concat(o.email, ', ') from group_members o where o.group_id = "
            "gm.group_id and o.email != gm.email) as with_whom, g.met from group_members gm "
            "join round_groups g on g.id = gm.group_id join rounds r on r.id = g.round_id "
            "where gm.email = ? order by r.number",
            "learnings": "select created_at, text, visibility, needs_review, digest_id "
            "from learnings where email = ? order by id",
            "followups": "select sent_at, answered_at from followups where email = ? order by id",
            "blocks": "select blocked, created_at from blocks where email = ?",
            "confirmation_codes": "select created_at, expires_at, used_at from tokens "
            "where email = ? order by created_at",
            "bounces": "select at, status, diagnostic from bounces where email = ? order by id",
            "mail_received": "select processed_at, verbs, outcome from inbound "
            "where sender = ? order by id",
            "mail_sent": "select o.created_at, o.kind, o.status, o.sent_at from outbox o "
            "join outbox_recipients r on r.outbox_id = o.id where r.email = ? order by o.id",
        }
        data: dict[str, Any] = {"member": member[0]}
        for name, sql in queries.items():
            data[name] = list(self.db.query(sql, [email]))
        return data

    # bounces

    def add_bounce(self, email: str, now: datetime, day: str, status: str, diagnostic: str,
                   outbox_id: int | None, source: str) -> bool:  # fmt: skip
        """Count a permanent failure; False when this address already has one today."""
        if list(self.db.query("select 1 from bounces where email = ? and day = ?",
                              [email, day])):  # fmt: skip
            return False
        self.db.table("bounces").insert(
            {"email": email, "day": day, "at": stamp(now), "status": status,
             "diagnostic": diagnostic[:300], "outbox_id": outbox_id, "source": source}
        )  # fmt: skip
        return True

    def bounce_days(self, email: str, since: str) -> int:
        row = next(
            self.db.query(
                "select count(*) as n from bounces where email = ? and day >= ?", [email, since]
            )
        )
        return int(row["n"])

    def clear_bounces(self, email: str) -> None:
        self.db.execute("delete from bounces where email = ?", [email])
        self.db.execute("update members set bounced_at = null where email = ?", [email])

    def mark_bounced(self, email: str, now: datetime) -> None:
        self.db.execute("update members set bounced_at = ? where email = ?", [stamp(now), email])

    def is_bounced(self, email: str) -> bool:
        return bool(
            list(
                self.db.query(
                    "select 1 from members where email = ? and bounced_at is not null", [email]
                )
            )
        )

    def outbox_by_message_id(self, message_id: str) -> dict[str, Any] | None:
        rows = list(self.db.query("select id, kind, recipients from outbox where message_id = ?",
                                  [message_id]))  # fmt: skip
        return rows[0] if rows else None

    def outbox_by_return_token(self, token: str) -> dict[str, Any] | None:
        rows = list(self.db.query(
            "select id, kind, recipients from outbox where return_token = ?", [token]))  # fmt: skip
        return rows[0] if rows else None

    def recipients_sent_since(self, since: datetime) -> int:
        """Recipients of mail handed to SMTP since then: the global hourly cap counts these."""
        row = next(self.db.query(
            "select coalesce(sum(json_array_length(recipients)), 0) as n from outbox "
            "where sent_at >= ?", [stamp(since)]))  # fmt: skip
        return int(row["n"])

    def first_mover_counts(self) -> dict[str, int]:
        rows = self.db.query(
            "select first_mover, count(*) as n from round_groups group by first_mover"
        )
        return {r["first_mover"]: int(r["n"]) for r in rows}

    def trio_seats(self) -> dict[str, int]:
        rows = self.db.query("select email, sum(trio_seat) as n from group_members group by email")
        return {r["email"]: int(r["n"] or 0) for r in rows}

    def blocks(self) -> set[frozenset[str]]:
        return {
            frozenset((r["email"], r["blocked"]))
            for r in self.db.query("select email, blocked from blocks")
        }

    def add_block(self, email: str, blocked: str, now: datetime) -> None:
        self.db.table("blocks").upsert(
            {"email": email, "blocked": blocked, "created_at": stamp(now)},
            pk=("email", "blocked"),
        )

    def remove_block(self, email: str, blocked: str) -> None:
        self.db.execute("delete from blocks where email = ? and blocked = ?", [email, blocked])

    def setting(self, key: str) -> str | None:
        rows = list(self.db.query("select value from settings where key = ?", [key]))
        return str(rows[0]["value"]) if rows else None

    def set_setting(self, key: str, value: str) -> None:
        self.db.table("settings").upsert({"key": key, "value": value}, pk="key")

    # confirmation tokens

    def add_token(
        self, token: str, email: str, message_id: str, now: datetime, expires: datetime,
        action: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        """A confirmation code; with `action`, the held change it confirms (else a join)."""
        self.db.table("tokens").insert(
            {
                "token_hash": hash_token(token),
                "email": email,
                "message_id": message_id,
                "created_at": stamp(now),
                "expires_at": stamp(expires),
                "used_at": None,
                "action": json.dumps(action) if action is not None else None,
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
        content_hash: str = "",
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
                "content_hash": content_hash or None,
            }
        )

    def content_seen(self, content_hash: str) -> bool:
        return bool(
            list(self.db.query("select 1 from inbound where content_hash = ? limit 1",
                               [content_hash]))
        )  # fmt: skip

    def failure_count(self, mailbox: str, uidvalidity: int, uid: str) -> int:
        row = next(
            self.db.query(
                "select count(*) as n from failures where mailbox = ? and uidvalidity = ? "
                "and uid = ?",
                [mailbox, uidvalidity, uid],
            )
        )
        return int(row["n"])

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
                "return_token": mail.return_token or None,
                "about": mail.about or None,
                "digest_id": mail.digest_id,
                "copy_of": mail.copy_of,
            }
        )
        outbox_id = table.last_pk
        self.db.table("outbox_recipients").insert_all(
            {"outbox_id": outbox_id, "email": r, "topic": mail.topic, "created_at": stamp(now)}
            for r in mail.recipients
        )
        self.db.table("limit_marks").insert_all(
            {"key": self._limit_key(r), "topic": mail.topic, "at": stamp(now),
             "reply": int(mail.reply)}
            for r in mail.recipients
        )
        return True

    def _limit_key(self, email: str) -> str:
        """A keyed hash of an address: it counts mail, and says no more about whom to."""
        if self._secret is None:
            self._secret = (self.setting("limit_secret") or "").encode()
        return hmac.new(self._secret, email.lower().encode(), hashlib.sha256).hexdigest()

    def round_seed(self, number: int) -> int:
        """The seed of round `number`: the same for a dry run and the real round."""
        secret = (self.setting("round_secret") or "").encode()
        digest = hmac.new(secret, f"round {number}".encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:4], "big")

    def topic_count(self, topic: str, since: datetime) -> int:
        """Replies of one topic queued to anyone since then."""
        rows = self.db.query("select count(*) as n from limit_marks where topic = ? and at >= ? "
                             "and reply = 1", [topic, stamp(since)])  # fmt: skip
        return int(next(rows)["n"])

    def prune_limit_marks(self, before: datetime) -> None:
        self.db.execute("delete from limit_marks where at < ?", [stamp(before)])

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
        # Once delivered the text is not needed, and it holds codes and phone numbers: the
        # outbox keeps what went to whom and when, not what it said.
        self.db.execute(
            "update outbox set status = 'sent', sent_at = ?, last_error = ?, raw = x'' "
            "where id = ?",
            [stamp(now), refused or None, mail_id],
        )

    def queued_intros_for(self, email: str) -> list[dict[str, Any]]:
        """Intros to ``email`` not yet handed to SMTP, with their group."""
        return list(
            self.db.query(
                "select o.id as outbox_id, o.key, o.copy_of, g.id as group_id, g.number, "
                "g.first_mover, "
                "r.slot, r.number as round_number from outbox o "
                "join outbox_recipients x on x.outbox_id = o.id "
                "join round_groups g on g.intro_message_id = o.message_id "
                "join rounds r on r.id = g.round_id "
                "where o.kind = 'intro' and o.status = 'queued' and x.email = ?",
                [email],
            )
        )

    def queued_copies_naming(self, email: str) -> list[dict[str, Any]]:
        """Deferred copies of an intro, for someone else, of a group ``email`` was in."""
        return list(
            self.db.query(
                "select o.id as outbox_id, o.key, o.recipients, o.message_id, g.id as group_id, "
                "g.first_mover, r.slot, r.number as round_number from outbox o "
                "join round_groups g on g.intro_message_id = o.message_id "
                "join rounds r on r.id = g.round_id "
                "where o.kind = 'intro' and o.status = 'queued' and o.copy_of is not null "
                "and exists (select 1 from group_members m where m.group_id = g.id "
                "and m.email = ?) and not instr(o.recipients, ?)",
                [email, json.dumps(email)],
            )
        )

    def group_emails(self, group_id: int) -> list[str]:
        rows = self.db.query(
            "select email from group_members where group_id = ? order by email", [group_id]
        )
        return [r["email"] for r in rows]

    def cancel_mail(self, mail_id: int) -> None:
        self.db.execute("update outbox set status = 'cancelled', raw = x'' where id = ?", [mail_id])

    def leave_group(self, group_id: int, email: str) -> list[str]:
        """Take someone out of a group they were never introduced to; the others remain."""
        self.db.execute(
            "delete from group_members where group_id = ? and email = ?", [group_id, email]
        )
        rows = self.db.query(
            "select email from group_members where group_id = ? order by email", [group_id]
        )
        rest = [r["email"] for r in rows]
        self.db.execute("update round_groups set size = ? where id = ?", [len(rest), group_id])
        if len(rest) == 2:  # a trio become a pair: nobody sat in a trio after all
            self.db.execute("update group_members set trio_seat = 0 where group_id = ?",
                            [group_id])  # fmt: skip
        return rest

    def drop_group(self, group_id: int) -> None:
        self.db.execute("delete from group_members where group_id = ?", [group_id])
        self.db.execute("delete from round_groups where id = ?", [group_id])

    def set_group_intro(self, group_id: int, first_mover: str, message_id: str) -> None:
        self.db.execute(
            "update round_groups set first_mover = ?, intro_message_id = ? where id = ?",
            [first_mover, message_id, group_id],
        )

    def requeue_for(self, mail_id: int, recipient: str, now: datetime) -> bool:
        """A copy of a sent message for one recipient the server deferred (4xx)."""
        row = self.db.table("outbox").get(mail_id)
        copy = OutgoingMail(
            f"{row['key']}:retry:{recipient}",
            row["kind"],
            row["kind"],
            row["mail_from"],
            (recipient,),
            row["message_id"],
            row["raw"],
            copy_of=row.get("copy_of") or mail_id,
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


def _record_meetings(met: dict[frozenset[str], int], group: list[str], ago: int) -> None:
    for i, a in enumerate(group):
        for b in group[i + 1 :]:
            pair = frozenset((a, b))
            met[pair] = min(ago, met.get(pair, ago))


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
