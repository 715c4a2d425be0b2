"""Pairing rounds: rounds, groups, who met whom, trio seats and first movers."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailbot.store.base import (
    StoreBase,
    stamp,
)


@dataclass(frozen=True)
class RoundRow:
    id: int
    slot: str  # the scheduled moment, or "manual <time>": one round per slot
    number: int
    started_at: datetime
    seed: int
    followed_up: bool  # its follow-ups have gone out


@dataclass(frozen=True)
class GroupRow:
    id: int
    number: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class IntroGroup:
    """A group as its intro needs it."""

    number: int
    first_mover: str
    message_id: str
    members: list[str]


def _round(row: dict[str, Any]) -> RoundRow:
    return RoundRow(int(row["id"]), row["slot"], int(row["number"]),
                    datetime.fromisoformat(row["started_at"]), int(row.get("seed") or 0),
                    bool(row.get("followed_up_at")))  # fmt: skip


class RoundQueries(StoreBase):
    def round_by_slot(self, slot: str) -> RoundRow | None:
        rows = list(self.query("select * from rounds where slot = ?", [slot]))
        return _round(rows[0]) if rows else None

    def latest_round(self) -> RoundRow | None:
        rows = list(self.query("select * from rounds order by number desc limit 1"))
        return _round(rows[0]) if rows else None

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
        return self.insert(
            "rounds",
            {
                "slot": slot,
                "number": number,
                "started_at": stamp(now),
                "seed": seed,
                "cost": cost,
                "candidates": candidates,
                "unmatched": json.dumps(unmatched),
                "followup_at": stamp(followup_at),
            },
        )

    def add_group(
        self,
        round_id: int,
        number: int,
        members: tuple[str, ...],
        trio_seat: str,
        first_mover: str,
        intro_message_id: str,
    ) -> None:
        group_id = self.insert(
            "round_groups",
            {
                "round_id": round_id,
                "number": number,
                "size": len(members),
                "first_mover": first_mover,
                "intro_message_id": intro_message_id,
                "met": None,
            },
        )
        self.insert_many("group_members", (
            {"group_id": group_id, "round_id": round_id, "email": email,
             "trio_seat": int(email == trio_seat)}
            for email in members))  # fmt: skip

    def round_groups(self, round_id: int) -> list[list[str]]:
        rows = self.query(
            "select g.number, m.email from round_groups g join group_members m "
            "on m.group_id = g.id where g.round_id = ? order by g.number, m.rowid",
            [round_id],
        )
        groups: dict[int, list[str]] = {}
        for row in rows:
            groups.setdefault(row["number"], []).append(row["email"])
        return list(groups.values())

    def meetings(self, current_number: int, since: int = 0) -> Iterator[tuple[str, str, int]]:
        """Every pair that has met in rounds after round ``since``, as (a, b, rounds ago;
        1 = last round), streamed group by group: a national scheme's history never sits in
        memory as pairs."""
        rows = self.db.conn.execute(
            "select m.group_id, m.email, r.number from group_members m "
            "join rounds r on r.id = m.round_id where r.number > ? order by m.group_id",
            [since],
        )
        group: list[str] = []
        current, number = None, 0
        for group_id, email, round_number in itertools.chain(rows, [(None, "", 0)]):
            if group_id != current:
                for i, a in enumerate(group):
                    for b in group[i + 1 :]:
                        yield a, b, current_number - number
                group, current, number = [], group_id, round_number
            group.append(email)

    def is_intro_thread(self, message_ids: list[str]) -> bool:
        if not message_ids:
            return False
        marks = ",".join("?" * len(message_ids))
        found = self.query(
            f"select 1 from round_groups where intro_message_id in ({marks}) limit 1",
            message_ids,
        )
        return bool(list(found))

    def first_mover_counts(self) -> dict[str, int]:
        rows = self.query(
            "select first_mover, count(*) as n from round_groups group by first_mover"
        )
        return {r["first_mover"]: int(r["n"]) for r in rows}

    def trio_seats(self) -> dict[str, int]:
        rows = self.query("select email, sum(trio_seat) as n from group_members group by email")
        return {r["email"]: int(r["n"] or 0) for r in rows}

    def round_seed(self, number: int) -> int:
        """The seed of round `number`: the same for a dry run and the real round."""
        secret = (self.setting("round_secret") or "").encode()
        digest = hmac.new(secret, f"round {number}".encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:4], "big")

    def rounds_without_intros(self) -> list[RoundRow]:
        """Rounds whose intros were not all queued (stopped part-way), oldest first."""
        rows = self.query("select * from rounds where intros_queued_at is null order by number")
        return [_round(r) for r in rows]

    def mark_intros_queued(self, round_id: int, now: datetime) -> None:
        self.db.execute("update rounds set intros_queued_at = ? where id = ?",
                        [stamp(now), round_id])  # fmt: skip

    def intro_groups(self, round_id: int, first: int, last: int) -> list[IntroGroup]:
        """The round's groups numbered ``first`` to ``last``, members in their seat order."""
        rows = self.db.conn.execute(
            "select g.number, g.first_mover, g.intro_message_id, m.email from round_groups g "
            "join group_members m on m.group_id = g.id where g.round_id = ? and g.number "
            "between ? and ? order by g.number, m.rowid", [round_id, first, last])  # fmt: skip
        groups: dict[int, IntroGroup] = {}
        for number, first_mover, message_id, email in rows:
            group = groups.setdefault(number, IntroGroup(number, first_mover or "", message_id, []))
            group.members.append(email)
        return list(groups.values())

    def last_group_number(self, round_id: int) -> int:
        row = self.db.conn.execute("select coalesce(max(number), 0) from round_groups "
                                   "where round_id = ?", [round_id]).fetchone()  # fmt: skip
        return int(row[0])

    def group_emails(self, group_id: int) -> list[str]:
        rows = self.query(
            "select email from group_members where group_id = ? order by email", [group_id]
        )
        return [r["email"] for r in rows]

    def leave_group(self, group_id: int, email: str) -> list[str]:
        """Take someone out of a group they were never introduced to; the others remain."""
        self.db.execute(
            "delete from group_members where group_id = ? and email = ?", [group_id, email]
        )
        rows = self.query(
            "select email from group_members where group_id = ? order by email", [group_id]
        )
        rest = [r["email"] for r in rows]
        self.db.execute("update round_groups set size = ? where id = ?", [len(rest), group_id])
        return rest

    def clear_trio_seats(self, group_id: int) -> None:
        self.db.execute("update group_members set trio_seat = 0 where group_id = ?", [group_id])

    def drop_group(self, group_id: int) -> None:
        self.db.execute("delete from group_members where group_id = ?", [group_id])
        self.db.execute("delete from round_groups where id = ?", [group_id])

    def set_group_intro(self, group_id: int, first_mover: str, message_id: str) -> None:
        self.db.execute(
            "update round_groups set first_mover = ?, intro_message_id = ? where id = ?",
            [first_mover, message_id, group_id],
        )

    def rounds_to_follow_up(self, now: datetime) -> list[RoundRow]:
        rows = self.query("select * from rounds where followed_up_at is null and "
                             "followup_at <= ? order by number", [stamp(now)])  # fmt: skip
        return [_round(r) for r in rows]

    def mark_followed_up(self, round_id: int, now: datetime) -> None:
        self.db.execute("update rounds set followed_up_at = ? where id = ?", [stamp(now), round_id])

    def groups_of_round(self, round_id: int) -> list[GroupRow]:
        rows = self.query(
            "select g.id, g.number, m.email from round_groups g join group_members m "
            "on m.group_id = g.id where g.round_id = ? order by g.number, m.rowid",
            [round_id],
        )
        members: dict[tuple[int, int], list[str]] = {}
        for row in rows:
            members.setdefault((row["id"], row["number"]), []).append(row["email"])
        return [GroupRow(gid, number, tuple(emails)) for (gid, number), emails in members.items()]
