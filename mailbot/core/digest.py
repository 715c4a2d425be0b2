"""The digest's content from stored learnings: pure data in, data out, ready for templates.

Learnings are grouped by round (newest first) and numbered in order, so moderators can say
``drop 3 7``. Private learnings and those flagged for review never appear; anonymous ones
appear without a name. The figures cover exactly the rounds the digest reports on (those
whose follow-ups went out since the last digest). The chart is the share of groups that met
in each of the last rounds up to the newest reported on, with the counts: drawn only when
the digest reports on a round and there are two or more to compare, by the HTML template
with table cells, which every mail client renders (inline SVG and scripts are not).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Learning:
    """A learning as the digest reads it, with who wrote it and the round it came from."""

    id: int
    round_number: int
    text: str
    visibility: str  # public, anonymous or private
    needs_review: bool
    first_name: str = ""
    org: str = ""
    email: str = ""
    reason: str = ""  # why it waits for an organiser, when it does
    raw: str = ""  # what was typed, before extraction


@dataclass(frozen=True)
class RoundStat:
    number: int
    groups: int
    met: int


@dataclass(frozen=True)
class Item:
    number: int
    learning_id: int
    text: str
    author: str  # "Anne, Example Council", or "Anonymous"


@dataclass(frozen=True)
class Section:
    title: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Bar:
    label: str
    groups: int
    met: int
    percent: int  # the share of groups that met, 0-100: the width of the bar


CHART_ROUNDS = 6


@dataclass(frozen=True)
class Digest:
    year: int
    issue: int
    sections: tuple[Section, ...]
    groups: int
    met: int
    new_members: int
    bars: tuple[Bar, ...]
    rounds: tuple[int, ...] = ()  # the rounds the figures cover
    month: str = ""  # "December 2026": when the digest was made
    first: bool = False  # no digest before it: "new members" means everyone so far

    @property
    def items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]

    @property
    def title(self) -> str:
        numbered = f"Vol {self.year}, Issue {self.issue}"
        return f"{self.month} ({numbered})" if self.month else numbered

    @property
    def covered(self) -> str:
        """"Round 5", "Rounds 4 and 5", "Rounds 3, 4 and 5"."""
        names = [str(n) for n in self.rounds]
        if len(names) < 2:
            return f"Round {''.join(names)}"
        return f"Rounds {', '.join(names[:-1])} and {names[-1]}"


def publishable(learning: Learning) -> bool:
    return (
        learning.visibility != "private"
        and not learning.needs_review
        and bool((learning.text or "").strip())
    )


def build_digest(learnings: list[Learning], rounds: list[RoundStat],
                 new_members: int, year: int, issue: int,
                 dropped: frozenset[int] = frozenset(),
                 chart: list[RoundStat] | None = None, month: str = "",
                 first: bool = False) -> Digest:  # fmt: skip
    """``rounds``: the rounds reported on; ``chart``: earlier rounds too, for the picture;
    ``dropped``: learning ids a moderator removed."""
    kept = [x for x in learnings if publishable(x) and x.id not in dropped]
    by_round: dict[int, list[Learning]] = {}
    for learning in sorted(kept, key=lambda x: (-x.round_number, x.id)):
        by_round.setdefault(learning.round_number, []).append(learning)
    sections = []
    number = 0
    for round_number, rows in by_round.items():
        items = []
        for row in rows:
            number += 1
            items.append(Item(number, row.id, row.text.strip(), _author(row)))
        sections.append(Section(f"Round {round_number}", tuple(items)))
    covered = tuple(sorted(r.number for r in rounds))
    return Digest(
        year=year, issue=issue, sections=tuple(sections),
        groups=sum(r.groups for r in rounds), met=sum(r.met for r in rounds),
        new_members=new_members, bars=_bars(rounds, chart or []),
        rounds=covered, month=month, first=first,
    )  # fmt: skip


def _bars(rounds: list[RoundStat], history: list[RoundStat]) -> tuple[Bar, ...]:
    """The last rounds up to the newest one covered; none for a digest that covers no round,
    nor a single bar, which compares nothing."""
    if not rounds:
        return ()
    rows = {r.number: r for r in history}
    rows.update({r.number: r for r in rounds})
    newest = max(r.number for r in rounds)
    shown = sorted(n for n in rows if n <= newest)[-CHART_ROUNDS:]
    if len(shown) < 2:
        return ()
    return tuple(
        Bar(f"Round {n}", rows[n].groups, rows[n].met,
            round(100 * rows[n].met / rows[n].groups) if rows[n].groups else 0)
        for n in shown
    )  # fmt: skip


def _author(row: Learning) -> str:
    if row.visibility == "anonymous":
        return "Anonymous"
    name = row.first_name or "A member"
    return f"{name}, {row.org}" if row.org else name


def parse_moderation(lines: list[str]) -> tuple[bool, set[int]]:
    """``approve`` and ``drop 3 7`` (numbers as listed in the preview), in any lines."""
    approve = False
    drop: set[int] = set()
    for line in lines:
        words = line.lower().replace(",", " ").split()
        if not words:
            continue
        if words[0] in ("approve", "approved"):  # not "send": "send me the list" is a question
            approve = True
        elif words[0] in ("drop", "remove"):
            drop.update(int(w) for w in words[1:] if w.isdigit())
    return approve, drop
