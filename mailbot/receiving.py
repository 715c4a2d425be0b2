"""The inbox runner: fetch in batches, handle each message once, retry, set aside, move.

Handling a message (``Service.process``) commits its record and its effects together; the
runner owns everything around that: the in-hand marker that blames the message a crash died
on, the failed-attempt count that sets a poison message aside and tells the admins once, the
moves to Processed/Failed after the commits, the IMAP erasure a `forget` leaves, and the one
ERROR line for a database that cannot be written.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesHeaderParser

from mailbot.clock import Clock
from mailbot.config import Config
from mailbot.core.headers import READING
from mailbot.core.headers import header_text as _header
from mailbot.core.headers import sender_address as _from_address
from mailbot.faults import checkpoint
from mailbot.inbox import InboundItem, Inbox
from mailbot.mailer import alert_admins
from mailbot.render import Renderer
from mailbot.store import SqliteStore, stamp

log = logging.getLogger("mailbot.service")  # the log lines organisers know, unchanged


@dataclass(frozen=True)
class Result:
    outcome: str
    sender: str = ""
    verbs: tuple[str, ...] = ()
    set_aside: bool = False
    retry: bool = False  # leave it in the inbox: processing failed, the next poll tries again


@dataclass
class PollReport:
    processed: int = 0
    ignored: int = 0
    failed: int = 0
    retrying: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # flat memory on a huge poll


class InboxRunner:
    def __init__(self, config: Config, store: SqliteStore, renderer: Renderer, clock: Clock,
                 handle: Callable[[InboundItem], Result]):  # fmt: skip
        self.config = config
        self.store = store
        self.renderer = renderer
        self.clock = clock
        self.process = handle
        self.store_trouble: tuple[datetime, str] | None = None  # since when, and why

    def run(self, inbox: Inbox, should_stop: Callable[[], bool] = lambda: False) -> PollReport:
        report = PollReport()
        limits = self.config.limits
        size = self.config.imap.batch_size if self.config.imap else 100
        self.erase_forgotten(inbox)  # left over from a crash after a `forget` committed
        self._blame_the_message_in_hand()
        for batch in inbox.batches(size, limits.max_message_bytes):
            done: list[InboundItem] = []
            aside: list[InboundItem] = []
            self._in_hand(batch)
            try:
                results = [(item, self.handle_one(item)) for item in _until(batch, should_stop)]
            except sqlite3.Error as exc:  # the database failed, not a message: nobody's fault
                self.note_store_trouble(exc)
                try:
                    self._in_hand([])
                except sqlite3.Error:
                    pass  # a full disk: the trouble noted above spares the batch the blame
                raise
            except Exception:
                self._in_hand([])
                raise
            for item, result in results:
                report.outcomes[result.outcome] += 1
                if result.retry:
                    report.retrying += 1
                elif result.set_aside:
                    aside.append(item)
                    report.failed += 1
                else:
                    done.append(item)
                    report.processed += 1
                    report.ignored += result.outcome.startswith("ignored")
            self.store.make_durable()  # before the server forgets: a power cut loses nothing
            inbox.done(done)
            checkpoint("poll.after_move")
            inbox.set_aside(aside)
            self._in_hand([])
            self.erase_forgotten(inbox)
            if should_stop():
                break
        return report

    def note_store_trouble(self, exc: Exception) -> None:
        """The database cannot be written (a full disk, most often): one ERROR line for the
        whole spell, not one a poll; `note_store_ok` tells the admins once it is over."""
        if self.store_trouble is None:
            self.store_trouble = (self.clock.now(), str(exc)[:200])
            log.error("the database cannot be written (%s): mail waits until it can", exc)

    def note_store_ok(self) -> None:
        """After a spell of trouble: shrink the write-ahead log, so that the space just freed
        is not taken back, and tell the admins, once, what happened."""
        if self.store_trouble is None:
            return
        since, error = self.store_trouble
        try:
            self.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            now = self.clock.now()
            with self.store.atomic():
                alert_admins(self.config, self.store, self.renderer,
                             f"store-trouble:{stamp(since)}", "admin_store",
                             {"since": stamp(since), "until": stamp(now), "error": error,
                              "database": str(self.config.bot.database)}, now)  # fmt: skip
        except sqlite3.Error as exc:
            log.warning("the database is still in trouble: %s", exc)
            return
        log.info("the database can be written again (it could not since %s)", stamp(since))
        self.store_trouble = None

    def _in_hand(self, batch: list[InboundItem]) -> None:
        """Note the batch being handled, so that if the process dies on a message (out of
        memory, a crash in C code, the OOM killer) the next poll knows which one it was."""
        with self.store.atomic():
            self.store.set_in_hand([(i.mailbox, i.uidvalidity, i.uid) for i in batch])

    def _not_in_hand(self, item: InboundItem) -> None:
        done = (item.mailbox, item.uidvalidity, item.uid)
        self.store.set_in_hand([k for k in self.store.in_hand() if k != done])

    def _blame_the_message_in_hand(self) -> None:
        """After a poll died mid-batch, the first message of the batch without a record is the
        one it died on: count that as a failed attempt, so a message that kills the process
        every time is set aside after ``failed_attempts`` tries instead of killing it forever.
        (Killed for another reason, an innocent message loses one try of several.)"""
        batch = self.store.in_hand()
        if self.store_trouble is not None:
            batch = []  # the database stopped us, not a message: nobody is blamed
        suspect = next((k for k in batch if self.store.inbound_outcome(*k) is None), None)
        with self.store.atomic():
            if suspect is not None:
                reason = "processing stopped part-way: the process died or was killed"
                mailbox, uidvalidity, uid = suspect
                self.store.record_failure(mailbox, uidvalidity, uid, "", reason, self.clock.now())
            self.store.set_in_hand([])

    def erase_forgotten(self, inbox: Inbox) -> None:
        """Delete filed mail from people who asked us to forget them (after the commit that
        forgot them, so a crash in between leaves the request to finish next poll)."""
        for address in self.store.pending_erasures():
            count = inbox.erase(address)
            if count:
                log.info("erased %d filed message(s) of a forgotten member", count)
            if not self.store.mail_waiting_for(address):  # the goodbye has gone: finish
                with self.store.atomic():
                    self.store.erased(address)

    def handle_one(self, item: InboundItem) -> Result:
        """One message, whatever it does: a bug while handling it is counted against it (and
        sets it aside after ``failed_attempts``), never raised; a database error is."""
        attempts = self.store.failure_count(item.mailbox, item.uidvalidity, item.uid)
        if attempts >= self.config.limits.failed_attempts:  # it killed us that many times
            if self.store.inbound_outcome(item.mailbox, item.uidvalidity, item.uid) is None:
                return self._give_up(item, "the process died while handling it", attempts)
        try:
            return self.process(item)
        except sqlite3.OperationalError:
            raise  # the database itself is in trouble: stop, do not shunt good mail
        except Exception as exc:  # noqa: BLE001 - a bug in handling holds up only this message
            return self._failed(item, f"{type(exc).__name__}: {exc}"[:300])

    def _failed(self, item: InboundItem, reason: str) -> Result:
        """A message that broke processing stays in the inbox for the next poll (the fault
        may pass: a template fixed, a disk freed) until it has failed ``failed_attempts``
        times; then it is set aside and the admins are told, once."""
        now = self.clock.now()
        limit = self.config.limits.failed_attempts
        with self.store.atomic():
            self.store.record_failure(item.mailbox, item.uidvalidity, item.uid, "", reason, now)
            attempts = self.store.failure_count(item.mailbox, item.uidvalidity, item.uid)
            if attempts < limit:
                log.exception("uid=%s failed (attempt %d of %d), will retry: %s", item.uid,
                              attempts, limit, reason)  # fmt: skip
                self._not_in_hand(item)  # it failed cleanly: a later death is not its doing
                return Result(f"failed: {reason}", retry=True)
            log.exception("uid=%s set aside after %d attempts: %s", item.uid, attempts, reason)
            return self._give_up(item, reason, attempts)

    def _give_up(self, item: InboundItem, reason: str, attempts: int) -> Result:
        now = self.clock.now()
        outcome = f"set aside after {attempts} failed attempts: {reason}"
        with self.store.atomic():
            self._alert_failed(item, reason, attempts, now)
            self.store.record_inbound(item.mailbox, item.uidvalidity, item.uid, "", "", "", [],
                                      outcome, now)  # fmt: skip
        return Result(outcome, set_aside=True)

    def _alert_failed(self, item: InboundItem, reason: str, attempts: int, now: datetime) -> None:
        sender, message_id = "", ""
        try:  # headers only: the body may be what kills us (a MIME bomb)
            msg = BytesHeaderParser(policy=READING).parsebytes(item.raw or item.headers)
            sender, message_id = _from_address(msg)[1], _header(msg, "Message-ID")[:300]
        except Exception:  # noqa: BLE001, S110
            pass
        folder = self.config.imap.failed_folder if self.config.imap else "Failed"
        context = {"attempts": attempts, "folder": folder, "sender": sender,
                   "message_id": message_id, "mailbox": item.mailbox, "uid": item.uid,
                   "reason": reason}  # fmt: skip
        key = f"failed:{item.mailbox}:{item.uidvalidity}:{item.uid}"
        alert_admins(self.config, self.store, self.renderer, key, "admin_failed", context, now,
                     about=sender)  # fmt: skip


def _until(items: list[InboundItem], should_stop: Callable[[], bool]) -> Iterator[InboundItem]:
    for item in items:
        if should_stop():
            return
        yield item
