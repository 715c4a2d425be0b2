"""Reply extraction against the shared corpus and our own table: ours and a naive baseline.

    python benchmarks/replies.py [--verbose] [--corpus DIR] [--repeat N]

Part 1 reads the shared corpus (below). Part 2 reads the project's own table of realistic
replies (``tests/reply_cases/*.cases``, about 25 languages and 25 clients, written for mailbot;
the blind_* files were written by people who never saw the reader) through the digest's path,
``extract_learning`` (new text without the closing), and prints pass rates per language, kind,
client and source file, with "loses text" and "leaves junk" apart, and how many published
texts would still hold a phone number or a person's address after the privacy gate.

Cases live in ``../shared/corpora/replies/cases/`` (read there, never copied into the project):
``.txt`` bodies go to ``extract_text``, ``.eml`` whole messages (parsed with
``email.policy.default``) to ``extract_reply(...).text``, ``.html`` parts to ``extract_html``.
Each result is compared with ``expected/<stem>.txt`` after the corpus README's normalisation
(line endings to ``\\n``, trailing spaces stripped per line, runs of blank lines collapsed, the
whole stripped); ``.html`` cases are compared with all whitespace removed.

A failure **loses text** when a line of the expected text is missing from ours (for ``.html``:
not found in ours, whitespace removed), and **leaves junk** when ours has a line that is not in
the expected text; one failure can do both. **baseline** is a naive extractor run on the same
text (``body_text`` for messages, ``html_to_text`` for HTML): it cuts at the first line that
starts with ">" or is an "On ... wrote:" line. **review** counts cases ours flags for review
(``Extracted.needs_review``; bodies are wrapped in a message to read it). Times are per
message, the extraction alone (messages are parsed beforehand), best of ``--repeat`` runs.

Nothing here asserts: it prints tables, then one line per target.
"""

from __future__ import annotations

import argparse
import difflib
import email
import email.policy
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mailbot.core.privacy import check_learning  # noqa: E402
from mailbot.core.reader import MAX_READ, command_lines, new_text  # noqa: E402
from mailbot.core.replies import (  # noqa: E402
    extract_html,
    extract_learning,
    extract_reply,
    extract_text,
)
from mailbot.core.text import body_text, html_to_text  # noqa: E402
from tests.reply_cases import ReplyCase, load_cases  # noqa: E402
from tests.reply_cases import normalise as table_normalise  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "replies"
KINDS = {".txt": "text body", ".eml": "message", ".html": "HTML part"}
# Topics by words in the file name; talon's messages and HTML parts are one client each.
TOPICS = [
    ("email_headers", "Outlook header block"),
    ("embedded_email", "attribution + history"),
    ("forwarded", "forwarded message"),
    ("signatures", "mobile footers"),
    ("quote", "quotes"),
    ("spam", "quotes"),
    ("spacers", "formatting"),
    ("formatting", "formatting"),
    ("html_", "client HTML part"),
]
KIND_TOPICS = {".eml": "client message", ".html": "client HTML part", ".txt": "other text body"}
NAIVE_CUT = re.compile(r"^(?:>|On\s.*wrote:\s*$)")


@dataclass
class Case:
    stem: str
    kind: str  # ".txt", ".eml" or ".html"
    source: str  # filename prefix: "discourse", "talon", ...
    topic: str  # from TOPICS: "attribution + history", "Outlook header block" ...
    payload: str | EmailMessage
    expected: str


@dataclass
class Verdict:
    passed: bool
    loses: bool
    junk: bool
    got: str


def load(corpus: Path) -> list[Case]:
    cases = []
    for path in sorted((corpus / "cases").iterdir()):
        if path.suffix not in KINDS:
            continue
        expected = (corpus / "expected" / f"{path.stem}.txt").read_text(encoding="utf-8")
        payload: str | EmailMessage
        if path.suffix == ".eml":
            parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            payload = parsed
        else:
            payload = path.read_text(encoding="utf-8", errors="replace")
        source, _, rest = path.stem.partition("_")
        topic = next((name for key, name in TOPICS if key in rest), KIND_TOPICS[path.suffix])
        cases.append(Case(path.stem, path.suffix, source, topic, payload, expected))
    return cases


# --------------------------------------------------------------------------- extractors


