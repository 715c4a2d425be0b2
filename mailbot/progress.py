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


class _Bar:
    """A click progress bar on stderr, made at the first report, when the total is known."""

    def __init__(self, label: str, quiet: bool):
        self.label = label
        self.quiet = quiet
        self.bar: Any = None
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self.quiet or total < SHOWN_FROM or not sys.stderr.isatty():
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@contextmanager
def progress_bar(label: str, quiet: bool = False) -> Iterator[Progress]:
    """A `Progress` that draws a bar on stderr, when stderr is a terminal and not `quiet`."""
    bar = _Bar(label, quiet)
    try:
        yield bar
    finally:
        bar.close()
