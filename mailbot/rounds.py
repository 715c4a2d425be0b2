"""Pairing rounds: who takes part, the matching, the intros.

A round is keyed by its slot (the scheduled moment, or ``manual <time>`` for ``mailbot pair``).
The groups and the pause countdowns commit together, and a slot that already has a round is
never run again, so two triggers or a crash and restart cannot pair anyone twice. The intros
are queued after that commit, ``CHUNK`` groups to a transaction (a `send` beside a round of
100,000 waits a moment, not minutes), each under its own key; a round stopped before all of
them were queued is finished by the next `pair`, scheduled cycle or `run`, and no intro is
queued twice.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from email.utils import make_msgid
from typing import Any

from mailbot.clock import Clock
from mailbot.config import Config
from mailbot.core.membership import Member, State, view
from mailbot.core.pairing import Candidate, make_groups
from mailbot.core.schedule import Cadence, due_slot, next_slot
from mailbot.faults import checkpoint
from mailbot.mailer import queue_email
from mailbot.progress import Progress, no_progress
from mailbot.render import Renderer
from mailbot.store import SqliteStore, stamp

log = logging.getLogger(__name__)

MISSED_FOLLOWUPS_LIMIT = 3
CHUNK = 1_000  # groups whose intros are queued in one transaction
WINDOW = 12  # rounds over which an earlier meeting costs more (`core.pairing.repeat_cost`)
FULL_HISTORY_BELOW = 1_000  # candidates: below this, every round ever is read


@dataclass(frozen=True)
class RoundPlan:
    slot: str
    number: int
    seed: int
    groups: tuple[tuple[str, ...], ...]
    unmatched: tuple[str, ...]
    cost: float
    resumed: tuple[str, ...] = ()  # back from a pause today, before the round
    quieted: tuple[str, ...] = ()  # paused before the round: follow-ups unanswered


class Rounds:
    def __init__(
        self,
        config: Config,
        store: SqliteStore,
        renderer: Renderer,
        clock: Clock,
        make_seed: Callable[[], int] | None = None,
    ):
        self.config = config
        self.store = store
        self.renderer = renderer
        self.clock = clock
        self.make_seed = make_seed

    @property
    def cadence(self) -> Cadence:
        r = self.config.rounds
        return Cadence(r.cadence, r.weekday_number, time(*r.hour_minute), r.every)

    # --- planning (no writes) ------------------------------------------------------------

    def plan(self, slot: str, seed: int | None = None, ahead: bool = False) -> RoundPlan:
        """The groups a round would make now; changes nothing. Each round's seed comes from
        its number (unless given), so a plan made `ahead` (a dry run, which also counts the
        pauses that end today and the members about to be paused for silence) is the round
        that `run` will make."""
        latest = self.store.latest_round()
        number = (latest.number if latest else 0) + 1
        if seed is None:
            seed = self.make_seed() if self.make_seed else self.store.round_seed(number)
        own = {self.config.bot.address}
        active = self.store.members_in(State.active)
        resumed: list[Member] = []
        quiet: set[str] = set()
        if ahead:
            resumed = self.store.members_to_resume(self.config.local_date(self.clock.now()))
            quiet = {m.email for m in self.store.unresponsive(MISSED_FOLLOWUPS_LIMIT)}
        members = [
            m
            for m in sorted([*active, *resumed], key=lambda m: m.email)
            if m.pairing and not (m.skip_next and m.state == State.active)
            and m.email not in own and m.email not in quiet
        ]
        seats = self.store.trio_seats()
        candidates = [
            Candidate(m.email, m.org.strip().lower(), seats.get(m.email, 0)) for m in members
        ]
        # A big pool has fresh partners for everyone: only the rounds that cost more than a
        # meeting long ago are read (the window of 12 and one more), not years of history.
        since = number - WINDOW - 2 if len(candidates) >= FULL_HISTORY_BELOW else 0
        met = self.store.meetings(number, since)
        result = make_groups(candidates, met, self.store.blocks(), random.Random(seed))
        return RoundPlan(slot, number, seed, result.groups, result.unmatched, result.cost,
                         tuple(m.email for m in resumed if m.pairing), tuple(sorted(quiet)))

    # --- running -------------------------------------------------------------------------

    def run_due(self) -> RoundPlan | None:
        """Start the round for the latest scheduled slot, unless one ran since (catch up once)."""
        if not self.config.rounds.enabled:
            return None
        self.finish_intros()
        now = self.clock.now()
        since = self.store.setting("schedule_since")
        if since is None:  # the schedule starts now: no round for slots before installation
            self.store.set_setting("schedule_since", stamp(now))
            return None
        latest = self.store.latest_round()
        last = latest.started_at if latest else None
        slot = due_slot(self.cadence, now, self.config.tz, datetime.fromisoformat(since), last)
        if slot is None:
            return None
        return self.run(slot.isoformat(timespec="minutes"))

    def run(self, slot: str, seed: int | None = None,
            progress: Progress = no_progress) -> RoundPlan | None:  # fmt: skip
        """Run the round for ``slot``; None when that slot already has one."""
        now = self.clock.now()
        with self.store.atomic():
            if self.store.round_by_slot(slot) is not None:
                return None
            self._pause_unresponsive(slot, now)
            plan = self.plan(slot, seed)
            followup_at = now + timedelta(days=self.config.rounds.followup_after_days)
            candidates = sum(map(len, plan.groups)) + len(plan.unmatched)
            round_id = self.store.add_round(
                slot,
                plan.number,
                plan.seed,
                now,
                plan.cost,
                candidates,
                list(plan.unmatched),
                followup_at,
            )
            movers = self.store.first_mover_counts()
            rng = random.Random(plan.seed)  # the same seed replays the same first movers
            for number, group in enumerate(plan.groups, 1):
                # Whoever has been asked to make the first move least often is asked now.
                first = min(sorted(group), key=lambda e: (movers.get(e, 0), rng.random()))
                message_id = make_msgid(idstring="intro", domain=self.config.bot.domain)
                trio_seat = group[2] if len(group) == 3 else ""
                self.store.add_group(round_id, number, group, trio_seat, first, message_id)
            for email in plan.unmatched:
                self._no_match(plan, email, now)
            self._count_down(plan, now)
            checkpoint("pair.before_commit")
        checkpoint("pair.after_commit")
        self._queue_intros(round_id, plan, progress)
        log.info(
            "round %s (%s): %d group(s), %d unmatched, seed %s",
            plan.number,
            slot,
            len(plan.groups),
            len(plan.unmatched),
            plan.seed,
        )
        return plan

    def too_soon(self) -> str:
        """Why a manual round now would be a second one in quick succession ("" if not)."""
        latest = self.store.latest_round()
        if latest is None:
            return ""
        started = latest.started_at
        if self.clock.now() - started >= self.cadence.period / 2:
            return ""
        local = started.astimezone(self.config.tz).strftime("%A %-d %B at %H:%M")
        return f"round {latest.number} ran on {local}"

    def next_due(self) -> datetime:
        return next_slot(self.cadence, self.clock.now(), self.config.tz)

    # --- emails --------------------------------------------------------------------------

    def finish_intros(self, progress: Progress = no_progress) -> int:
        """Queue the intros of a round stopped before all were queued; how many rounds."""
        rounds = self.store.rounds_without_intros()
        for row in rounds:
            plan = RoundPlan(row.slot, row.number, row.seed, (), (), 0.0)
            self._queue_intros(row.id, plan, progress)
            log.info("round %s: the intros left to queue are queued", row.number)
        return len(rounds)

    def _queue_intros(self, round_id: int, plan: RoundPlan, progress: Progress) -> None:
        """Every group's intro, ``CHUNK`` groups to a transaction; the key of each is the
        round's slot and the group's number, so a restart queues only those still missing."""
        last = self.store.last_group_number(round_id)
        now = self.clock.now()
        base = self._context(plan, now)
        for first in range(1, last + 1, CHUNK):
            with self.store.atomic():
                groups = self.store.intro_groups(round_id, first, first + CHUNK - 1)
                people = self.store.members_by_email([e for g in groups for e in g.members])
                for group in groups:
                    key = f"intro:{plan.slot}:{group.number}"
                    first_mover = group.first_mover or group.members[0]
                    self._send_intro(plan, key, group.members, first_mover, group.message_id,
                                     now, people=people, base=base)  # fmt: skip
            progress(min(first + CHUNK - 1, last), last)
        with self.store.atomic():
            self.store.mark_intros_queued(round_id, now)

    def _send_intro(
        self,
        plan: RoundPlan,
        key: str,
        group: list[str],
        first_email: str,
        message_id: str,
        now: datetime,
        to_only: list[str] | None = None,
        *,
        people: dict[str, Member] | None = None,
        base: dict[str, Any] | None = None,
    ) -> None:
        """The intro of one group (``people`` and ``base`` context: read once a chunk)."""
        if people is None:
            people = self.store.members_by_email(group)
        members = [people[email] for email in group if email in people]
        first = next(m for m in members if m.email == first_email)
        context = {**(base or self._context(plan, now)), "people": [view(m) for m in members],
                   "first_mover": view(first)}  # fmt: skip
        rendered = self.renderer.render("intro", context)
        everyone = [(m.name, m.email) for m in members]
        to = [p for p in everyone if to_only is None or p[1] in to_only]
        self._queue(key, "intro", to, rendered, now, message_id, everyone)

    def withdraw(self, email: str, now: datetime, forgotten: bool = False) -> int:
        """Someone leaves (or asks to be forgotten) while their intro still waits in the outbox
        (an SMTP outage, the hourly cap): the intro is cancelled before it carries their name
        and phone to anyone, the others get a new intro without them, or a "no match" email
        when nobody is left to meet. Someone ``forgotten`` is also taken out of deferred
        copies of their group's intro still due to others. Returns how many were withdrawn."""
        if forgotten:
            for copy in self.store.queued_copies_naming(email):
                self.store.cancel_mail(copy.outbox_id)
                plan = RoundPlan(copy.slot, copy.round_number, 0, (), (), 0.0)
                group = [e for e in self.store.group_emails(copy.group_id) if e != email]
                first = copy.first_mover if copy.first_mover in group else group[0]
                self._send_intro(
                    plan,
                    f"{copy.key}:without",
                    group,
                    first,
                    copy.message_id,
                    now,
                    to_only=list(copy.recipients),
                )
        rows = self.store.queued_intros_for(email)
        for row in rows:
            self.store.cancel_mail(row.outbox_id)
            if row.copy_of:  # the others already have this intro: only theirs goes
                continue
            rest = self.store.leave_group(row.group_id, email)
            if len(rest) == 2:  # a trio became a pair: nobody sat in a trio after all
                self.store.clear_trio_seats(row.group_id)
            plan = RoundPlan(row.slot, row.round_number, 0, (), (), 0.0)
            key = f"{row.key}:{len(rest)}"  # each shrink of the group is its own event
            if len(rest) < 2:
                self.store.drop_group(row.group_id)
                for alone in rest:
                    self._no_match(plan, alone, now, key=f"nomatch:{key}:{alone}")
                continue
            counts = self.store.first_mover_counts()
            first = (
                row.first_mover
                if row.first_mover in rest
                else min(rest, key=lambda e: (counts.get(e, 0), e))
            )
            message_id = make_msgid(idstring="intro", domain=self.config.bot.domain)
            self.store.set_group_intro(row.group_id, first, message_id)
            self._send_intro(plan, key, rest, first, message_id, now)
        if rows:
            log.info("withdrew %d queued intro(s) of a member who left", len(rows))
        return len(rows)

    def _no_match(self, plan: RoundPlan, email: str, now: datetime, key: str = "") -> None:
        member = self.store.get_member(email)
        if member is None:
            return
        self._tell(member, key or f"nomatch:{plan.slot}:{email}", "no_match",
                   self._context(plan, now, person=view(member)), now)  # fmt: skip

    def _tell(self, member: Member, key: str, template: str, context: dict[str, Any],
              now: datetime) -> None:  # fmt: skip
        """A notice about the rounds to one member, once per `key`."""
        rendered = self.renderer.render(template, context)
        self._queue(key, "notice", [(member.name, member.email)], rendered, now)

    def _pause_unresponsive(self, slot: str, now: datetime) -> None:
        """Three follow-ups in a row unanswered: pause, kindly, rather than pair a ghost."""
        for member in self.store.unresponsive(MISSED_FOLLOWUPS_LIMIT):
            paused = replace(member, state=State.paused, pause_rounds=None, paused_until=None)
            self.store.save_member(paused, now)
            self.store.reset_missed_followups(member.email)
            self.store.event(member.email, "pause", "no answer to 3 follow-ups", now)
            context = {"bot": self.config.bot.view, "person": view(paused)}
            self._tell(paused, f"quiet:{slot}:{member.email}", "paused_quiet", context, now)

    def _count_down(self, plan: RoundPlan, now: datetime) -> None:
        """``pause N`` counts rounds; ``skip next`` lasts one round."""
        for member in self.store.members_in(State.paused):
            if member.pause_rounds is None:
                continue
            left = member.pause_rounds - 1
            if left > 0:
                self.store.save_member(replace(member, pause_rounds=left), now)
                continue
            back = replace(member, state=State.active, pause_rounds=None)
            self.store.save_member(back, now)
            self.store.event(member.email, "resume", f"after round {plan.number}", now)
            self._tell(back, f"backin:{plan.slot}:{member.email}", "back_in",
                       self._context(plan, now, person=view(back)), now)  # fmt: skip
        self.store.clear_skip_next()  # for everyone: it means the next round only

    def _context(self, plan: RoundPlan, now: datetime, **extra: Any) -> dict[str, Any]:
        rounds = self.config.rounds
        prompts = rounds.prompts
        start = (plan.number - 1) * 3
        local = now.astimezone(self.config.tz)
        monday = local.date() + timedelta(days=(7 - local.weekday()) % 7)
        followup = local.date() + timedelta(days=rounds.followup_after_days)
        return {
            "bot": self.config.bot.view,
            "round": plan.number,
            "prompts": [prompts[(start + i) % len(prompts)] for i in range(3)],
            "suggested_week": monday.strftime("%A %-d %B"),
            "followup_date": followup.strftime("%A %-d %B"),
            "next_round": self.next_due().astimezone(self.config.tz).strftime("%A %-d %B"),
            "scheduled": rounds.enabled,
            **extra,
        }

    def _queue(self, key: str, kind: str, to: list[tuple[str, str]], rendered: Any,
               now: datetime, message_id: str = "",
               reply_to: list[tuple[str, str]] | None = None) -> None:  # fmt: skip
        queue_email(self.store, self.config.bot, key, kind, to, rendered, now,
                    message_id=message_id, reply_to=reply_to)  # fmt: skip
