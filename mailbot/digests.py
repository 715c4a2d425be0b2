"""The monthly digest: build it from learnings, let an admin approve it, send it once.

Each digest is archived in the ``digests`` table. With moderation on, it first goes to the
admins as a numbered preview; ``approve`` sends it, ``drop 3 7`` removes learnings first;
after ``moderation_hours`` without an answer it is sent or held, per config. Sending queues one
email per reader under the key ``digest:<id>:<email>``, in the same transaction that marks the
digest sent, so two triggers or a crash and restart never mail anyone twice.

The copies share one body per kind of reader (two renders in all); each outbox row holds only
its reader's To and Message-ID lines. They are queued ``CHUNK`` readers per transaction, so a
`send` beside a digest for 200,000 readers waits a moment, not minutes; a digest left part
queued (a crash, a stop) is finished by the next `start`, `run_due` or poll, and the keys
make sure that nobody already queued is queued again.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from email.utils import make_msgid
from typing import Any

from mailbot.clock import Clock
from mailbot.config import Config, OnTimeout
from mailbot.core.digest import CHART_ROUNDS, Digest, build_digest, publishable
from mailbot.core.schedule import Cadence, due_slot
from mailbot.faults import checkpoint
from mailbot.mailer import queue_copy, queue_email
from mailbot.progress import Progress, no_progress
from mailbot.render import Envelope, Rendered, Renderer, compose, personal_lines
from mailbot.store import DigestRow, DigestStatus, SqliteStore, stamp

log = logging.getLogger(__name__)
EPOCH = "0000"
CHUNK = 2_000  # readers queued per transaction


class Digests:
    def __init__(self, config: Config, store: SqliteStore, renderer: Renderer, clock: Clock):
        self.config = config
        self.store = store
        self.renderer = renderer
        self.clock = clock

    # --- content -----------------------------------------------------------------------

    def build(self, row: DigestRow | None = None) -> Digest:
        """The next digest, or the archived ``row`` as moderated (its listed items minus the
        dropped ones, numbered as in its preview); changes nothing."""
        now = self.clock.now()
        sent = [d for d in self.store.digests() if d.status == DigestStatus.sent]
        source = self.store.unpublished_learnings()
        if row is not None and row.status == DigestStatus.sent:  # rebuilt while copies go out
            sent = [d for d in sent if d.id < row.id]
            source = self.store.learnings_of_digest(row.id)
        since = (sent[-1].sent_at or EPOCH) if sent else EPOCH
        learnings = source
        made = now if row is None else row.created_at
        month = made.astimezone(self.config.tz).strftime("%B %Y")
        if row is None:
            year = now.astimezone(self.config.tz).year
            issue = 1 + sum(1 for d in self.store.digests() if d.year == year)
            only: list[int] | None = None
            dropped: frozenset[int] = frozenset()
        else:
            year, issue = row.year, row.issue
            only = list(row.items)
            dropped = row.dropped
        if only is not None:
            order = {learning_id: n for n, learning_id in enumerate(only)}
            learnings = sorted((x for x in learnings if x.id in order),
                               key=lambda x: order[x.id])  # fmt: skip
        return build_digest(learnings, self.store.round_stats(since),
                            self.store.new_member_count(since), year, issue, dropped,
                            chart=self.store.round_stats(since, last=4 * CHART_ROUNDS),
                            month=month, first=not sent)  # fmt: skip

    def render(self, digest: Digest, reader: str = "member") -> Rendered:
        """The digest as `reader` gets it: "member" (paired: "digest off" stops it) or
        "subscriber" (the digest only: "join" to meet people too, "leave" stops it)."""
        context = self._context(digest=digest, reader=reader)
        text = self.renderer.render("digest", context)
        return Rendered(text.subject, text.text, self.renderer.render_html("digest", context))

    def _renders(self, digest: Digest) -> dict[bool, Rendered]:
        """Both versions, by whether the reader is paired: two renders, not one per reader."""
        return {True: self.render(digest, "member"), False: self.render(digest, "subscriber")}

    # --- running -----------------------------------------------------------------------

    def run_due(self) -> int | None:
        """Start the month's digest at its slot; settle previews nobody answered in time."""
        if not self.config.digest.enabled:
            return None
        self.expire_previews()
        self.finish_sending()
        now = self.clock.now()
        since = self.store.setting("digest_since")
        if since is None:
            self.store.set_setting("digest_since", stamp(now))
            return None
        d = self.config.digest
        cadence = Cadence("monthly", d.weekday_number, time(*d.hour_minute))
        digests = self.store.digests()
        last = digests[-1].created_at if digests else None
        if due_slot(cadence, now, self.config.tz, datetime.fromisoformat(since), last) is None:
            return None
        digest = self.build()
        if not digest.items and not digest.groups:
            log.info("digest skipped: no round and no learning since the last one")
            return None
        return self.start()

    def waiting(self) -> DigestRow | None:
        """A digest sent to the admins and not yet approved, if any."""
        return next((d for d in self.store.digests() if d.status == DigestStatus.preview), None)

    def start(self, progress: Progress = no_progress) -> int:
        """Make the next digest: a preview for the admins, or straight to the readers.

        The preview's numbered list is stored with the digest: ``drop N`` and ``approve``
        act on exactly what the admins saw, and learnings arriving later wait for the next
        digest. While one waits for approval no second one is made (its id is returned).
        """
        unfinished = self.finish_sending(progress)
        if unfinished is not None:
            return unfinished
        now = self.clock.now()
        with self.store.atomic():
            pending = self.waiting()
            if pending is not None:
                return pending.id
            digest = self.build()
            items = [item.learning_id for item in digest.items]
            moderated = self.config.digest.moderation and bool(self.config.bot.admins)
            preview_id = make_msgid(idstring="digest-preview", domain=self.config.bot.domain)
            status = DigestStatus.preview if moderated else DigestStatus.sending
            preview = preview_id if moderated else ""
            digest_id = self.store.add_digest(
                digest.year, digest.issue, status, preview, items, now
            )
            if moderated:
                self._preview(digest_id, digest, preview_id, now)
        if not moderated:
            self._send(digest_id, now, progress)
        return digest_id

    def finish_sending(self, progress: Progress = no_progress) -> int | None:
        """Queue the rest of a digest approved (or started) but not yet queued for every
        reader: an approval by email, or a crash part-way; its id, or None."""
        row = next((d for d in self.store.digests() if d.status == DigestStatus.sending), None)
        if row is None:
            return None
        self._send(row.id, self.clock.now(), progress)
        return row.id

    def moderate(self, row: DigestRow, approve: bool, drop: set[int]) -> dict[str, Any]:
        """An admin's answer to a preview; returns what to tell them."""
        now = self.clock.now()
        answer: dict[str, Any] = {"approved": False, "dropped": [], "unknown": [],
                                  "status": row.status.value, "recipients": row.recipients,
                                  "sent_at": row.sent_at or ""}  # fmt: skip
        if row.status != DigestStatus.preview:
            return answer
        listed = list(row.items)
        dropped = set(row.dropped)
        answer["dropped"] = sorted(n for n in drop if 1 <= n <= len(listed))
        answer["unknown"] = sorted(n for n in drop if not 1 <= n <= len(listed))
        dropped.update(listed[n - 1] for n in answer["dropped"])
        with self.store.atomic():
            self.store.update_digest(row.id, dropped=sorted(dropped))
            if approve:  # queued after this commit, in chunks (`finish_sending`)
                self.store.update_digest(row.id, status=DigestStatus.sending, decided_at=now)
                answer["recipients"] = self.store.digest_reader_count()
                answer["approved"] = True
        return answer

    def expire_previews(self) -> None:
        now = self.clock.now()
        limit = timedelta(hours=self.config.digest.moderation_hours)
        for row in self.store.digests():
            if row.status != DigestStatus.preview or row.created_at + limit > now:
                continue
            send = self.config.digest.on_timeout == OnTimeout.send
            status = DigestStatus.sending if send else DigestStatus.held
            with self.store.atomic():
                self.store.update_digest(row.id, status=status, decided_at=now)
            if send:
                self._send(row.id, now)
            log.info("digest %s: no admin answer in time, %s", row.id,
                     self.config.digest.on_timeout)  # fmt: skip

    # --- emails --------------------------------------------------------------------------

    def _preview(self, digest_id: int, digest: Digest, message_id: str, now: datetime) -> None:
        learnings = self.store.unpublished_learnings()
        context = self._context(
            digest=digest, recipients=self.store.digest_reader_count(),
            hours=self.config.digest.moderation_hours, on_timeout=self.config.digest.on_timeout,
            review=sum(1 for x in learnings if x.visibility != "private" and not publishable(x)),
        )  # fmt: skip
        rendered = self.renderer.render("digest_preview", context)
        admins = [("", a) for a in self.config.bot.admins]
        self._queue(f"digest-preview:{digest_id}", "digest-preview", admins, rendered, now,
                    message_id)  # fmt: skip

    def _send(self, digest_id: int, now: datetime, progress: Progress = no_progress) -> int:
        """Queue a copy for every reader, ``CHUNK`` to a transaction, then mark it sent."""
        row = self.store.digest(digest_id)
        digest = self.build(row)
        bodies = self._bodies(digest, now)
        total, done, after = self.store.digest_reader_count(), 0, ""
        while page := self.store.digest_readers(after, CHUNK):
            with self.store.atomic():
                for name, address, paired in page:
                    queue_copy(self.store, self.config.bot, f"digest:{digest_id}:{address}",
                               "digest", (name, address), bodies[paired], now,
                               digest_id=digest_id)  # fmt: skip
            done, after = done + len(page), page[-1][1]
            progress(min(done, total), max(done, total))
        checkpoint("digest.queued")
        with self.store.atomic():
            # Dropped learnings are settled by this digest too: they never come back.
            listed = list(row.items) or [i.learning_id for i in digest.items]
            self.store.publish_learnings(listed, digest_id)
            self.store.update_digest(digest_id, status=DigestStatus.sent, sent_at=now,
                                     decided_at=row.decided_at or now,
                                     recipients=done)  # fmt: skip
            checkpoint("digest.before_commit")
        checkpoint("digest.after_commit")
        log.info("digest %s (%s) queued for %d reader(s)", digest_id, digest.title, done)
        return done

    def _bodies(self, digest: Digest, now: datetime) -> dict[bool, int]:
        """The two shared bodies, by whether the reader is paired: unsubscribing from the
        digest stops the digest ("digest off"), or, for a digest-only reader, everything."""
        bot, rendered = self.config.bot, self._renders(digest)
        bodies = {}
        with self.store.atomic():
            for paired in (True, False):
                envelope = Envelope(bot.name, bot.address, "digest", "", now, "auto-generated",
                                    unsubscribe="digest off" if paired else "leave")  # fmt: skip
                raw = compose(envelope, [], rendered[paired]).as_bytes()
                bodies[paired] = self.store.add_body(raw, now)
        return bodies

    def redo_queued(self, digest_ids: list[int], now: datetime) -> None:
        """Copies of a digest still waiting in the outbox (an outage, the hourly cap) are
        rebuilt after someone whose learning they carry asks to be forgotten."""
        for digest_id in digest_ids:
            bodies = self._bodies(self.build(self.store.digest(digest_id)), now)
            copies = self.store.queued_digest_mail(digest_id)
            readers = self.store.members_by_email([c.recipients[0] for c in copies])
            for mail in copies:
                [address] = mail.recipients
                member = readers.get(address)
                paired = member is not None and member.pairing
                lines = personal_lines((member.name if member else "", address), mail.message_id)
                self.store.use_body(mail.id, lines, bodies[paired])
            log.info("digest %s rebuilt for its copies still to send", digest_id)

    def _context(self, **extra: Any) -> dict[str, Any]:
        return {"bot": self.config.bot.view, **extra}

    def _queue(self, key: str, kind: str, to: list[tuple[str, str]], rendered: Rendered,
               now: datetime, message_id: str = "") -> None:  # fmt: skip
        queue_email(self.store, self.config.bot, key, kind, to, rendered, now,
                    message_id=message_id)  # fmt: skip
