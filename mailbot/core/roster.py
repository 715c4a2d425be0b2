"""Read a members CSV (for schemes moving from a spreadsheet): rows in, problems listed.

Columns: ``email`` (required), then any of ``name, org, phone, skype, google, about``, in any
order. Every problem is reported with its line number; nothing is imported if there is one.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from mailbot.core.commands import PROFILE_FIELDS, PROFILE_MAX, clean_value

COLUMNS = ("email", *PROFILE_FIELDS)
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class RosterRow:
    line: int
    email: str
    profile: tuple[tuple[str, str], ...]


def parse_roster(text: str) -> tuple[list[RosterRow], list[str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "email" not in header:
        return [], ["line 1: the first line must name the columns, including email"]
    unknown = sorted(set(header) - set(COLUMNS) - {""})
    if unknown:
        return [], [f"line 1: unknown column(s) {', '.join(unknown)}; use {', '.join(COLUMNS)}"]
    rows: list[RosterRow] = []
    problems: list[str] = []
    seen: set[str] = set()
    for raw in reader:
        number = reader.line_num  # the line the row ended on: blank lines are skipped
        values = {(k or "").strip().lower(): (v or "") for k, v in raw.items() if k}
        email = values.get("email", "").strip().lower()
        if not any(v.strip() for v in values.values()):
            continue  # blank line
        if not _EMAIL_RE.fullmatch(email):
            problems.append(f"line {number}: {email or '(empty)'} is not an email address")
            continue
        if email in seen:
            problems.append(f"line {number}: {email} appears twice")
            continue
        seen.add(email)
        profile = tuple((key, clean_value(values[key], PROFILE_MAX[key]))
                        for key in PROFILE_FIELDS if values.get(key, "").strip())  # fmt: skip
        rows.append(RosterRow(number, email, profile))
    return rows, problems
