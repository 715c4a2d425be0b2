"""The schema: sqlite-utils migrations, applied in order by `mailbot init`."""

from __future__ import annotations

import secrets

import sqlite_utils
from sqlite_utils.migrations import Migrations

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


@migrations()
def m011_due_mail_in_order(db: sqlite_utils.Database) -> None:
    # The sender takes due mail oldest first, 500 at a time: walking (status, id) stops at
    # 500 instead of sorting every due row (150,000 queued: 27 ms a call, now 5 ms,
    # benchmarks/due_mail.py). The (status, next_attempt_at) index made the
    # planner sort; nothing else used it.
    db.table("outbox").create_index(["status", "id"])
    db.execute("drop index if exists idx_outbox_status_next_attempt_at")


@migrations()
def m012_shared_bodies(db: sqlite_utils.Database) -> None:
    # A digest to 200,000 readers stored one copy each (670 KB, 67 GB in all): its copies
    # now share one body, and each outbox row keeps only the header lines that differ.
    db.table("bodies").create({"id": int, "raw": bytes, "created_at": str}, pk="id")
    db.table("outbox").add_column("body_id", int)
    db.table("outbox").create_index(["body_id"])


@migrations()
def m013_rounds_in_chunks(db: sqlite_utils.Database) -> None:
    # A round's groups commit at once; its intros are queued afterwards in chunks, and a
    # round stopped before all of them were queued is finished by the next run.
    db.table("rounds").add_column("intros_queued_at", str)
    db.execute("update rounds set intros_queued_at = started_at")
    db.table("followups").create_index(["round_id"])  # who was asked: read on each run
