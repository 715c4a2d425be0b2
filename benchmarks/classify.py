"""Robots and bounces against the shared corpus: who sent each message, and what each bounce says.

    python benchmarks/classify.py [--verbose] [--corpus DIR] [--repeat N]

Messages live in ``../shared/corpora/automated/`` (read there, never copied into the project), one
folder per actual sender: ``human``, ``autoreply``, ``bounce``, ``feedback``. Each ``.eml`` is
parsed with ``email.policy.default`` and given to ``mailbot.core.robots.classify`` with the bot's
own address ``coffee@example.org``. The first table is a confusion matrix (rows: actual sender,
columns: classify's verdict), then per-class recall and the misclassified files with their reason.

The second table reads every message classify calls a bounce with
``mailbot.core.bounces.parse_bounce``: how often it found the failed recipients, a status code,
a diagnostic line and the original Message-ID, and whether it judged the failure permanent;
split by whether the bounce carries a DSN part (``message/delivery-status``) or only text. The
corpus has no VERP addresses of ours, so that source is not measured here (tests cover it).
``--verbose`` lists each bounce's findings.

The third table reshapes corpus messages the way real robots reach us in forms the corpus
lacks, and counts how many classify still names rightly: text-only bounces re-sent with a
reply's subject ("Re: ...") from ``Mail Delivery System <notices@mx.example.net>`` without a
daemon Return-Path or X-Failed-Recipients; feedback reports with their report-type and
``message/feedback-report`` part removed (only the subject, sender and attached message are
left); and people's messages signed "System Administrator", which must stay human.

Throughput is whole-corpus passes, best of ``--repeat``: **baseline** parses each message only
(``email.message_from_bytes(raw, policy=default)``); **classify** parses and classifies;
**classify+bounce** also runs ``parse_bounce`` on the bounces. Ratios are time against the
baseline of the same run. Nothing here asserts: it prints tables, then one line per target.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mailbot.core.bounces import Bounce, parse_bounce  # noqa: E402
from mailbot.core.robots import Sender, Verdict, classify  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "automated"
FOLDERS = {
    "human": Sender.human,
    "autoreply": Sender.auto_reply,
    "bounce": Sender.bounce,
    "feedback": Sender.feedback,
}
BOT = "coffee@example.org"
OWN = frozenset({BOT})
STATUS_TYPES = {"message/delivery-status", "message/global-delivery-status"}


@dataclass
class Case:
    name: str
    actual: Sender
    raw: bytes


def load(corpus: Path) -> list[Case]:
    cases = []
    for folder, actual in FOLDERS.items():
        for path in sorted((corpus / folder).glob("*.eml")):
            cases.append(Case(path.name, actual, path.read_bytes()))
    return cases


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def read_bounce(raw: bytes) -> Bounce | None:
    """What the service would do with a message: parse, classify, read it if a bounce."""
    msg = parse(raw)
    return parse_bounce(msg, BOT) if classify(msg, OWN).sender == Sender.bounce else None


def has_dsn(msg: EmailMessage) -> bool:
    return any(part.get_content_type() in STATUS_TYPES for part in msg.walk())


# --------------------------------------------------------------------------- variants


def as_reply_from_mta(raw: bytes) -> EmailMessage:
    """A text-only bounce whose only robot signs are its sender's name and its text."""
    msg = parse(raw)
    subject = str(msg.get("Subject", ""))
    for name in ("Subject", "From", "Return-Path", "X-Failed-Recipients", "Sender"):
        del msg[name]
    msg["From"] = "Mail Delivery System <notices@mx.example.net>"
    msg["Subject"] = f"Re: {subject or 'lunch'}"
    return msg


def without_report_type(raw: bytes) -> EmailMessage:
    """A feedback report as some providers send it: no report-type, no ARF part."""
    raw = re.sub(rb"report-type=\"?feedback-report\"?;?", b"", raw, flags=re.I)
    raw = re.sub(rb"multipart/report", b"multipart/mixed", raw, flags=re.I)
    return parse(re.sub(rb"message/feedback-report", b"text/plain", raw, flags=re.I))


def signed_as_admin(raw: bytes) -> EmailMessage:
    msg = parse(raw)
    del msg["From"]
    msg["From"] = "System Administrator <admin@example.net>"
    return msg


def variants(cases: list[Case], verdicts: list[Verdict], messages: list[EmailMessage]) -> None:
    pairs = list(zip(cases, verdicts, messages, strict=True))
    text_bounces = [c for c, v, m in pairs if v.sender == Sender.bounce and not has_dsn(m)]
    rows = [
        ("bounce, text only: 'Re:' subject, MTA name", Sender.bounce,
         [as_reply_from_mta(c.raw) for c in text_bounces]),
        ("feedback without report-type or ARF part", Sender.feedback,
         [without_report_type(c.raw) for c in cases if c.actual == Sender.feedback]),
        ("human signed 'System Administrator'", Sender.human,
         [signed_as_admin(c.raw) for c in cases if c.actual == Sender.human]),
    ]  # fmt: skip
    print(f"{'variant':<44} {'n':>4} {'as meant':>9}")
    for label, meant, reshaped in rows:
        right = sum(classify(msg, OWN).sender == meant for msg in reshaped)
        print(f"{label:<44} {len(reshaped):>4} {right:>9}  {right / max(len(reshaped), 1):7.1%}")
    print()


# --------------------------------------------------------------------------- report


