"""Count bounces against addresses and pause members whose mail keeps failing.

Only permanent failures count, at most one a day per address, and only those in the last
``bounce_window_days`` (so an address that bounced once last year starts clean). At
``bounce_threshold`` the member is paused for bounces: no intros, no digest, and the admins
are told once. Writing ``resume`` (or ``join``) clears the count.

A bounce report counts only when it names mail we sent to that one person: our per-message
return path (VERP) or the Message-ID of our original inside the report. Anyone can write a fake
bounce naming a member's address; only the recipient of a message knows its Message-ID, so a
forged report can pause nobody but its writer. Reports about group mail (intros) are logged,
not counted, since everyone in the group knows that Message-ID; a dead address still shows in
the follow-ups and digests, which go to one person each, and in our own SMTP server's refusals.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from email.message import EmailMessage

from mailbot.clock import Clock
from mailbot.config import Config
from mailbot.core.bounces import parse_bounce
from mailbot.core.membership import State
from mailbot.mailer import alert_admins
from mailbot.render import Renderer
from mailbot.store import SqliteStore

log = logging.getLogger(__name__)


class Bounces:
    def __init__(self, config: Config, store: SqliteStore, renderer: Renderer, clock: Clock):
        self.config = config
        self.store = store
        self.renderer = renderer
        self.clock = clock

    def handle_report(self, msg: EmailMessage, now: datetime) -> str:
        """Read a bounce report; returns what it meant, for the inbound log."""
        report = parse_bounce(msg, self.config.bot.address)
        row, source = None, ""
        if report.verp:
            row, source = self.store.outbox_by_return_token(report.verp), "return path"
        if row is None and report.original_message_id:
            row = self.store.outbox_by_message_id(report.original_message_id)
            source = "message-id"
        if row is None:
            return "not linked to mail we sent, not counted"
        sent_to = row.recipients
        # Everyone in an intro knows its Message-ID: anyone of them could forge this report.
        if len(sent_to) > 1 or row.kind == "intro":
            return f"for group mail (outbox {row.id}), not counted"
        failed = [r for r in report.recipients if r in sent_to]
        if not failed and len(sent_to) == 1:
            failed = list(sent_to)  # the report names nobody readable; the message had one reader
        if not failed:
            return f"for outbox {row.id}, recipient not identified"
        if not report.permanent:
            return f"temporary ({report.status or 'delayed'}) for {len(failed)}, not counted"
        for address in failed:
            self.record(address, report.status, report.diagnostic, row.id, source, now)
        return f"permanent ({report.status or '5.0.0'}) for {len(failed)}, counted"

    def record(self, address: str, status: str, diagnostic: str, outbox_id: int | None,
               source: str, now: datetime) -> None:  # fmt: skip
        """Count one permanent failure for ``address``; pause its member at the threshold."""
        member = self.store.get_member(address)
        if member is None or member.state == State.left:
            return
        limits = self.config.limits
        today = self.config.local_date(now)
        if not self.store.add_bounce(address, now, today.isoformat(), status, diagnostic,
                                     outbox_id, source):  # fmt: skip
            return
        since = (today - timedelta(days=limits.bounce_window_days - 1)).isoformat()
        days = self.store.bounce_days(address, since)
        log.info("bounce counted for member (%d of %d days)", days, limits.bounce_threshold)
        if days < limits.bounce_threshold or self.store.is_bounced(address):
            return
        if member.state in (State.active, State.paused):
            # Indefinitely: an earlier "pause 1" must not bring a dead address back next round.
            paused = replace(member, state=State.paused, pause_rounds=None, paused_until=None)
            self.store.save_member(paused, now)
        self.store.mark_bounced(address, now)
        self.store.event(address, "bounced", f"paused after {days} days of bounces", now)
        context = {"email": address, "name": member.name, "days": days,
                   "window": limits.bounce_window_days, "status": status,
                   "diagnostic": diagnostic[:200]}  # fmt: skip
        alert_admins(self.config, self.store, self.renderer, f"bounced:{address}:{today}",
                     "admin_bounced", context, now, about=address)  # fmt: skip

    def clear(self, address: str) -> None:
        self.store.clear_bounces(address)
