"""The digest's content from stored learnings: pure data in, data out, ready for templates.

Learnings are grouped by round (newest first) and numbered in order, so moderators can say
``drop 3 7``. Private learnings and those flagged for review never appear; anonymous ones
appear without a name. The chart is bars in percent, drawn by the HTML template with table
cells, which every mail client renders (inline SVG and scripts are not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
    percent: int  # width of the "met" bar, 0-100


@dataclass(frozen=True)
class Digest:
    year: int
    issue: int
    sections: tuple[Section, ...]
    groups: int
    met: int
    new_members: int
    bars: tuple[Bar, ...]

    @property
    def items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]

    @property
    def title(self) -> str:
        return f"Vol {self.year}, Issue {self.issue}"


def publishable(learning: dict[str, Any]) -> bool:
    return (
        learning["visibility"] != "private"
        and not learning["needs_review"]
        and bool((learning["text"] or "").strip())
    )


def build_digest(learnings: list[dict[str, Any]], rounds: list[dict[str, Any]],
                 new_members: int, year: int, issue: int,
                 dropped: frozenset[int] = frozenset(),
                 chart: list[dict[str, Any]] | None = None) -> Digest:  # fmt: skip
    """``learnings`` rows carry round_number, first_name and org; ``rounds`` rows (the rounds
    reported on) and ``chart`` rows (the last few, for the picture) carry number, groups and
    met. ``dropped`` are learning ids a moderator removed."""
    kept = [x for x in learnings if publishable(x) and x["id"] not in dropped]
    by_round: dict[int, list[dict[str, Any]]] = {}
    for learning in sorted(kept, key=lambda x: (-x["round_number"], x["id"])):
        by_round.setdefault(learning["round_number"], []).append(learning)
    sections = []
    number = 0
    for round_number, rows in by_round.items():
        items = []
        for row in rows:
            number += 1
            items.append(Item(number, row["id"], row["text"].strip(), _author(row)))
        sections.append(Section(f"Round {round_number}", tuple(items)))
    bars = tuple(
        Bar(f"Round {r['number']}", r["groups"], r["met"],
            round(100 * r["met"] / r["groups"]) if r["groups"] else 0)
        for r in sorted(rounds if chart is None else chart, key=lambda r: r["number"])[-6:]
    )  # fmt: skip
    return Digest(
        year=year, issue=issue, sections=tuple(sections),
        groups=sum(r["groups"] for r in rounds), met=sum(r["met"] for r in rounds),
        new_members=new_members, bars=bars,
    )  # fmt: skip


def _author(row: dict[str, Any]) -> str:
    if row["visibility"] == "anonymous":
        return "Anonymous"
    name = row.get("first_name") or "A member"
    return f"{name}, {row['org']}" if row.get("org") else name


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