def confusion(cases: list[Case], verdicts: list[Verdict]) -> None:
    columns = list(Sender)
    print(f"{'actual/got':<12} {'n':>4} " + " ".join(f"{c.value:>12}" for c in columns))
    for actual in FOLDERS.values():
        got = Counter(
            v.sender for case, v in zip(cases, verdicts, strict=True) if case.actual == actual
        )
        cells = " ".join(f"{got[column]:>12}" for column in columns)
        print(f"{actual.value:<12} {sum(got.values()):>4} {cells}")
    print()
    for actual in FOLDERS.values():
        total = sum(case.actual == actual for case in cases)
        right = sum(c.actual == actual == v.sender for c, v in zip(cases, verdicts, strict=True))
        print(f"recall {actual.value:<12} {right:>4}/{total:<4} {right / max(total, 1):7.1%}")
    print()
    wrong = [(c, v) for c, v in zip(cases, verdicts, strict=True) if c.actual != v.sender]
    for case, verdict in wrong:
        print(
            f"  miss: {case.name}: {case.actual.value} -> {verdict.sender.value} ({verdict.reason})"
        )
    if wrong:
        print()


def bounce_table(found: list[tuple[Case, bool, Bounce]]) -> None:
    groups = {
        "DSN part": [b for _, dsn, b in found if dsn],
        "text only": [b for _, dsn, b in found if not dsn],
        "all": [b for _, _, b in found],
    }
    print(
        f"{'bounces':<10} {'n':>4} {'recipients':>11} {'status':>7} {'diagnostic':>11}"
        f" {'message-id':>11} {'permanent':>10} {'temporary':>10}"
    )
    for label, bounces in groups.items():
        print(
            f"{label:<10} {len(bounces):>4}"
            f" {sum(bool(b.recipients) for b in bounces):>11}"
            f" {sum(bool(b.status) for b in bounces):>7}"
            f" {sum(bool(b.diagnostic) for b in bounces):>11}"
            f" {sum(bool(b.original_message_id) for b in bounces):>11}"
            f" {sum(b.permanent for b in bounces):>10}"
            f" {sum(not b.permanent for b in bounces):>10}"
        )
    print()


def timed(works: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Best seconds of each piece of work; rounds interleave them, so noise hits all alike."""
    best = dict.fromkeys(works, float("inf"))
    for _ in range(repeat):
        for name, work in works.items():
            start = time.perf_counter()
            work()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--verbose", action="store_true", help="list each bounce's findings")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5, help="timing runs (best is kept)")
    args = parser.parse_args()

    cases = load(args.corpus)
    messages = [parse(case.raw) for case in cases]
    verdicts = [classify(msg, OWN) for msg in messages]
    print(f"Robots: {len(cases)} messages from {args.corpus}\n")
    confusion(cases, verdicts)

    found = [
        (case, has_dsn(msg), parse_bounce(msg, BOT))
        for case, msg, verdict in zip(cases, messages, verdicts, strict=True)
        if verdict.sender == Sender.bounce
    ]
    print(f"Bounces: parse_bounce on the {len(found)} messages classified as bounces\n")
    bounce_table(found)
    for case, dsn, bounce in found:
        if args.verbose or not bounce.recipients:
            kind = "dsn " if dsn else "text"
            perm = "perm" if bounce.permanent else "temp"
            who = ",".join(bounce.recipients) or "-"
            print(f"  {kind} {perm} {bounce.status or '-':<7} {case.name}: {who}")
            if args.verbose:
                print(f"       {bounce.original_message_id or '-'}  {bounce.diagnostic[:90]}")
    print()

    print("Variants: corpus messages reshaped into forms the corpus lacks\n")
    variants(cases, verdicts, messages)

    raws = [case.raw for case in cases]
    bounce_raws = [c.raw for c, v in zip(cases, verdicts, strict=True) if v.sender == Sender.bounce]
    seconds = timed(
        {
            "baseline": lambda: [parse(raw) for raw in raws],
            "classify": lambda: [classify(parse(raw), OWN) for raw in raws],
            "bounce baseline": lambda: [parse(raw) for raw in bounce_raws],
            "classify+bounce": lambda: [read_bounce(raw) for raw in bounce_raws],
        },
        args.repeat,
    )
    rows = [
        ("baseline (parse)", len(raws), seconds["baseline"], seconds["baseline"]),
        ("classify", len(raws), seconds["classify"], seconds["baseline"]),
        (
            "baseline, bounces",
            len(bounce_raws),
            seconds["bounce baseline"],
            seconds["bounce baseline"],
        ),
        (
            "classify+bounce",
            len(bounce_raws),
            seconds["classify+bounce"],
            seconds["bounce baseline"],
        ),
    ]
    for label, count, spent, base in rows:
        print(
            f"{label:<18} {count:>4} msgs {count / spent:>9.0f} msgs/s   {spent / base:5.2f}x time"
        )
    print()

    def recall(sender: Sender) -> tuple[int, int]:
        pairs = [(c, v) for c, v in zip(cases, verdicts, strict=True) if c.actual == sender]
        return sum(v.sender == sender for _, v in pairs), len(pairs)

    humans_wrong = sum(
        c.actual == Sender.human != v.sender for c, v in zip(cases, verdicts, strict=True)
    )
    auto, auto_total = recall(Sender.auto_reply)
    bounces, bounce_total = recall(Sender.bounce)
    share = bounces / max(bounce_total, 1)
    target("no human misclassified", not humans_wrong, f"{humans_wrong}")
    target("every auto-reply caught", auto == auto_total, f"{auto}/{auto_total}")
    target(">= 97% of bounces caught", share >= 0.97, f"{bounces}/{bounce_total}, {share:.1%}")


def target(label: str, met: bool, detail: str) -> None:
    print(f"target: {label} {'.' * (30 - len(label))} {'yes' if met else 'no'} ({detail})")


if __name__ == "__main__":
    main()
