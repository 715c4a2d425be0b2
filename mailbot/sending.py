"""The outbox runner: connect, send what is due, retry, give up, and record refusals.

It owns the SMTP side of exactly-once: a message is marked sent in its own transaction right
after the server took it (``send.after_smtp``), so a killed process can resend at most the
message in flight. Those commits skip the fsync (``synchronous=NORMAL``); every
``DURABLE_EVERY`` messages, and at the end, one commit syncs them all, so a power cut can
resend at most that many. Recipients refused while the others were taken count as bounces
(5xx) or get a copy of their own to retry (4xx).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mailbot.bounces import Bounces
from mailbot.clock import Clock
from mailbot.config import Config
from mailbot.faults import checkpoint
from mailbot.outbox import ConnectionLost, PermanentFailure, TemporaryFailure, Transport
from mailbot.store import QueuedMail, SqliteStore

log = logging.getLogger("mailbot.service")  # the log lines organisers know, unchanged
DURABLE_EVERY = 20  # messages marked sent between fsyncs: what a power cut may resend
PAGE = 100  # due messages read at a time: a digest's copies are large


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    held: bool = False  # the hourly cap stopped this run; the rest waits in the outbox


class OutboxRunner:
    def __init__(self, config: Config, store: SqliteStore, clock: Clock, bounces: Bounces):
        self.config = config
        self.store = store
        self.clock = clock
        self.bounces = bounces
        self._body: tuple[int | None, bytes] = (None, b"")

    def run(
        self,
        transport: Transport,
        should_stop: Callable[[], bool] = lambda: False,
        limit: int = PAGE,
    ) -> SendReport:
        """Every due message, in chunks, over one connection, within the hourly cap."""
        report = SendReport()
        now = self.clock.now()
        self.store.prune_limit_marks(now - timedelta(days=2))  # the longest window is a day
        due = self.store.due_mail(now, limit)
        budget = self._hourly_budget(now)
        if not due or budget <= 0:
            return report
        self.store.make_durable()  # what others queued is on disk before the server has it
        try:
            self._send_due(transport, due, budget, now, limit, should_stop, report)
        except TemporaryFailure as exc:  # could not connect at all: everything waits
            # No message failed, the server did: none gets a back-off of its own, so all go
            # at the first cycle the server answers again (issue #10). Only age gives up.
            log.warning("SMTP unavailable, %d message(s) stay queued: %s", len(due), exc)
            for mail in due:
                if self._too_old(mail, now):
                    self.store.mark_failed(mail.id, f"gave up retrying: {exc}")
                    report.failed += 1
                else:
                    report.retrying += 1
        finally:
            self._body = (None, b"")
            if report.sent % DURABLE_EVERY:
                self.store.make_durable()
        if report.sent:
            self.store.prune_bodies(now - timedelta(hours=1))
            self.store.compact()
        return report

    def _send_due(self, transport: Transport, due: list[QueuedMail], budget: int,
                  now: datetime, limit: int, should_stop: Callable[[], bool],
                  report: SendReport) -> None:  # fmt: skip
        with transport.connect() as conn:
            while due:  # every due message, in chunks, over one connection
                for mail in due:
                    cap = self.config.limits.sent_per_hour
                    # bigger than a whole hour's cap: it goes alone, once the hour is empty
                    if len(mail.recipients) > budget and budget < cap:
                        log.warning(
                            "hourly cap of %d recipients reached: the rest of the outbox waits",
                            self.config.limits.sent_per_hour,
                        )
                        report.held = True
                        return
                    if should_stop() or not self._send_one(conn, mail, report):
                        return
                    budget -= len(mail.recipients)
                due = self.store.due_mail(now, limit)

    def _too_old(self, mail: QueuedMail, now: datetime) -> bool:
        hours = self.config.smtp.retry_for_hours if self.config.smtp else 96
        return now >= datetime.fromisoformat(mail.created_at) + timedelta(hours=hours)

    def _hourly_budget(self, now: datetime) -> int:
        """Recipients we may still send to this rolling hour. The cap holds mail back rather
        than dropping it, so a flood or a loop slows us down instead of making us a spammer."""
        sent = self.store.recipients_sent_since(now - timedelta(hours=1))
        return self.config.limits.sent_per_hour - sent

    def _send_one(self, conn: Any, mail: QueuedMail, report: SendReport) -> bool:
        checkpoint("send.before_smtp")
        try:
            refused = conn.send(mail.mail_from, mail.recipients, self._whole(mail))
        except ConnectionLost as exc:
            self._retry(mail, str(exc), report)
            return False
        except TemporaryFailure as exc:
            self._retry(mail, str(exc), report)
            return True
        except PermanentFailure as exc:
            log.warning("outbox id=%s key=%s refused for good: %s", mail.id, mail.key, exc)
            with self.store.atomic():
                self.store.mark_failed(mail.id, str(exc))
                self._refused(mail, exc.refused)
            report.failed += 1
            return True
        checkpoint("send.after_smtp")
        with self.store.atomic():
            self._refused(mail, refused)  # first: a deferred recipient's copy needs the text
            self.store.mark_sent(
                mail.id, self.clock.now(), "; ".join(f"{r}: {e}" for r, e in refused.items())
            )
        log.info("sent id=%s kind=%s to=%s", mail.id, mail.kind, ",".join(mail.recipients))
        report.sent += 1
        if report.sent % DURABLE_EVERY == 0:
            self.store.make_durable()
        return True

    def _whole(self, mail: QueuedMail) -> bytes:
        """The message as sent: a copy of a shared body is its own lines, then the body (the
        last one read is kept: copies of one digest come in a row)."""
        if mail.body_id is None:
            return mail.raw
        if self._body[0] != mail.body_id:
            self._body = (mail.body_id, self.store.body(mail.body_id))
        return mail.raw + self._body[1]

    def _refused(self, mail: QueuedMail, refused: dict[str, str]) -> None:
        """Recipients the server turned down while taking the message for the others: a 5xx
        counts as a bounce for that address; a 4xx gets its own copy to retry later."""
        now = self.clock.now()
        for recipient, error in refused.items():
            if error[:1] == "5":
                self.bounces.record(recipient, error[:3], error, mail.id, "smtp", now)
            elif self.store.requeue_for(mail.id, recipient, now):
                log.info("outbox id=%s: one recipient deferred (%s), retried on its own",
                         mail.id, error[:3])  # fmt: skip

    def _retry(self, mail: QueuedMail, error: str, report: SendReport) -> None:
        now = self.clock.now()
        if self._too_old(mail, now):
            self.store.mark_failed(mail.id, f"gave up retrying: {error}")
            report.failed += 1
            return
        delay = min(60 * 2**mail.attempts, 3600)
        self.store.mark_retry(mail.id, error, now + timedelta(seconds=delay))
        report.retrying += 1
