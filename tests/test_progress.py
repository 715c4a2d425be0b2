"""Long jobs report progress; the CLI draws it only on a terminal, never under -q or cron."""

from __future__ import annotations

import io
import sys

from mailbot.core.roster import parse_roster
from mailbot.progress import progress_bar
from tests.helpers import make_world


def _people(count: int) -> str:
    return "email,org\n" + "".join(f"p{n}@example.org,Org {n % 7}\n" for n in range(count))


def test_import_round_and_follow_ups_report_their_progress(tmp_path):
    world = make_world(tmp_path)
    seen: dict[str, list[tuple[int, int]]] = {"import": [], "pair": [], "followup": []}
    rows, _ = parse_roster(_people(9))
    world.service.import_members(rows, True, lambda d, t: seen["import"].append((d, t)))
    world.rounds.run("r1", 1, lambda d, t: seen["pair"].append((d, t)))
    world.service.learnings.follow_up_latest(lambda d, t: seen["followup"].append((d, t)))
    assert seen["import"][-1] == (9, 9) and len(seen["import"]) == 9
    assert seen["pair"][-1] == (4, 4)  # four groups: three pairs and a trio
    assert seen["followup"][-1] == (9, 9)
    world.store.close()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_only_on_a_terminal_and_never_when_quiet(monkeypatch):
    for stream, quiet, drawn in ((Terminal(), False, True), (Terminal(), True, False),
                                 (io.StringIO(), False, False)):  # fmt: skip
        monkeypatch.setattr(sys, "stderr", stream)
        with progress_bar("queueing intros", quiet=quiet) as progress:
            for done in range(1, 501):
                progress(done, 500)
        assert ("queueing intros" in stream.getvalue()) is drawn


def test_short_jobs_draw_nothing(monkeypatch):
    stream = Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    with progress_bar("importing") as progress:
        for done in range(1, 11):
            progress(done, 10)
    assert stream.getvalue() == ""
