"""When rounds are due: slots from a cadence, in the scheme's own time zone.

A slot is the moment a round should start. ``latest_slot`` gives the most recent slot at or
before ``now``; the daemon runs a round for it unless one already ran since, so after downtime
it catches up once, not once per missed slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

# Weekly cadences count weeks from this Monday, so "every 2 weeks" falls on the same weeks
# whatever day the service was installed.
ANCHOR = date(2024, 1, 1)


@dataclass(frozen=True)
class Cadence:
    kind: str  # "monthly" (the first <weekday> of each month) or "weekly"
    weekday: int  # Monday = 0
    at: time
    every: int = 1  # weekly: every N weeks

    @property
    def period(self) -> timedelta:
        """About how long between rounds (a month counts as 4 weeks)."""
        return timedelta(weeks=4 if self.kind == "monthly" else self.every)

    def describe(self) -> str:
        day = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
               "Sunday")[self.weekday]  # fmt: skip
        when = f"{day} at {self.at.strftime('%H:%M')}"
        if self.kind == "monthly":
            return f"the first {when} of each month"
        return (
            f"every {day}"
            + (f" of every {self.every} weeks" if self.every > 1 else "")
            + f" at {self.at.strftime('%H:%M')}"
        )


def latest_slot(cadence: Cadence, now: datetime, tz: tzinfo) -> datetime:
    """The most recent slot at or before ``now`` (an aware datetime), as an aware datetime."""
    local = now.astimezone(tz)
    if cadence.kind == "monthly":
        candidates = [_first_weekday(local.year, local.month, cadence.weekday)]
        year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
        candidates.append(_first_weekday(year, month, cadence.weekday))
    else:
        candidates = [
            local.date() - timedelta(days=back)
            for back in range(0, 7 * cadence.every + 7)
            if _weekly_day(local.date() - timedelta(days=back), cadence)
        ]
    slots = [datetime.combine(day, cadence.at, tzinfo=tz) for day in candidates]
    return max(slot for slot in slots if slot <= local)


def due_slot(
    cadence: Cadence, now: datetime, tz: tzinfo, since: datetime, last_round: datetime | None
) -> datetime | None:
    """The slot whose round should start now, or None.

    - Slots before ``since`` (when the schedule started) never run.
    - A round that started at most a quarter period before a slot (say a manual ``pair`` the
      Friday before) stands in for that slot's round.
    - After downtime the missed round runs once, late, but only while the next slot is at
      least half a period away, and not before the slot's time of day.
    """
    slot = latest_slot(cadence, now, tz)
    if slot <= since:
        return None
    if last_round is not None and last_round >= slot - cadence.period / 4:
        return None
    if next_slot(cadence, now, tz) - now < cadence.period / 2:
        return None
    if now - slot >= timedelta(days=1) and now.astimezone(tz).time() < cadence.at:
        return None
    return slot


def next_slot(cadence: Cadence, now: datetime, tz: tzinfo) -> datetime:
    """The first slot strictly after ``now``."""
    probe = now
    for _ in range(400):
        probe += timedelta(days=1)
        slot = latest_slot(cadence, probe, tz)
        if slot > now:
            return slot
    raise ValueError("no slot within 400 days")  # unreachable for valid cadences


def _first_weekday(year: int, month: int, weekday: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7)


def _weekly_day(day: date, cadence: Cadence) -> bool:
    weeks = (day - ANCHOR).days // 7
    return day.weekday() == cadence.weekday and weeks % cadence.every == 0
