"""What the CLI prints about members: a table for people, CSV for spreadsheets, JSON."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

MEMBER_COLUMNS = [
    "email",
    "name",
    "org",
    "state",
    "pairing",
    "digest",
    "phone",
    "skype",
    "google",
    "about",
    "pause_rounds",
    "paused_until",
    "created_at",
    "confirmed_at",
    "left_at",
]


def _receives(row: dict[str, Any]) -> str:
    """What a member gets: the pairing rounds, the digest, both (or neither, once left)."""
    if row.get("state") == "left":
        return ""
    parts = [name for name, key in (("rounds", "pairing"), ("digest", "digest"))
             if row.get(key, 1)]  # fmt: skip
    return " + ".join(parts) or "nothing"


def format_members(rows: Iterable[dict[str, Any]], fmt: str) -> str:
    return "".join(member_lines(rows, fmt))


def member_lines(rows: Iterable[dict[str, Any]], fmt: str) -> Iterator[str]:
    """The output a piece at a time: JSON and CSV for 100,000 members never sit in memory
    whole (the table needs every row for its widths: it is for reading, not for scripts)."""
    if fmt == "json":
        yield from _json_lines(rows)
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=MEMBER_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _spreadsheet_safe(v) for k, v in row.items()})
            if out.tell() > 65_536:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()
    else:
        yield _table(list(rows))


def _json_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """What ``json.dumps(list(rows), indent=2)`` prints, one member at a time."""
    first = True
    for row in rows:
        item = json.dumps(row, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        yield ("[\n  " if first else ",\n  ") + item
        first = False
    yield "[]\n" if first else "\n]\n"


def _table(rows: list[dict[str, Any]]) -> str:
    columns = ["email", "name", "org", "state", "receives"]
    table = [columns] + [[str(r[c] or "") for c in columns[:-1]] + [_receives(r)] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"({len(rows)} member{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"


# A cell (or any part of one a spreadsheet may split off at ; , tab or |) that starts with
# = + - @ (or a tab or CR) would run as a formula: such a start gets a leading apostrophe.
_FORMULA_START = re.compile(r"(^|[;,\t|])(\s*)(?=[=+\-@\t\r])")


def _spreadsheet_safe(value: Any) -> Any:
    """The value with every would-be formula start neutralised, whatever the delimiter."""
    if not isinstance(value, str):
        return value
    return _FORMULA_START.sub(lambda m: f"{m.group(1)}{m.group(2)}'", value)
