"""Use cases: handle one inbound message, poll an inbox, send the outbox, resume due pauses.

Each inbound message is handled in one SQLite transaction that holds its effects (membership
changes, queued replies) and the record that it was processed. Only after that commit is the
message acknowledged in the inbox, so a crash in between repeats nothing: the next poll sees
the record and just moves the message.
"""

from __future__ import annotations

import email
import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from mailbot.answers import Answer, Answers, new_token
from mailbot.bounces import Bounces
from mailbot.clock import Clock
from mailbot.config import Config
from mailbot.core import authres
from mailbot.core.commands import (
    MAX_COMMANDS,
    Command,
    Verb,
    decide,
    is_denial,
    is_refusal,
    needs_owner,
    parse_commands,
    parse_line,
)
from mailbot.core.digest import parse_moderation
from mailbot.core.headers import READING, bounded_headers, bounded_message, references_of
from mailbot.core.headers import header_text as _header
from mailbot.core.headers import referenced_ids as _referenced_ids
from mailbot.core.headers import sender_address as _from_address
from mailbot.core.learnings import reference_code
from mailbot.core.membership import (
    Member,
    Outcome,
    State,
    TokenCheck,
)
from mailbot.core.reader import command_lines
from mailbot.core.robots import Sender, classify
from mailbot.core.roster import RosterRow
from mailbot.core.text import body_text
from mailbot.digests import Digests
from mailbot.faults import checkpoint
from mailbot.inbox import InboundItem, Inbox
from mailbot.learnings import Learnings
from mailbot.outbox import Transport
from mailbot.progress import Progress, no_progress
from mailbot.receiving import InboxRunner, PollReport, Result
from mailbot.render import Renderer
from mailbot.rounds import Rounds
from mailbot.sending import OutboxRunner, SendReport
from mailbot.store import DigestRow, FollowupRow, SqliteStore, TokenRow, stamp

log = logging.getLogger(__name__)


