"""A person's data as a whole: export (subject access) and `forget` (erasure)."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from mailbot.store.base import (
    StoreBase,
    replace_address,
    stamp,
)


class PrivacyQueries(StoreBase):
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
        for row in list(self.query("select rowid, reason from failures where instr(reason, ?)",
                                      [email])):  # fmt: skip
            self.db.execute(
                "update failures set reason = ? where rowid = ?",
                [replace_address(row["reason"], email, alias), row["rowid"]],
            )
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
        rows = self.query("select id, key, last_error from outbox where instr(key, ?) "
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
        rows = self.query(
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
        return [r["email"] for r in self.query("select email from erasures order by email")]

    def mail_waiting_for(self, email: str) -> bool:
        return bool(list(self.query(
            "select 1 from outbox o join outbox_recipients x on x.outbox_id = o.id "
            "where x.email = ? and o.status = 'queued' limit 1", [email])))  # fmt: skip

    def erased(self, email: str) -> None:
        """The last of a forgotten person: the goodbye has gone, their filed mail too."""
        rows = list(self.query("select alias from erasures where email = ?", [email]))
        alias = (rows[0].get("alias") if rows else None) or "forgotten-" + secrets.token_hex(8)
        self._scrub_outbox(email, alias, keep_queued=True)
        self.db.execute("delete from erasures where email = ?", [email])

    def export(self, email: str) -> dict[str, Any] | None:
        """Everything we hold about one person, for a subject access request."""
        member = list(self.query("select * from members where email = ?", [email]))
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
            data[name] = list(self.query(sql, [email]))
        return data
