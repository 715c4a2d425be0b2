"""Follow-ups after each round, and capturing what people learned from their replies.

A follow-up goes to each member of each group ``followup_after_days`` after the intro (by the
daemon, or ``mailbot followup``), once per round: the round is marked in the same transaction
as the queued emails. A reply is matched to its follow-up by In-Reply-To/References, by the
``[ref …]`` code in the subject for clients that drop those headers, or as a reply to the
group's intro once the follow-up went out.
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from mailbot.clock import Clock
from mailbot.config import Config
from mailbot.core.headers import sender_address
from mailbot.core.learnings import Visibility, flags_in, group_met, read_answer, too_short
from mailbot.core.membership import Member, State, first_name, view
from mailbot.core.privacy import check_learning
from mailbot.core.replies import extract_learning
from mailbot.faults import checkpoint
from mailbot.mailer import queue_email
from mailbot.progress import Progress, no_progress
from mailbot.render import Renderer
from mailbot.store import FollowupRow, GroupRow, RoundRow, SqliteStore

log = logging.getLogger(__name__)
CHUNK = 1_000  # groups asked in one transaction


def new_code() -> str:
    return base64.b32encode(secrets.token_bytes(5)).decode("ascii").lower()[:6]


class Learnings:
    def __init__(self, config: Config, store: SqliteStore, renderer: Renderer, clock: Clock,
                 make_code: Callable[[], str] = new_code):  # fmt: skip
        self.config = config
        self.store = store
        self.renderer = renderer
        self.clock = clock
        self.make_code = make_code

    # --- asking ------------------------------------------------------------------------

    def send_due_followups(self) -> int:
        """Follow-ups for every round whose time has come; returns how many were queued."""
        return sum(self._follow_up(r) for r in self.store.rounds_to_follow_up(self.clock.now()))

    def follow_up_latest(self, progress: Progress = no_progress) -> int:
        """``mailbot followup``: the latest round's follow-ups now, unless already sent."""
        latest = self.store.latest_round()
        if latest is None or latest.followed_up:
            return 0
        return self._follow_up(latest, progress)

    def _follow_up(self, round_row: RoundRow, progress: Progress = no_progress) -> int:
        """Ask everyone in the round, ``CHUNK`` groups to a transaction; those already asked
        (a run stopped part-way) are skipped, so nobody is asked, or counted silent, twice."""
        now = self.clock.now()
        count = done = 0
        groups = self.store.groups_of_round(round_row.id)
        asked = self.store.asked(round_row.id)
        total = sum(len(g.members) for g in groups)
        for start in range(0, len(groups), CHUNK):
            chunk = groups[start : start + CHUNK]
            with self.store.atomic():
                people = self.store.members_by_email([e for g in chunk for e in g.members])
                silent = []  # until they answer: three unanswered in a row pause them
                for group in chunk:
                    members = [people[e] for e in group.members if e in people]
                    for member in members:
                        if member.state == State.left or (group.id, member.email) in asked:
                            continue
                        others = [m for m in members if m.email != member.email]
                        self._ask(round_row, group, member, others, now)
                        silent.append(member.email)
                self.store.count_unanswered(silent)
                count += len(silent)
            done += sum(len(g.members) for g in chunk)
            progress(done, total)
        with self.store.atomic():
            self.store.mark_followed_up(round_row.id, now)
            checkpoint("followup.before_commit")
        checkpoint("followup.after_commit")
        log.info("round %s: %d follow-up(s) queued", round_row.number, count)
        return count

    def _ask(self, round_row: RoundRow, group: GroupRow, member: Member,
             others: list[Member], now: datetime) -> None:  # fmt: skip
        bot = self.config.bot
        code = f"{round_row.number}-{group.number}-{self.make_code()}"
        message_id = make_msgid(idstring="followup", domain=bot.domain)
        self.store.add_followup(round_row.id, group.id, member.email, code, message_id, now)
        context = {
            "bot": bot.view,
            "person": view(member),
            "others": [first_name(m.name) or m.email for m in others] or ["your match"],
            "code": code,
        }
        rendered = self.renderer.render("followup", context)
        key = f"followup:{round_row.slot}:{group.number}:{member.email}"
        queue_email(self.store, bot, key, "followup", [(member.name, member.email)], rendered,
                    now, message_id=message_id)  # fmt: skip

    # --- capturing ---------------------------------------------------------------------

    def capture(self, msg: EmailMessage, followup: FollowupRow, subject: str,
                now: datetime) -> tuple[str, dict[str, Any]]:  # fmt: skip
        """Store what a reply says; returns (outcome for the log, context for the thanks)."""
        member = self.store.get_member(followup.email)
        display, address = sender_address(msg)
        names = (*((member.name,) if member is not None and member.name else ()), display,
                 address.partition("@")[0])  # fmt: skip
        extracted = extract_learning(msg, names)
        answer = read_answer(extracted.text, subject)
        # The flags are read from everything the person typed, before any trimming: a flag
        # lost with a closing or a footer would publish a name.
        flags = flags_in(extracted.raw)
        if "private" in flags:
            answer = replace(answer, visibility=Visibility.private)
        elif "anonymous" in flags and answer.visibility == Visibility.public:
            answer = replace(answer, visibility=Visibility.anonymous)
        self.store.answer_followup(followup, now)
        self.store.reset_missed_followups(followup.email)
        if answer.met is not None:
            group = followup.group_id
            self.store.set_group_met(group, group_met(self.store.group_met(group), answer.met))
        context: dict[str, Any] = {"met": answer.met, "visibility": answer.visibility.value,
                                   "learning": bool(answer.learning), "review": False,
                                   "changed": False}  # fmt: skip
        if not answer.learning and answer.met is None and answer.visibility != "public":
            # A bare "private" or "anonymous": it is about what they sent before.
            earlier = self.store.latest_unpublished_learning(followup.email)
            if earlier is not None:
                self.store.set_visibility(earlier.id, answer.visibility.value)
                if answer.visibility == Visibility.anonymous:  # checked as public before
                    gate = check_learning(earlier.text, names=names, anonymous=True,
                                          allowed=(self.config.bot.address,))  # fmt: skip
                    if gate.held:
                        self.store.hold_learning(earlier.id, gate.held)
                context.update(changed=True)
                return f"learning {earlier.id} now {answer.visibility.value}", context
        if not answer.learning and not extracted.needs_review:
            return f"answer: met={answer.met}", context
        if extracted.needs_review and not answer.learning:
            text, raw, review, reason = "", extracted.raw, True, extracted.reason
        else:
            text, raw, review, reason = (answer.learning, extracted.raw, extracted.needs_review,
                                         extracted.reason)  # fmt: skip
            gate = check_learning(text, names=names,
                                  anonymous=answer.visibility == Visibility.anonymous,
                                  signature=extracted.removed,
                                  allowed=(self.config.bot.address,))  # fmt: skip
            text = gate.text
            if gate.held:
                review, reason = True, gate.held
            elif not review and too_short(text):
                review, reason = True, "too short to publish unread"
        learning_id = self.store.add_learning(followup, text, raw, review, reason,
                                              answer.visibility.value, now)  # fmt: skip
        context.update(learning=True, review=review)
        flag = " (flagged for review)" if review else ""
        return f"learning {learning_id} {answer.visibility.value}{flag}", context
