"""Members and what belongs to one person: profile, blocks, confirmation codes, bounces."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from mailbot.core.membership import Member, State
from mailbot.store.base import (
    StoreBase,
    _member,
    hash_token,
    stamp,
)


@dataclass(frozen=True)
class HeldChange:
    """A change asked for by an unverified sender, waiting for the owner's reply."""

    subject: str
    lines: tuple[str, ...]
    verbs: tuple[str, ...]


@dataclass(frozen=True)
class TokenRow:
    """A confirmation code as stored: only its hash, never the code."""

    token_hash: str
    email: str
    message_id: str
    expires_at: datetime
    used: bool
    held: HeldChange | None  # set when the code confirms a held change, not a join

    def expired(self, now: datetime) -> bool:
        return self.expires_at < now


def _token(row: dict[str, Any]) -> TokenRow:
    action = json.loads(row["action"]) if row.get("action") else None
    held = (
        None
        if action is None
        else HeldChange(
            action.get("subject", ""),
            tuple(action.get("lines", ())),
            tuple(action.get("verbs", ())),
        )
    )
    return TokenRow(
        row["token_hash"],
        row["email"],
        row.get("message_id") or "",
        datetime.fromisoformat(row["expires_at"]),
        bool(row.get("used_at")),
        held,
    )


class MemberQueries(StoreBase):
    def event(self, email: str, event: str, detail: str, now: datetime) -> None:
        self.insert("events", {"at": stamp(now), "email": email, "event": event, "detail": detail})

    def get_member(self, email: str) -> Member | None:
        rows = list(self.query("select * from members where email = ?", [email]))
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
        columns = ", ".join(f'"{c}" = ?' for c in row)
        changed = self.db.conn.execute(f"update members set {columns} where email = ?",
                                       [*row.values(), member.email]).rowcount  # fmt: skip
        if not changed:
            row.setdefault("created_at", stamp(now))
            self.insert("members", row)

    def members_by_email(self, emails: list[str]) -> dict[str, Member]:
        """The members among ``emails``, by address (500 to a query)."""
        found: dict[str, Member] = {}
        for start in range(0, len(emails), 500):
            part = emails[start : start + 500]
            marks = ",".join("?" * len(part))
            for row in self.query(f"select * from members where email in ({marks})", part):
                found[row["email"]] = _member(row)
        return found

    def members(self) -> Iterator[dict[str, Any]]:
        """Every member's row as stored, read as iterated: what `mailbot members` prints."""
        return self.query("select * from members order by state, email")

    def members_to_resume(self, today: date) -> list[Member]:
        rows = self.query(
            "select * from members where state = 'paused' and paused_until is not null "
            "and paused_until <= ?",
            [today.isoformat()],
        )
        return [_member(r) for r in rows]

    def members_in(self, state: State) -> list[Member]:
        rows = self.query("select * from members where state = ? order by email", [state])
        return [_member(r) for r in rows]

    def unresponsive(self, limit: int) -> list[Member]:
        rows = self.query(
            "select * from members where state = 'active' and missed_followups >= ? order by email",
            [limit],
        )
        return [_member(r) for r in rows]

    def clear_skip_next(self) -> None:
        self.db.execute("update members set skip_next = 0 where skip_next != 0")

    def blocks(self) -> set[frozenset[str]]:
        return {
            frozenset((r["email"], r["blocked"]))
            for r in self.query("select email, blocked from blocks")
        }

    def add_block(self, email: str, blocked: str, now: datetime) -> None:
        self.insert("blocks", {"email": email, "blocked": blocked, "created_at": stamp(now)},
                    replace=True)  # fmt: skip

    def remove_block(self, email: str, blocked: str) -> None:
        self.db.execute("delete from blocks where email = ? and blocked = ?", [email, blocked])

    def add_token(
        self, token: str, email: str, message_id: str, now: datetime, expires: datetime,
        action: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        """A confirmation code; with `action`, the held change it confirms (else a join)."""
        self.insert(
            "tokens",
            {
                "token_hash": hash_token(token),
                "email": email,
                "message_id": message_id,
                "created_at": stamp(now),
                "expires_at": stamp(expires),
                "used_at": None,
                "action": json.dumps(action) if action is not None else None,
            },
        )

    def token_by_code(self, token: str) -> TokenRow | None:
        rows = list(self.query("select * from tokens where token_hash = ?", [hash_token(token)]))
        return _token(rows[0]) if rows else None

    def token_by_message_ids(self, message_ids: list[str]) -> TokenRow | None:
        if not message_ids:
            return None
        marks = ",".join("?" * len(message_ids))
        rows = list(
            self.query(
                f"select * from tokens where message_id in ({marks}) order by created_at desc",
                message_ids,
            )
        )
        return _token(rows[0]) if rows else None

    def use_token(self, token_hash: str, now: datetime) -> None:
        self.db.execute("update tokens set used_at = ? where token_hash = ?",
                        [stamp(now), token_hash])  # fmt: skip

    def add_bounce(self, email: str, now: datetime, day: str, status: str, diagnostic: str,
                   outbox_id: int | None, source: str) -> bool:  # fmt: skip
        """Count a permanent failure; False when this address already has one today."""
        if list(self.query("select 1 from bounces where email = ? and day = ?",
                              [email, day])):  # fmt: skip
            return False
        self.insert("bounces",
            {"email": email, "day": day, "at": stamp(now), "status": status,
             "diagnostic": diagnostic[:300], "outbox_id": outbox_id, "source": source}
        )  # fmt: skip
        return True

    def bounce_days(self, email: str, since: str) -> int:
        row = next(
            self.query(
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
                self.query(
                    "select 1 from members where email = ? and bounced_at is not null", [email]
                )
            )
        )
