"""The daemon loop: poll, send, scheduled jobs; SIGTERM/SIGINT finish the message in hand."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from imapclient.exceptions import IMAPClientError

from mailbot.app import App
from mailbot.errors import MailbotError

log = logging.getLogger(__name__)


class InstanceLock:
    """One daemon per database: a second ``mailbot run`` refuses to start."""

    def __init__(self, database: Path):
        self.path = database.with_name(database.name + ".lock")
        self.handle: IO[str] | None = None

    def acquire(self) -> None:
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise MailbotError(
                f"another mailbot is already running on this database ({self.path})"
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self.handle = handle

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if self.handle:
            self.handle.close()
            self.handle = None


MAX_BACKOFF = 1800.0  # seconds: a broken login is retried at least every half hour


class Daemon:
    def __init__(
        self,
        app: App,
        stop: threading.Event | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.app = app
        self.stop = stop or threading.Event()
        self.monotonic = monotonic
        self.poll_failures = 0
        self.next_poll = 0.0
        self.last_poll: tuple[int, int] | None = None  # (UIDVALIDITY, UIDNEXT) at its start
        self.idle = True  # until the server shows it has no IDLE

    def cycle(self) -> None:
        """Poll, run what is due, send. A database that cannot be written (locked by a backup,
        a full disk) stops the cycle, not the daemon: the next one tries again."""
        service = self.app.service
        try:
            if self.monotonic() >= self.next_poll:
                self._poll()
            if not self.stop.is_set():
                service.resume_due()
                self.app.rounds.run_due()
                self.app.learnings.send_due_followups()
                self.app.digests.run_due()
            sent = service.send(self.app.transport, self.stop.is_set)
        except sqlite3.Error as exc:
            service.note_store_trouble(exc)
            return
        service.note_store_ok()
        if sent.sent or sent.retrying or sent.failed:
            log.info("send: %d sent, %d to retry, %d failed", sent.sent, sent.retrying, sent.failed)

    def _poll(self) -> None:
        """Poll once. After a failure (server down, password changed) wait longer each time
        before the next try, up to ``MAX_BACKOFF``: hammering a login that fails can get the
        account locked. Sending and scheduled jobs go on meanwhile."""
        try:
            inbox = self.app.open_inbox()
            try:
                since = (getattr(inbox, "uidvalidity", 0), getattr(inbox, "uidnext", 0))
                report = self.app.service.poll(inbox, self.stop.is_set)
                self.last_poll = since if hasattr(inbox, "wait") else None
            finally:
                inbox.close()
        except MailbotError as exc:
            self.poll_failures += 1
            interval = self.app.config.daemon.poll_interval
            wait = min(interval * 2 ** (self.poll_failures - 1), max(MAX_BACKOFF, interval))
            self.next_poll = self.monotonic() + wait
            log.error("poll failed (%d in a row), next try in %.0f s: %s", self.poll_failures,
                      wait, exc)  # fmt: skip
            return
        if self.poll_failures:
            log.info("poll works again after %d failure(s)", self.poll_failures)
        self.poll_failures, self.next_poll = 0, 0.0
        if report.processed or report.failed or report.retrying:
            log.info("poll: %d processed, %d set aside, %d to retry", report.processed,
                     report.failed, report.retrying)  # fmt: skip

    def run(self, once: bool = False, lock: bool = True) -> None:
        """Cycle until stopped; ``lock=False`` when the caller holds the instance lock."""
        held = InstanceLock(self.app.config.bot.database)
        if lock:
            held.acquire()
        previous = self._install_signals()
        try:
            while not self.stop.is_set():
                self.cycle()
                if once:
                    break
                self.wait()
        finally:
            self._restore_signals(previous)
            held.release()
        log.info("stopped")

    def wait(self) -> None:
        """Until the next cycle: in IMAP IDLE when the server offers it, so new mail is acted
        on within a second or two, else (or after IDLE broke) for ``poll_interval``."""
        interval = self.app.config.daemon.poll_interval
        started = self.monotonic()
        if self.idle and self.last_poll is not None and started >= self.next_poll:
            if self._idle(self.last_poll, interval):
                return
        self.stop.wait(max(0.0, interval - (self.monotonic() - started)))

    def _idle(self, since: tuple[int, int], interval: float) -> bool:
        """Wait in IDLE; False when the caller should sleep instead (no IDLE, or it broke)."""
        try:
            inbox = self.app.open_inbox()
            try:
                found = inbox.wait(since, interval, self.stop.is_set)  # type: ignore[attr-defined]
            finally:
                inbox.close()
        except (MailbotError, OSError, IMAPClientError) as exc:
            log.warning("IDLE failed, waiting %s s instead: %s", interval, exc)
            return False
        if found is None:
            log.info("the IMAP server offers no IDLE: checking every %s s", interval)
            self.idle = False
            return False
        return True

    def _install_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Any] = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, self._on_signal)
        return previous

    def _on_signal(self, signum: int, frame: Any) -> None:
        log.info("%s received: finishing the message in hand", signal.Signals(signum).name)
        self.stop.set()

    @staticmethod
    def _restore_signals(previous: dict[int, Any]) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