class Service:
    def __init__(
        self,
        config: Config,
        store: SqliteStore,
        renderer: Renderer,
        clock: Clock,
        make_token: Callable[[], str] = new_token,
        *,
        rounds: Rounds | None = None,
        learnings: Learnings | None = None,
        digests: Digests | None = None,
        bounces: Bounces | None = None,
    ):
        """The use cases it calls are built by `build_app`, once each; on its own (in tests)
        it builds them itself."""
        self.config = config
        self.store = store
        self.renderer = renderer
        self.clock = clock
        self.answers = Answers(config, store, renderer, clock, make_token)
        self.learnings = learnings or Learnings(config, store, renderer, clock)
        self.digests = digests or Digests(config, store, renderer, clock)
        self.bounces = bounces or Bounces(config, store, renderer, clock)
        self.rounds = rounds or Rounds(config, store, renderer, clock)  # withdraws intros
        self.outbox = OutboxRunner(config, store, clock, self.bounces)
        self.inbox = InboxRunner(config, store, renderer, clock, lambda item: self.process(item))
        self.own = frozenset(
            {config.bot.address}
            | (
                {config.imap.username.lower()}
                if config.imap and "@" in config.imap.username
                else set()
            )
        )

    # --- inbound -------------------------------------------------------------------------

    def poll(self, inbox: Inbox, should_stop: Callable[[], bool] = lambda: False) -> PollReport:
        """Handle every new message in `inbox` (see `mailbot.receiving.InboxRunner`); then
        queue a digest an admin approved in it (in chunks, after the approval's commit)."""
        report = self.inbox.run(inbox, should_stop)
        self.digests.finish_sending()
        return report

    def note_store_trouble(self, exc: Exception) -> None:
        self.inbox.note_store_trouble(exc)

    def note_store_ok(self) -> None:
        self.inbox.note_store_ok()

    def process(self, item: InboundItem) -> Result:
        now = self.clock.now()
        with self.store.atomic():
            seen = self.store.inbound_outcome(item.mailbox, item.uidvalidity, item.uid)
            if seen is not None:  # committed before a crash; only the move is left to do
                return Result("already processed", set_aside=seen.startswith("set aside"))
            # The same bytes seen under another UID (the server reset UIDVALIDITY, or the
            # message was copied back): Message-ID catches most, this catches the rest.
            content = hashlib.sha256(item.raw).hexdigest() if item.raw else ""
            result, message_id = self._handle(item, now, content)
            self.store.record_inbound(
                item.mailbox,
                item.uidvalidity,
                item.uid,
                message_id,
                result.sender,
                "",
                list(result.verbs),
                result.outcome,
                now,
                content,
            )
            checkpoint("poll.before_commit")
        checkpoint("poll.after_commit")
        log.info(
            "uid=%s from=%s verbs=%s outcome=%s",
            item.uid,
            result.sender or "-",
            ",".join(result.verbs) or "-",
            result.outcome,
        )
        return result

    def _handle(self, item: InboundItem, now: datetime, content: str) -> tuple[Result, str]:
        if not item.raw:
            return self._too_big(item, now)
        msg = email.message_from_bytes(bounded_message(item.raw), policy=READING)
        message_id = _header(msg, "Message-ID")[:300]
        if message_id and self.store.message_id_seen(message_id):
            return Result("ignored: duplicate Message-ID"), message_id
        if self.store.content_seen(content):
            return Result("ignored: duplicate of a message already processed"), message_id
        verdict = classify(msg, self.own)
        if verdict.sender == Sender.bounce:
            meaning = self.bounces.handle_report(msg, now)
            return Result(f"ignored: bounce ({verdict.reason}); {meaning}"), message_id
        if verdict.sender != Sender.human:
            return Result(f"ignored: {verdict.sender.value} ({verdict.reason})"), message_id
        name, sender = _from_address(msg)
        if not sender:
            return Result("ignored: no usable From address"), message_id
        if sender in self.own:
            return Result("ignored: from our own address"), message_id
        return self._act(msg, item, name, sender, now), message_id

    def _too_big(self, item: InboundItem, now: datetime) -> tuple[Result, str]:
        """Over ``max_message_bytes``: set aside unread, with a short answer to a person."""
        outcome = f"set aside: {item.size} bytes is over the size limit"
        msg = email.message_from_bytes(bounded_headers(item.headers), policy=READING)
        message_id = _header(msg, "Message-ID")[:300]
        if message_id and self.store.message_id_seen(message_id):  # answered before a crash
            return Result(outcome, set_aside=True), message_id
        sender = _from_address(msg)[1]
        if classify(msg, self.own).sender != Sender.human or not sender or sender in self.own:
            return Result(outcome, set_aside=True), message_id
        limit = self.config.limits.max_message_bytes
        extra = {"detail": f"{item.size / 1e6:.1f} MB", "target": f"{limit / 1e6:.1f} MB"}
        self.answers.notice(_reply_key(item), sender, self.store.get_member(sender),
                            [("notice/too_big", extra)], [], _reply_headers(msg), now)  # fmt: skip
        return Result(outcome, sender, set_aside=True), message_id

    def _act(
        self, msg: EmailMessage, item: InboundItem, name: str, sender: str, now: datetime
    ) -> Result:
        subject = _header(msg, "Subject")
        lines = command_lines(body_text(msg))
        referenced = _referenced_ids(msg)
        followup = self.store.followup_for(sender, referenced, reference_code(subject))
        if followup is not None and not _only_commands(lines):
            return self._learning(msg, item, followup, subject, sender, now)
        preview = (
            self.store.digest_by_preview(referenced) if sender in self.config.bot.admins else None
        )
        if preview is not None:
            bot = self.config.bot
            trusted, why = authres.verify(msg, sender.rpartition("@")[2], bot.admin_auth,
                                          bot.authserv_id)  # fmt: skip
            if not trusted:
                return self._untrusted_admin(msg, item, sender, why, now)
            return self._moderation(msg, item, preview, lines, sender, now)
        parsed = parse_commands(subject, lines)
        held = self._held_action(sender, referenced, parsed.commands)
        if held is not None:
            return self._settle(msg, item, held, name, sender, lines, now)
        commands, reply_token = self._confirmation_reply(
            list(parsed.commands), sender, referenced, lines
        )
        check = self._check_sender(msg, sender, in_thread=reply_token is not None)
        if check.failing:
            log.warning("not acting for %s: %s", sender, check.why)
            return Result(f"ignored: the receiving server says {check.why}", sender)
        member = self.store.get_member(sender)
        waiting = tuple(c for c in commands if needs_owner(c, member, check.verified))
        commands = [c for c in commands if c not in waiting]
        replies = [self._apply(c, sender, name, reply_token, now) for c in commands]
        if waiting:
            replies.append(Answer(Outcome("confirm_action"), waiting[0], member, waiting))
        key, reply_to = _reply_key(item), _reply_headers(msg)
        if not replies and self.store.is_intro_thread(referenced):
            # A reply-all to an intro that included us: meant for the group, not a command.
            return Result("ignored: reply in an intro thread", sender)
        if not replies:
            sent = self.answers.notice(
                key,
                sender,
                member,
                [("notice/unknown", {"unknown": list(parsed.unknown)})],
                [],
                reply_to,
                now,
                topic="notice/unknown",
            )
            return Result("unknown command" + _withheld_note(sent), sender)
        footnotes = list(parsed.notes)
        if parsed.dropped:
            footnotes.append(
                f"I only read the first {MAX_COMMANDS} commands in your email and ignored "
                f"{parsed.dropped} more."
            )
        outcome = self.answers.reply(key, sender, replies, footnotes, reply_to, now,
                                     (subject, lines))  # fmt: skip
        if any(r.outcome.forget for r in replies):
            sender = ""  # not even the log of this message keeps who it was
        return Result(outcome, sender, tuple(c.verb.value for c in (*commands, *waiting)))

    # --- changes that wait for the owner of the address --------------------------------

    def _check_sender(self, msg: EmailMessage, sender: str, in_thread: bool) -> authres.SenderCheck:
        """Verified: ``[local]`` mode (it hears only loopback), a reply to mail we sent only to
        this address, or the receiving server's topmost trusted verdict for the From domain."""
        if self.config.local is not None:
            return authres.SenderCheck(True, False, "local mode")
        if in_thread:
            return authres.SenderCheck(True, False, "a reply to our mail to this address")
        bot = self.config.bot
        return authres.check_sender(msg, sender.rpartition("@")[2], bot.admin_auth,
                                    bot.authserv_id)  # fmt: skip

    def _held_action(self, sender: str, referenced: list[str],
                     commands: tuple[Command, ...]) -> TokenRow | None:  # fmt: skip
        """The unused held change this message answers: a reply in the thread of its
        confirmation email, or ``confirm CODE``; only from the address it was sent to."""
        row = self.store.token_by_message_ids(referenced)
        codes = [c.token for c in commands if c.verb == Verb.confirm and c.token]
        if (row is None or row.held is None) and codes:
            row = self.store.token_by_code(codes[0])
        if row is None or row.held is None or row.email != sender or row.used:
            return None
        return row

    def _settle(self, msg: EmailMessage, item: InboundItem, row: TokenRow, name: str,
                sender: str, lines: list[str], now: datetime) -> Result:  # fmt: skip
        """The owner answered a held change: any reply confirms it, a "no" cancels it."""
        key, reply_to = _reply_key(item), _reply_headers(msg)
        self.store.use_token(row.token_hash, now)
        action = row.held
        assert action is not None
        member = self.store.get_member(sender)
        expired = row.expired(now)
        if expired or is_denial(lines):
            why = "expired" if expired else "cancelled"
            detail = {"detail": "nothing changed", "command": ", ".join(action.verbs)}
            self.answers.notice(key, sender, member, [(f"notice/action_{why}", detail)], [],
                                reply_to, now)  # fmt: skip
            return Result(f"held change {why}", sender)
        parsed = parse_commands(action.subject, list(action.lines))
        commands = [c for c in parsed.commands if c.verb.value in action.verbs]
        replies = [self._apply(c, sender, name, None, now) for c in commands]
        if not replies:
            return Result("held change: nothing left to do", sender)
        outcome = self.answers.reply(key, sender, replies, [], reply_to, now)
        if any(r.outcome.forget for r in replies):
            sender = ""
        return Result(f"confirmed by the owner: {outcome}", sender,
                      tuple(c.verb.value for c in commands))  # fmt: skip

    def _learning(self, msg: EmailMessage, item: InboundItem, followup: FollowupRow,
                  subject: str, sender: str, now: datetime) -> Result:  # fmt: skip
        outcome, context = self.learnings.capture(msg, followup, subject, now)
        key, reply_to = _reply_key(item), _reply_headers(msg)
        member = self.store.get_member(sender)
        self.answers.notice(key, sender, member, [("notice/thanks", context)], [], reply_to, now,
                            topic="thanks")  # fmt: skip
        return Result(outcome, sender, ("learning",))

    def _moderation(self, msg: EmailMessage, item: InboundItem, preview: DigestRow,
                    lines: list[str], sender: str, now: datetime) -> Result:  # fmt: skip
        """An admin's answer to a digest preview: ``approve`` and/or ``drop 3 7``."""
        approve, drop = parse_moderation(lines)
        if not approve and not drop:
            return Result("ignored: preview reply without approve or drop", sender)
        outcome = self.digests.moderate(preview, approve, drop)
        key, reply_to = _reply_key(item), _reply_headers(msg)
        self.answers.notice(key, sender, self.store.get_member(sender),
                            [("notice/moderated", outcome)], [], reply_to, now,
                            footer="admin")  # fmt: skip
        verdict = "approved" if outcome["approved"] else "updated"
        return Result(f"digest {preview.id} {verdict}", sender, ("moderate",))

    def _untrusted_admin(self, msg: EmailMessage, item: InboundItem, sender: str, why: str,
                         now: datetime) -> Result:  # fmt: skip
        """An admin command whose From the receiving server did not vouch for: do nothing,
        and tell the real admin (the address can only be theirs) why, once."""
        log.warning("admin command from %s not trusted: %s", sender, why)
        key, reply_to = _reply_key(item), _reply_headers(msg)
        self.answers.notice(key, sender, self.store.get_member(sender),
                            [("notice/not_trusted", {"detail": why})], [], reply_to, now,
                            footer="admin")  # fmt: skip
        return Result(f"ignored: admin command not authenticated ({why})", sender)

    def _confirmation_reply(
        self, commands: list[Command], sender: str, referenced: list[str], lines: list[str]
    ) -> tuple[list[Command], TokenRow | None]:
        """Settle what a message means for a pending confirmation.

        A reply to our confirmation email confirms when its code is still unused, was sent to
        this sender and the member is pending: whatever it says, unless it says no ("leave",
        "No thanks, remove me"), which cancels. Later replies in the same thread (to the
        welcome, say) are ordinary mail. A ``join`` beside a confirmation is the same wish.
        """
        member = self.store.get_member(sender)
        pending = member is not None and member.state == State.pending
        row = self.store.token_by_message_ids(referenced)
        usable = row is not None and row.email == sender and not row.used and pending
        verbs = {c.verb for c in commands}
        refusal = usable and not verbs - {Verb.confirm} and is_refusal(lines)
        if Verb.leave in verbs or refusal:
            kept = [c for c in commands if c.verb != Verb.confirm]
            return kept or [Command(Verb.leave, text="leave")], None
        if usable:  # "Confirm please" in the thread: the thread's code, whatever the words
            commands = [c for c in commands if c.verb != Verb.confirm or c.token]
            verbs = {c.verb for c in commands}
        if usable and Verb.confirm not in verbs:
            commands = [Command(Verb.confirm, text="confirm"), *commands]
        if Verb.confirm in {c.verb for c in commands} and (pending or Verb.join in verbs):
            drop = Verb.join if pending else Verb.confirm
            commands = [c for c in commands if c.verb != drop]
        return commands, row if usable else None

    def _apply(
        self,
        command: Command,
        sender: str,
        name: str,
        reply_token: TokenRow | None,
        now: datetime,
    ) -> Answer:
        member = self.store.get_member(sender)
        check, token_row = None, None
        if command.verb == Verb.confirm:
            token_row = self.store.token_by_code(command.token) if command.token else reply_token
            check = self._check_token(token_row, sender, now)
        outcome = decide(member, command, self.config.local_date(now), check)
        if outcome.use_token and token_row:
            self.store.use_token(token_row.token_hash, now)
        if member is not None and outcome.skip_next is not None:
            member = replace(member, skip_next=outcome.skip_next)
            self.store.save_member(member, now)
        if member is not None and outcome.digest is not None:
            member = replace(member, digest=outcome.digest)
            self.store.save_member(member, now)
        if outcome.forget:
            self.forget_member(sender, now, "a member was erased on request")
            return Answer(outcome, command, None)
        if outcome.state == State.left:
            self.rounds.withdraw(sender, now)
        if outcome.block:
            self.store.add_block(sender, outcome.block, now)
        if outcome.unblock:
            self.store.remove_block(sender, outcome.unblock)
        if outcome.state == State.active:
            self.store.reset_missed_followups(sender)
            self.bounces.clear(sender)  # they asked to be back: the address works again
        if outcome.state is not None:
            fresh = member is None or member.state in (State.left, State.pending)
            member = self._move(member, sender, name, outcome, now)
            self.store.event(sender, command.verb.value, outcome.reply, now)
            if command.verb == Verb.join:
                was_pairing = member.pairing
                member = self._set_pairing(member, command.digest_only, fresh, now)
                if not fresh and member.pairing and not was_pairing:
                    outcome = Outcome("notice/pairing_on")
        return Answer(outcome, command, member)

    def forget_member(self, email: str, now: datetime, why: str) -> None:
        """Erase a person (see ``SqliteStore.forget``), and first take them out of mail still
        waiting to go: their intro is withdrawn, digests carrying their learning rebuilt."""
        self.rounds.withdraw(email, now, forgotten=True)
        digests = self.store.digests_to_redo(email)
        self.store.forget(email, now)
        self.digests.redo_queued(digests, now)
        self.store.event("", "forget", why, now)

    def _set_pairing(self, member: Member, digest_only: bool, fresh: bool, now: datetime) -> Member:
        """``subscribe digest`` joins for the digest only; ``join`` (again) adds pairing.
        A member already paired who asks for the digest stays paired."""
        pairing = not digest_only if fresh else (member.pairing or not digest_only)
        if pairing != member.pairing:
            member = replace(member, pairing=pairing)
            self.store.save_member(member, now)
        return member

    def _check_token(self, row: TokenRow | None, sender: str, now: datetime) -> TokenCheck:
        if row is None:
            return TokenCheck.unknown
        if row.email != sender:
            return TokenCheck.other_address
        if row.used:
            return TokenCheck.used
        if row.expired(now):
            return TokenCheck.expired
        return TokenCheck.ok

    def _move(
        self, member: Member | None, sender: str, name: str, outcome: Outcome, now: datetime
    ) -> Member:
        state = outcome.state
        assert state is not None
        times: dict[str, datetime] = {}
        if member is None or member.state == State.left:
            domain = default_org(sender)
            base = member or Member(sender, State.pending)
            member = replace(base, name=base.name or name, org=base.org or domain)
        if state == State.active and member.state == State.pending:
            times["confirmed_at"] = now
        if state == State.left:
            times["left_at"] = now
        pause: dict[str, Any] = {
            "pause_rounds": outcome.pause_rounds,
            "paused_until": outcome.paused_until,
        }
        if state != State.paused:
            pause = {"pause_rounds": None, "paused_until": None}
        elif member.state == State.paused and outcome.reply != "notice/paused":
            pause = {"pause_rounds": member.pause_rounds, "paused_until": member.paused_until}
        changes: dict[str, Any] = {**outcome.profile, **pause}
        if state != State.active:
            changes["skip_next"] = False  # "skip next" belongs to an active membership
        member = replace(member, state=state, **changes)
        self.store.save_member(member, now, **times)
        return member

    # --- replies ---------------------------------------------------------------------------

    # --- scheduled -----------------------------------------------------------------------

    def import_members(
        self, rows: list[RosterRow], confirmed: bool, progress: Progress = no_progress
    ) -> tuple[list[str], list[str]]:
        """Add people from a spreadsheet in one transaction; existing members are left alone.

        Without ``confirmed`` each gets the usual confirmation email, saying the organisers
        added them, and joins only by replying.
        """
        now = self.clock.now()
        added: list[str] = []
        skipped: list[str] = []
        with self.store.atomic():
            for row in rows:
                if self.store.get_member(row.email) is not None:
                    skipped.append(row.email)  # people who left rejoin by email, not by list
                    progress(len(added) + len(skipped), len(rows))
                    continue
                state = State.active if confirmed else State.pending
                profile: dict[str, Any] = {"org": default_org(row.email), **dict(row.profile)}
                member = Member(row.email, state, **profile)
                times = {"confirmed_at": now} if confirmed else {}
                self.store.save_member(member, now, **times)
                self.store.event(row.email, "import", state.value, now)
                if not confirmed:
                    key = f"import:{stamp(now)}:{row.email}"
                    self.answers.confirmation(
                        key, row.email, member, Outcome("confirm"), ("", ""), now, imported=True
                    )
                added.append(row.email)
                progress(len(added) + len(skipped), len(rows))
        return added, skipped

    def resume_due(self) -> int:
        """Members whose ``pause until`` date has come are back in, with a short notice."""
        now = self.clock.now()
        count = 0
        for member in self.store.members_to_resume(self.config.local_date(now)):
            with self.store.atomic():
                back = replace(member, state=State.active, paused_until=None, pause_rounds=None)
                self.store.save_member(back, now)
                self.store.event(member.email, "resume", "pause date reached", now)
                key = f"resume:{member.email}:{member.paused_until}"
                self.answers.notice(
                    key,
                    member.email,
                    back,
                    [("notice/resumed", {"automatic": True})],
                    [],
                    ("", ""),
                    now,
                    reply=False,
                )
            count += 1
        return count

    # --- outbound ----------------------------------------------------------------------------

    def send(self, transport: Transport, should_stop: Callable[[], bool] = lambda: False,
             limit: int = 500) -> SendReport:  # fmt: skip
        """Deliver what is due (see `mailbot.sending.OutboxRunner`)."""
        return self.outbox.run(transport, should_stop, limit)


