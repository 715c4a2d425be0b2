"""Every speed and scale figure of issue #13 in one run, as one table: before, now, target.

    python benchmarks/all.py [--quick] [--members N] [--skip NAME]...

Each figure comes from the benchmark that owns it, run as it would be run by hand (its own
baseline measured in the same run): ``inbox.py`` at 2,000 and 10,000 messages (poll against a
raw imapclient fetch+parse, send against raw smtplib, peak memory against the baseline's),
``latency.py`` (join to confirmation, with IDLE and polling), ``due_mail.py``, and
``scale.py`` (``import``, ``members``, ``pair``, ``followup`` and ``digest`` as whole CLI
processes at N members and 2N digest readers with 1,000 learnings; ``send`` of everything
queued at N/10 members with 100 learnings, since a digest of 1,000 learnings is about 2 MB a
copy and 200,000 copies would push some 400 GB through the loopback sink; and the matching
alone at 1,000,000).

"Before" is the figure measured on this machine when the issue was filed (the issue's text),
or, marked *, at the start of the work; it is not re-measured (the old code is gone). The
whole run takes about 30 minutes (``--quick``: 2,000 messages, 10,000 members, no 1,000,000
matching, about 4 minutes). Nothing here asserts: it prints figures to read.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scale  # noqa: E402


@dataclass
class Figure:
    name: str
    before: str
    now: str
    target: str
    ok: bool | None  # None: no target to meet


def run_script(name: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(HERE / name), *args], capture_output=True,
                          text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{name} {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def inbox(messages: int) -> list[Figure]:
    out = run_script("inbox.py", "--messages", str(messages))
    summary = json.loads(out.split("summary: ", 1)[1].splitlines()[0])
    before = {2000: ("0.25*", "0.54"), 10000: ("0.18", "0.54")}.get(messages, ("-", "-"))
    return [
        Figure(f"poll {messages:,} msgs, rate vs raw fetch+parse", before[0],
               f"{summary['poll_rate']:.2f}", ">= 0.5", summary["poll_rate"] >= 0.5),
        Figure(f"poll {messages:,} msgs, peak memory vs raw", "1.6*",
               f"{summary['poll_mem_x']:.2f}", "<= 1.5", summary["poll_mem_x"] <= 1.5),
        Figure(f"send (after the {messages:,} poll), rate vs raw smtplib", before[1],
               f"{summary['send_rate']:.2f}", ">= 0.7", summary["send_rate"] >= 0.7),
    ]  # fmt: skip


def latency() -> list[Figure]:
    out = run_script("latency.py", "--joins", "10", "--polling-joins", "3")
    medians = {m: float(v) for m, v in re.findall(r"^(IDLE|polling)\s+\d+\s+([\d.]+)", out, re.M)}
    return [
        Figure("join to confirmation, median s, IDLE", "42", f"{medians['IDLE']:.2f}", "< 2",
               medians["IDLE"] < 2),
        Figure("join to confirmation, median s, polling every 60 s", "42",
               f"{medians['polling']:.1f}", "-", None),
    ]  # fmt: skip


def due_mail() -> list[Figure]:
    out = run_script("due_mail.py")
    ours = float(re.search(r"queued: ([\d.]+) ms a call", out).group(1))  # type: ignore[union-attr]
    return [Figure("due_mail, 150,000 queued, ms a call", "26.8*", f"{ours:.1f}", "-", None)]


BEFORE_100K = {"import": "30 s", "pair": "219 s", "followup": "230 s",
               "digest": "580 s at 10,000 readers"}  # fmt: skip
BEFORE_PEAK = {"members-json": "415"}
TIME_TARGET = {"pair": 30.0, "followup": 30.0, "digest": 60.0}


def national(members: int) -> list[Figure]:
    # Sending a digest of 1,000 learnings to 200,000 readers pushes some 100 GB through the
    # loopback sink: `send` is measured at a tenth of the size with a tenth of the learnings.
    rows = scale.run(members=members, learnings=1000, skip=["send", "members-csv"])
    small = members // 10
    sent = [r for r in scale.run(members=small, learnings=100) if r.get("step") == "send"]
    figures = []
    for row in [r for r in rows if "seconds" in r] + sent:
        step = row["step"]
        if step == "startup":
            continue
        # The targets are for 100,000 members (200,000 readers): pro rata at other sizes.
        limit = TIME_TARGET.get(step)
        limit = limit * members / 100_000 if limit else None
        before = BEFORE_100K.get(step, "-") if members == 100_000 else "-"
        seconds = float(row["seconds"])
        figures.append(Figure(f"{step} ({row['items']:,} items), s", before, f"{seconds:.1f}",
                              f"< {limit:.0f}" if limit else "-",
                              seconds < limit if limit else None))  # fmt: skip
        peak = float(row["peak_rss_mib"])
        before = BEFORE_PEAK.get(step, "-") if members == 100_000 else "-"
        figures.append(Figure(f"{step}, peak RSS MiB", before, f"{peak:.0f}", "< 477",
                              peak < 477))  # fmt: skip
    last = [r for r in rows if "db_mib" in r][-1]
    figures.append(Figure("database per member (queued, unsent), KiB", "2.8 a round",
                          f"{float(last['db_mib']) * 1024 / members:.1f}", "-", None))  # fmt: skip
    if sent:
        after = float(sent[0]["db_mib"]) * 1024 / small
        figures.append(Figure(f"database per member after send ({small:,}), KiB", "-",
                              f"{after:.1f}", "-", None))  # fmt: skip
    return figures


def matching() -> list[Figure]:
    row = scale.run_matching(1_000_000)
    return [
        Figure("matching alone, 1,000,000 members, s", "32", f"{row['seconds']:.1f}", "-", None),
        Figure("matching alone, 1,000,000 members, peak RSS MiB", "3,000",
               f"{row['peak_rss_mib']:.0f}", "< 954", row["peak_rss_mib"] < 954),
    ]  # fmt: skip


def table(figures: list[Figure]) -> str:
    head = ("figure", "before", "now", "target", "")
    lines = [head] + [(f.name, f.before, f.now, f.target,
                       {True: "ok", False: "MISSED", None: ""}[f.ok]) for f in figures]  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for k, line in enumerate(lines):
        rest = zip(line[1:], widths[1:], strict=True)
        cells = [line[0].ljust(widths[0])] + [c.rjust(w) for c, w in rest]
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, about 4 minutes")
    parser.add_argument("--members", type=int, default=None, help="scale.py size (100,000)")
    parser.add_argument("--skip", action="append", default=[],
                        help="inbox, latency, due_mail, national, matching")  # fmt: skip
    args = parser.parse_args(argv)
    members = args.members or (10_000 if args.quick else 100_000)
    parts: list[tuple[str, Callable[[], list[Figure]]]] = [
        ("inbox", lambda: inbox(2000) + ([] if args.quick else inbox(10_000))),
        ("latency", latency),
        ("due_mail", due_mail),
        ("national", lambda: national(members)),
        ("matching", matching),
    ]
    figures: list[Figure] = []
    started = time.perf_counter()
    for name, part in parts:
        if name in args.skip or (args.quick and name == "matching"):
            continue
        print(f"[{time.perf_counter() - started:6.0f}s] {name}", file=sys.stderr, flush=True)
        try:
            figures += part()
        except Exception as exc:  # noqa: BLE001 - one broken benchmark should not hide the rest
            figures.append(Figure(f"{name}: failed ({type(exc).__name__})", "-", "-", "-", False))
            print(exc, file=sys.stderr)
    print(table(figures))
    missed = [f.name for f in figures if f.ok is False]
    print(
        f"\n{len(figures) - len(missed)} of {len(figures)} figures within target"
        + (f"; missed: {', '.join(missed)}" if missed else "")
    )


if __name__ == "__main__":
    main()
