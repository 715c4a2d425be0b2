"""Read a members CSV (for schemes moving from a spreadsheet): rows in, problems listed.

Columns: ``email`` (required), then any of ``name, org, phone, skype, google, about``, in any
order, with the same aliases as profile lines (``organisation``, ``mobile``…). Commas,
semicolons (Excel in many locales) and tabs all work. Every problem is reported with its line
number; nothing is imported if there is one.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection
from dataclasses import dataclass

from mailbot.core.commands import PROFILE_FIELDS, PROFILE_KEYS, PROFILE_MAX, clean_value

COLUMNS = ("email", *PROFILE_FIELDS)
EMAIL_COLUMNS = {"email", "e-mail", "email address", "e-mail address", "mail"}
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class RosterRow:
    line: int
    email: str
    profile: tuple[tuple[str, str], ...]


def parse_roster(text: str, refused: Collection[str] = ()) -> tuple[list[RosterRow], list[str]]:
    """Rows and problems; ``refused`` addresses (the bot's own) are problems too."""
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count) if first_line else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, [])
    columns = [_column(h) for h in header]
    if "email" not in columns:
        return [], ["line 1: the first line must name the columns, including email"]
    unknown = [h for h, c in zip(header, columns, strict=True) if c is None and h.strip()]
    if unknown:
        return [], [f"line 1: unknown column(s) {', '.join(unknown)}; use {', '.join(COLUMNS)}"]
    rows: list[RosterRow] = []
    problems: list[str] = []
    seen: set[str] = set()
    for cells in reader:
        number = reader.line_num  # the line the row ended on: blank lines count too
        values = {c: v for c, v in zip(columns, cells, strict=False) if c}
        email = values.get("email", "").strip().lower()
        if not any(v.strip() for v in cells):
            continue
        problem = _problem(email, seen, refused)
        if problem:
            problems.append(f"line {number}: {problem}")
            continue
        seen.add(email)
        profile = tuple((key, clean_value(values[key], PROFILE_MAX[key]))
                        for key in PROFILE_FIELDS if values.get(key, "").strip())  # fmt: skip
        rows.append(RosterRow(number, email, profile))
    return rows, problems


def _column(header: str) -> str | None:
    name = " ".join(header.strip().lower().split())
    if name in EMAIL_COLUMNS:
        return "email"
    return PROFILE_KEYS.get(name)


def _problem(email: str, seen: set[str], refused: Collection[str]) -> str:
    if not _EMAIL_RE.fullmatch(email):
        return f"{email or '(empty)'} is not an email address"
    if email in seen:
        return f"{email} appears twice"
    if email in refused:
        return f"{email} is the bot's own address"
    return ""