def ours(case: Case) -> str:
    if isinstance(case.payload, EmailMessage):
        return extract_reply(case.payload).text
    if case.kind == ".html":
        return extract_html(case.payload)
    return extract_text(case.payload)


def naive(case: Case) -> str:
    if isinstance(case.payload, EmailMessage):
        text = body_text(case.payload)
    elif case.kind == ".html":
        text = html_to_text(case.payload)
    else:
        text = case.payload
    kept = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if NAIVE_CUT.match(line.strip()):
            break
        kept.append(line)
    return "\n".join(kept)


def as_message(case: Case) -> EmailMessage:
    """The case as a whole message (bodies wrapped in one), to read `needs_review`."""
    if isinstance(case.payload, EmailMessage):
        return case.payload
    msg = EmailMessage()
    msg["From"] = "Anne Person <anne@example.org>"
    msg["Subject"] = "Re: how did it go?"
    msg.set_content(case.payload, subtype="html" if case.kind == ".html" else "plain")
    return msg


# --------------------------------------------------------------------------- scoring


def normalise(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def squeeze(text: str) -> str:
    return "".join(text.split())


def judge(case: Case, got: str) -> Verdict:
    got, want = normalise(got), normalise(case.expected)
    if case.kind == ".html":
        passed = squeeze(got) == squeeze(want)
        loses = any(squeeze(line) not in squeeze(got) for line in want.splitlines())
        junk = any(squeeze(line) not in squeeze(want) for line in got.splitlines())
    else:
        passed = got == want
        ours_lines = {line.strip() for line in got.splitlines()}
        want_lines = {line.strip() for line in want.splitlines()}
        loses = bool(want_lines - ours_lines - {""})
        junk = bool(ours_lines - want_lines - {""})
    return Verdict(passed, not passed and loses, not passed and junk, got)


def timed(extractor: Callable[[Case], str], cases: list[Case], repeat: int) -> list[float]:
    """Seconds per case: the best of `repeat` runs of each case."""
    best = [float("inf")] * len(cases)
    for _ in range(repeat):
        for index, case in enumerate(cases):
            start = time.perf_counter()
            extractor(case)
            best[index] = min(best[index], time.perf_counter() - start)
    return best


# --------------------------------------------------------------------------- report


def table(title: str, groups: dict[str, list[int]], mine: list[Verdict], base: list[Verdict]):
    print(f"{title:<24} {'cases':>5} {'ours':>6} {'baseline':>9}")
    for name in sorted(groups):
        members = groups[name]
        passed = sum(mine[i].passed for i in members)
        baseline = sum(base[i].passed for i in members)
        print(f"{name:<24} {len(members):>5} {passed:>6} {baseline:>9}")
    print()


def diff(case: Case, got: str, limit: int = 24) -> list[str]:
    want = normalise(case.expected)
    lines = list(
        difflib.unified_diff(want.splitlines(), got.splitlines(), "expected", "ours", lineterm="")
    )
    return lines[:limit] + (["..."] if len(lines) > limit else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--verbose", action="store_true", help="show each failing case's diff")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=20, help="timing runs (best is kept)")
    args = parser.parse_args()

    cases = load(args.corpus)
    mine = [judge(case, ours(case)) for case in cases]
    base = [judge(case, naive(case)) for case in cases]
    reviews = [
        (case.stem, result.reason)
        for case in cases
        if (result := extract_reply(as_message(case))).needs_review
    ]

    print(f"Reply extraction: {len(cases)} cases from {args.corpus}\n")
    by_source: dict[str, list[int]] = defaultdict(list)
    by_kind: dict[str, list[int]] = defaultdict(list)
    by_topic: dict[str, list[int]] = defaultdict(list)
    for index, case in enumerate(cases):
        by_source[case.source].append(index)
        by_kind[f"{case.kind} {KINDS[case.kind]}"].append(index)
        by_topic[case.topic].append(index)
    table("source", by_source, mine, base)
    table("case type", by_kind, mine, base)
    table("topic", by_topic, mine, base)

    def row(label: str, cases_count: str, mine_count: object, base_count: object) -> None:
        print(f"{label:<24} {cases_count:>5} {mine_count!s:>6} {base_count!s:>9}")

    row("all", str(len(cases)), sum(v.passed for v in mine), sum(v.passed for v in base))
    row("failures: lose text", "", sum(v.loses for v in mine), sum(v.loses for v in base))
    row("failures: leave junk", "", sum(v.junk for v in mine), sum(v.junk for v in base))
    row("flagged for review", "", len(reviews), "-")
    for stem, reason in reviews:
        print(f"  review: {stem}: {reason}")
    print()

    mine_times = timed(ours, cases, args.repeat)
    base_times = timed(naive, cases, args.repeat)
    for name, times in (("ours", mine_times), ("baseline", base_times)):
        mean = sum(times) / len(times) * 1e6
        slowest = max(times) * 1e6
        worst = cases[times.index(max(times))].stem
        print(f"time per message, {name:<9} mean {mean:8.1f} µs   max {slowest:8.1f} µs ({worst})")
    print()

    failing = [i for i in range(len(cases)) if not mine[i].passed]
    if args.verbose:
        for index in failing:
            case, verdict = cases[index], mine[index]
            what = ", ".join(
                label
                for label, flag in (("loses text", verdict.loses), ("junk", verdict.junk))
                if flag
            )
            print(f"FAIL {case.stem}{case.kind} ({what or 'whitespace'})")
            for line in diff(case, verdict.got):
                print(f"    {line}")
        if failing:
            print()
    elif failing:
        print("failing: " + ", ".join(cases[i].stem for i in failing) + "  (--verbose for diffs)")
        print()

    passed, baseline = sum(v.passed for v in mine), sum(v.passed for v in base)
    print(
        f"target: every case passes ............ {'yes' if passed == len(cases) else 'no'} "
        f"({passed}/{len(cases)}; baseline {baseline}/{len(cases)})"
    )
    lost = sum(v.loses for v in mine)
    print(f"target: no case loses text ........... {'yes' if not lost else 'no'} ({lost})")


# --------------------------------------------------------------------------- our table

_PRIVATE = re.compile(
    r"(?<![\w/.-])(?:\+|00)?\d(?:[\s().-]{0,3}\d){8,14}(?![\w/])|[\w.+-]+@[\w-]+\."
)


def table_message(case: ReplyCase) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = case.sender
    msg["Subject"] = "Re: How did your coffee go?"
    msg.set_content(case.body, subtype="html" if case.format == "html" else "plain")
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def naive_table(case: ReplyCase, msg: EmailMessage) -> str:
    kept = []
    for line in body_text(msg).split("\n"):
        if NAIVE_CUT.match(line.strip()):
            break
        kept.append(line)
    return "\n".join(kept)


def judge_table(case: ReplyCase, got: str) -> Verdict:
    html = case.format == "html"
    want = table_normalise(case.expected)
    got = table_normalise(got)
    passed = table_normalise(got, html) == table_normalise(want, html)
    got_lines = {squeeze(line) for line in got.splitlines()} - {""}
    want_lines = {squeeze(line) for line in want.splitlines()} - {""}
    if html:
        loses = any(line not in squeeze(got) for line in want_lines)
        junk = any(line not in squeeze(want) for line in got_lines)
    else:
        loses, junk = bool(want_lines - got_lines), bool(got_lines - want_lines)
    return Verdict(passed, not passed and loses, not passed and junk, got)


def table_report(verbose: bool) -> None:
    cases = load_cases()
    messages = [table_message(case) for case in cases]
    mine, base, leaks = [], [], []
    for case, msg in zip(cases, messages, strict=True):
        extracted = extract_learning(msg)
        mine.append(judge_table(case, extracted.text))
        base.append(judge_table(case, naive_table(case, msg)))
        gate = check_learning(extracted.text, names=[case.sender.split("<")[0]],
                              signature=extracted.removed,
                              allowed=["coffee@example.org"])  # fmt: skip
        if not gate.held and _PRIVATE.search(gate.text):
            leaks.append(case.id)
    print(f"Our table: {len(cases)} realistic replies (tests/reply_cases), digest path\n")
    groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for index, case in enumerate(cases):
        groups["language"][case.lang].append(index)
        groups["client"][case.client].append(index)
        groups["source file"][case.file].append(index)
        for kind in case.kinds:
            groups["kind"][kind].append(index)
    for title in ("source file", "language", "kind", "client"):
        print(f"{title:<24} {'cases':>5} {'ours':>6} {'loses':>6} {'junk':>5} {'baseline':>9}")
        for name in sorted(groups[title]):
            members = groups[title][name]
            print(f"{name:<24} {len(members):>5} {sum(mine[i].passed for i in members):>6} "
                  f"{sum(mine[i].loses for i in members):>6} "
                  f"{sum(mine[i].junk for i in members):>5} "
                  f"{sum(base[i].passed for i in members):>9}")  # fmt: skip
        print()
    passed, baseline = sum(v.passed for v in mine), sum(v.passed for v in base)
    print(f"{'all':<24} {len(cases):>5} {passed:>6} {sum(v.loses for v in mine):>6} "
          f"{sum(v.junk for v in mine):>5} {baseline:>9}")  # fmt: skip
    print(f"published with a phone number or an address after the gate: {len(leaks)}"
          + (f" ({', '.join(leaks)})" if leaks else ""))  # fmt: skip
    failing = [i for i in range(len(cases)) if not mine[i].passed]
    if verbose:
        for index in failing:
            print(f"FAIL {cases[index].id}")
            want = table_normalise(cases[index].expected).splitlines()
            for line in difflib.unified_diff(want, mine[index].got.splitlines(), "expected",
                                             "ours", lineterm=""):  # fmt: skip
                print(f"    {line}")
    elif failing:
        print("failing: " + ", ".join(cases[i].id for i in failing))
    print(f"\ntarget: table clean ................... {passed / len(cases):.1%} "
          f"({passed}/{len(cases)}; baseline {baseline / len(cases):.1%})")
    lost = sum(v.loses for v in mine)
    print(f"target: no table case loses text ...... {'yes' if not lost else 'no'} ({lost})")
    print(f"target: nothing private published ..... {'yes' if not leaks else 'no'}")


# --------------------------------------------------------------------------- hostile shapes

HOSTILE = {
    "plain lines": "We talked about maps and services today.\n" * 50_000,
    "device lines": "Sent from my iPhone\nLähetetty iPhonesta\n" * 25_000,
    "disclaimer words": "confidential intended recipient in error notify the sender\n" * 30_000,
    "banner words": "CAUTION: external sender do not click links\n" * 30_000,
    "attribution + quote": "On 3 Jun 2024, at 10:00, Bob <b@x.org> wrote:\n> hi\nok\n" * 20_000,
    "one long line": "a" * 2_000_000,
    "long dated colon line": "On 2024-01-01 10:00 " + "x@y.z " * 100_000 + ":\n> q\n",
    "header labels": "From: a@b.c 2024-01-01\n" * 50_000,
    "names": "Anne\n" * 50_000,
    "contact lines": "Tel: 01632 960 123\n" * 50_000,
}


def _learning(text: str) -> object:
    return new_text(text, ["Anne Person"])


def _seconds(work: Callable[[str], object], text: str) -> float:
    start = time.perf_counter()
    work(text)
    return time.perf_counter() - start


def hostile_report() -> None:
    """The reader on megabytes of hostile text: it reads the first MAX_READ characters, so
    its time is bounded whatever the shape. Baseline: splitting the same text into lines."""
    print(f"Hostile shapes (the reader reads the first {MAX_READ:,} characters)\n")
    print(f"{'shape':<24} {'MB':>5} {'new_text':>9} {'commands':>9} {'splitlines':>11}")
    worst = 0.0
    for name, text in HOSTILE.items():
        times = [_seconds(work, text) for work in (_learning, command_lines, str.splitlines)]
        worst = max(worst, times[0], times[1])
        reader, commands, baseline = (t * 1e3 for t in times)
        print(f"{name:<24} {len(text) / 1e6:>5.2f} {reader:>7.1f}ms {commands:>7.1f}ms"
              f" {baseline:>9.1f}ms")  # fmt: skip
    print(f"\ntarget: any shape read in under 0.5 s .. {'yes' if worst < 0.5 else 'no'} "
          f"(slowest {worst * 1e3:.0f} ms)")


if __name__ == "__main__":
    main()
    print("\n" + "=" * 72 + "\n")
    table_report("--verbose" in sys.argv)
    print("\n" + "=" * 72 + "\n")
    hostile_report()