# Public mail providers say nothing about where someone works.
WEBMAIL = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "live.com",
    "live.co.uk", "msn.com", "yahoo.com", "yahoo.co.uk", "ymail.com", "icloud.com", "me.com",
    "mac.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "gmx.net",
    "web.de", "btinternet.com", "sky.com", "virginmedia.com", "mail.com", "zoho.com",
    "fastmail.com", "yandex.com", "mail.ru", "qq.com", "163.com", "orange.fr", "free.fr",
})  # fmt: skip


def _withheld_note(outcome: str) -> str:
    return f" ({outcome})" if outcome.startswith("reply withheld") else ""


def _reply_key(item: InboundItem) -> str:
    """The outbox key prefix for replies to one inbound message: one reply per message."""
    return f"in:{item.mailbox}:{item.uidvalidity}:{item.uid}"


def _reply_headers(msg: EmailMessage) -> tuple[str, str]:
    """(Message-ID, References) of the message being answered, for threading."""
    return _header(msg, "Message-ID")[:300], references_of(msg)


def _only_commands(lines: list[str]) -> bool:
    """A follow-up reply of nothing but commands ("pause", "forget") is commands, not a
    learning; "skip" there means "we didn't meet", not "skip next"."""
    commands = [parse_line(line) for line in lines[:3]]
    bare_skip = any(line.strip().lower().strip(".!") == "skip" for line in lines)
    return (
        bool(lines) and len(lines) <= 3 and not bare_skip and all(c is not None for c in commands)
    )


def default_org(address: str) -> str:
    """The organisation a new member gets when they name none: their mail domain."""
    domain = address.rpartition("@")[2]
    return "" if domain in WEBMAIL else domain
