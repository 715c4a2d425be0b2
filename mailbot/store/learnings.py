"""Follow-ups, learnings and digests: what was asked, answered and published."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from mailbot.core.digest import Learning, RoundStat
from mailbot.core.membership import first_name
from mailbot.store.base import (
    StoreBase,
    stamp,
)


class DigestStatus(StrEnum):
    preview = "preview"  # with the admins, waiting for approve / drop
    sending = "sending"  # unmoderated: being queued for the readers
    sent = "sent"  # queued for every reader
    held = "held"  # no admin answered in time, and on_timeout = "hold"


@dataclass(frozen=True)
class DigestRow:
    """One digest as archived: its numbered list and what the admins dropped, decoded."""

    id: int
    year: int
    issue: int
    created_at: datetime
    status: DigestStatus
    preview_message_id: str
    items: tuple[int, ...]  # learning ids, in the order the preview numbered them
    dropped: frozenset[int]
    decided_at: datetime | None
    sent_at: str | None  # as stored: compared with other stored moments
    recipients: int


def _digest(row: dict[str, Any]) -> DigestRow:
    decided = row.get("decided_at")
    return DigestRow(
        id=int(row["id"]), year=int(row["year"]), issue=int(row["issue"]),
        created_at=datetime.fromisoformat(row["created_at"]), status=DigestStatus(row["status"]),
        preview_message_id=row.get("preview_message_id") or "",
        items=tuple(json.loads(row.get("items") or "[]")),
        dropped=frozenset(json.loads(row.get("dropped") or "[]")),
        decided_at=datetime.fromisoformat(decided) if decided else None,
        sent_at=row.get("sent_at"), recipients=int(row.get("recipients") or 0),
    )  # fmt: skip


@dataclass(frozen=True)
class FollowupRow:
    """One "how did it go?" sent to one member of one group."""

    id: int
    round_id: int
    group_id: int
    email: str


def _followup(row: dict[str, Any]) -> FollowupRow:
    return FollowupRow(int(row["id"]), int(row["round_id"]), int(row["group_id"]), row["email"])


class LearningQueries(StoreBase):
    def reset_missed_followups(self, email: str) -> None:
        self.db.execute("update members set missed_followups = 0 where email = ?", [email])

    def add_followup(self, round_id: int, group_id: int, email: str, code: str,
                     message_id: str, now: datetime) -> None:  # fmt: skip
        self.insert("followups",
            {"round_id": round_id, "group_id": group_id, "email": email, "code": code,
             "message_id": message_id, "sent_at": stamp(now), "answered_at": None}
        )  # fmt: skip

    def asked(self, round_id: int) -> set[tuple[int, str]]:
        """(group id, address) of everyone already sent this round's follow-up."""
        rows = self.db.conn.execute("select group_id, email from followups where round_id = ?",
                                    [round_id])  # fmt: skip
        return {(int(group_id), email) for group_id, email in rows}

    def count_unanswered(self, emails: list[str]) -> None:
        self.db.conn.executemany(
            "update members set missed_followups = missed_followups + 1 where email = ?",
            ([email] for email in emails),
        )

    def followup_for(self, sender: str, message_ids: list[str], code: str) -> FollowupRow | None:
        """The follow-up a message answers: by Message-ID, else by the code in the subject."""
        marks = ",".join("?" * len(message_ids)) or "''"
        rows = list(
            self.query(
                f"select * from followups where email = ? and (message_id in ({marks}) "
                "or code = ?) order by id desc limit 1",
                [sender, *message_ids, code or "-"],
            )
        )
        if rows:
            return _followup(rows[0])
        # A reply to the group's intro, once its follow-up went out, counts too.
        rows = list(
            self.query(
                f"select f.* from followups f join round_groups g on g.id = f.group_id "
                f"where f.email = ? and g.intro_message_id in ({marks}) order by f.id desc "
                "limit 1",
                [sender, *message_ids],
            )
        )
        return _followup(rows[0]) if rows else None

    def latest_unpublished_learning(self, email: str) -> Learning | None:
        found = self._learnings_for_digest("l.email = ? and l.digest_id is null", [email])
        return found[-1] if found else None

    def release_learning(self, learning_id: int, text: str | None) -> bool:
        """An organiser read a flagged learning: publish it (with their text, if given)."""
        sql = "select * from learnings where id = ? and digest_id is null"
        rows = list(self.query(sql, [learning_id]))
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

    def answer_followup(self, followup: FollowupRow, now: datetime) -> None:
        self.db.execute(
            "update followups set answered_at = coalesce(answered_at, ?) where id = ?",
            [stamp(now), followup.id],
        )

    def group_met(self, group_id: int) -> bool | None:
        """What is recorded: True, False, or None (nobody said yet)."""
        met = self.db.table("round_groups").get(group_id).get("met")
        return None if met is None else bool(met)

    def set_group_met(self, group_id: int, met: bool) -> None:
        self.db.execute("update round_groups set met = ? where id = ?", [int(met), group_id])

    def add_learning(self, followup: FollowupRow, text: str, raw: str, needs_review: bool,
                     reason: str, visibility: str, now: datetime) -> int:  # fmt: skip
        table = self.db.table("learnings")
        table.insert(
            {"round_id": followup.round_id, "group_id": followup.group_id,
             "email": followup.email, "text": text, "raw": raw,
             "needs_review": int(needs_review), "reason": reason, "visibility": visibility,
             "created_at": stamp(now), "digest_id": None}
        )  # fmt: skip
        assert table.last_pk is not None
        return int(table.last_pk)

    def learnings(self) -> list[dict[str, Any]]:
        """Every learning as stored: a plain view for inspection (tests, support)."""
        return list(self.query("select * from learnings order by id"))

    def unpublished_learnings(self) -> list[Learning]:
        return self._learnings_for_digest("l.digest_id is null", [])

    def learnings_of_digest(self, digest_id: int) -> list[Learning]:
        return self._learnings_for_digest("l.digest_id = ?", [digest_id])

    def _learnings_for_digest(self, where: str, params: list[Any]) -> list[Learning]:
        """Learnings with what a digest shows beside them: round number, name, organisation."""
        rows = self.query(
            "select l.*, r.number as round_number, m.name as name, m.org as org "
            "from learnings l join rounds r on r.id = l.round_id "
            f"left join members m on m.email = l.email where {where} order by l.id",
            params,
        )
        return [Learning(int(r["id"]), int(r["round_number"]), r["text"] or "", r["visibility"],
                         bool(r["needs_review"]), first_name(r["name"] or ""), r["org"] or "",
                         r["email"], r["reason"] or "", r["raw"] or "")
                for r in rows]  # fmt: skip

    def digests_to_redo(self, email: str) -> list[int]:
        """Digests still being sent (queued copies left) that carry a learning of ``email``."""
        rows = self.query(
            "select distinct l.digest_id from learnings l where l.email = ? and exists "
            "(select 1 from outbox o where o.digest_id = l.digest_id and o.status = 'queued')",
            [email],
        )
        return [int(r["digest_id"]) for r in rows]

    def round_stats(self, since: str, last: int = 0) -> list[RoundStat]:
        """Groups formed and met per round whose follow-ups went out after ``since``
        (the rounds a digest reports on), or the ``last`` such rounds whatever their date."""
        where = "r.followed_up_at is not null" + ("" if last else " and r.followed_up_at > ?")
        rows = self.query(
            "select r.number, count(g.id) as groups, coalesce(sum(g.met = 1), 0) as met "
            f"from rounds r join round_groups g on g.round_id = r.id where {where} "
            "group by r.id order by r.number desc" + (f" limit {int(last)}" if last else ""),
            [] if last else [since],
        )
        return [RoundStat(int(r["number"]), int(r["groups"]), int(r["met"]))
                for r in sorted(rows, key=lambda r: r["number"])]  # fmt: skip

    def new_member_count(self, since: str) -> int:
        row = next(
            self.query(
                "select count(*) as n from members where confirmed_at > ? and pairing = 1 "
                "and state != 'left'",
                [since],
            )
        )
        return int(row["n"])

    def digest_readers(self, after: str = "", limit: int = 1_000) -> list[tuple[str, str, bool]]:
        """(name, address, paired) of the digest's readers after ``after``, in address order:
        a page at a time, so 200,000 readers never sit in memory together."""
        rows = self.db.conn.execute(
            "select name, email, pairing from members where state in ('active', 'paused') "
            "and digest = 1 and bounced_at is null and email > ? order by email limit ?",
            [after, limit])  # fmt: skip
        return [(name or "", email, bool(pairing)) for name, email, pairing in rows]

    def digest_reader_count(self) -> int:
        return int(self.db.conn.execute(
            "select count(*) from members where state in ('active', 'paused') and digest = 1 "
            "and bounced_at is null").fetchone()[0])  # fmt: skip

    def digests(self) -> list[DigestRow]:
        return [_digest(r) for r in self.query("select * from digests order by id")]

    def digest(self, digest_id: int) -> DigestRow:
        return _digest(self.db.table("digests").get(digest_id))

    def add_digest(self, year: int, issue: int, status: DigestStatus, preview_message_id: str,
                   items: list[int], now: datetime) -> int:  # fmt: skip
        """``items``: the learning ids in the order they are numbered in the preview."""
        table = self.db.table("digests")
        table.insert({"year": year, "issue": issue, "created_at": stamp(now),
                      "status": status.value,
                      "preview_message_id": preview_message_id, "items": json.dumps(items),
                      "dropped": "[]", "decided_at": None, "sent_at": None,
                      "recipients": 0})  # fmt: skip
        assert table.last_pk is not None
        return int(table.last_pk)

    def update_digest(self, digest_id: int, *, status: DigestStatus | None = None,
                      dropped: list[int] | None = None,
                      **times: datetime | int) -> None:  # fmt: skip
        """Set what changed: the status, the dropped learning ids, and `decided_at`,
        `sent_at` (moments) or `recipients` (a count)."""
        values: dict[str, Any] = {k: stamp(v) if isinstance(v, datetime) else v
                                  for k, v in times.items()}  # fmt: skip
        if status is not None:
            values["status"] = status.value
        if dropped is not None:
            values["dropped"] = json.dumps(sorted(dropped))
        self.db.table("digests").update(digest_id, values)

    def digest_by_preview(self, message_ids: list[str]) -> DigestRow | None:
        if not message_ids:
            return None
        marks = ",".join("?" * len(message_ids))
        rows = list(
            self.query(f"select * from digests where preview_message_id in ({marks})", message_ids)
        )
        return _digest(rows[0]) if rows else None

    def publish_learnings(self, ids: list[int], digest_id: int) -> None:
        if ids:
            marks = ",".join("?" * len(ids))
            self.db.execute(
                f"update learnings set digest_id = ? where id in ({marks})", [digest_id, *ids]
            )
