"""The project's own table of realistic replies and the new text each should keep.

Read by tests/test_reply_cases.py and benchmarks/replies.py; the format and the policy are in
README.md beside this file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIELDS = ("lang", "client", "kinds", "from", "format")
FORMATS = ("text", "html")
KINDS = {
    "plain", "attribution", "attribution-wrapped", "header", "forward", "quote", "inline",
    "bottom-post", "signature", "signoff", "footer", "banner", "disclaimer", "html",
    "lookalike", "empty",
}  # fmt: skip
_MARK = re.compile(r"^#### (case|body|expected|end)(?: (\S+))?\s*$")


@dataclass(frozen=True)
class ReplyCase:
    id: str
    lang: str
    client: str
    kinds: tuple[str, ...]
    sender: str  # the From header: "Anne Person <anne@example.org>"
    format: str  # "text" or "html"
    body: str
    expected: str
    file: str


def load_cases(folder: Path = HERE) -> list[ReplyCase]:
    cases: list[ReplyCase] = []
    for path in sorted(folder.glob("*.cases")):
        cases.extend(parse_cases(path.read_text(encoding="utf-8"), path.name))
    ids = [case.id for case in cases]
    duplicated = {i for i in ids if ids.count(i) > 1}
    if duplicated:
        raise ValueError(f"duplicate case ids: {sorted(duplicated)}")
    return cases


def parse_cases(text: str, name: str = "<string>") -> list[ReplyCase]:
    """Cases of one file; a malformed case raises ValueError naming its line."""
    cases = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        match = _MARK.match(lines[index])
        if not match:
            if lines[index].strip():
                raise ValueError(f"{name}:{index + 1}: text outside a case")
            index += 1
            continue
        if match.group(1) != "case" or not match.group(2):
            raise ValueError(f"{name}:{index + 1}: expected '#### case ID'")
        case, index = _parse_one(lines, index, match.group(2), name)
        cases.append(case)
    return cases


def _parse_one(lines: list[str], index: int, case_id: str, name: str) -> tuple[ReplyCase, int]:
    start = index
    fields: dict[str, str] = {}
    index += 1
    while index < len(lines) and not _MARK.match(lines[index]):
        key, sep, value = lines[index].partition(":")
        if lines[index].strip():
            if not sep or key.strip() not in FIELDS:
                raise ValueError(f"{name}:{index + 1}: unknown field line {lines[index]!r}")
            fields[key.strip()] = value.strip()
        index += 1
    sections: dict[str, list[str]] = {}
    current = None
    while index < len(lines):
        match = _MARK.match(lines[index])
        if match and match.group(1) == "end":
            index += 1
            break
        if match and match.group(1) in ("body", "expected"):
            current = match.group(1)
            sections[current] = []
        elif match:
            raise ValueError(f"{name}:{index + 1}: case {case_id} has no '#### end'")
        elif current is None:
            raise ValueError(f"{name}:{index + 1}: text before '#### body'")
        else:
            sections[current].append(lines[index])
        index += 1
    else:
        raise ValueError(f"{name}:{start + 1}: case {case_id} has no '#### end'")
    missing = [f for f in FIELDS if f not in fields] + [
        s for s in ("body", "expected") if s not in sections
    ]
    if missing:
        raise ValueError(f"{name}:{start + 1}: case {case_id} lacks {missing}")
    kinds = tuple(k.strip() for k in fields["kinds"].split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or fields["format"] not in FORMATS:
        raise ValueError(f"{name}:{start + 1}: case {case_id}: bad kinds/format {unknown}")
    case = ReplyCase(
        id=case_id,
        lang=fields["lang"],
        client=fields["client"],
        kinds=kinds,
        sender=fields["from"],
        format=fields["format"],
        body="\n".join(sections["body"]),
        expected="\n".join(sections["expected"]),
        file=name,
    )
    return case, index


def normalise(text: str, html: bool = False) -> str:
    """The comparison the corpus README describes: line ends, trailing spaces, blank runs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    result = "\n".join(out).strip()
    return "".join(result.split()) if html else result
