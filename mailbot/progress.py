"""Progress of long jobs: the use cases report (done, total); the CLI draws a bar on a
terminal and stays quiet under cron, in a pipe or with ``-q``.

A use case takes ``progress: Progress = no_progress`` and calls it as it goes; it never knows
whether anyone is watching.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

Progress = Callable[[int, int], None]  # (done so far, total)
SHOWN_FROM = 200  # shorter jobs finish before a bar would say anything


def no_progress(done: int, total: int) -> None:
    """For callers nobody watches (the daemon, tests)."""


@contextmanager
def progress_bar(label: str, quiet: bool = False) -> Iterator[Progress]:
    """A `Progress` that draws a bar on stderr, when stderr is a terminal and not `quiet`."""
    bar: list[Any] = []  # made at the first report, when the total is known
    shown = [0]

    def report(done: int, total: int) -> None:
        if quiet or total < SHOWN_FROM or not sys.stderr.isatty():
            return
        if not bar:
            bar.append(click.progressbar(length=total, label=label, file=sys.stderr))
            bar[0].__enter__()
        bar[0].update(done - shown[0])
        shown[0] = done

    try:
        yield report
    finally:
        if bar:
            bar[0].__exit__(None, None, None)
