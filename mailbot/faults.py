"""Kill points for crash tests: ``MAILBOT_KILL_AT=name`` or ``name:N`` makes the process kill
itself with SIGKILL the first (or Nth) time it reaches ``checkpoint(name)``.

A real ``kill -9``: no exception, no ``finally``, no flush, no rollback; what survives is what
SQLite, the IMAP server and the SMTP server already hold. Unset, a checkpoint is one compare
against ``None`` (the variable is read once, at import). ``tests/test_crash.py`` kills at each
point in turn and checks that nothing is lost or done twice after a restart.
"""

from __future__ import annotations

import os
import signal

ENV = "MAILBOT_KILL_AT"

# Every checkpoint in the code, in the order a message meets them. A test checks that this
# list, the calls in the code and the crash test's cases agree, so none can go stale unseen.
POINTS = (
    "poll.before_commit",  # a message's effects written, its transaction not yet committed
    "poll.after_commit",  # committed, not yet moved out of the inbox
    "inbox.after_copy",  # servers without MOVE: copied to Processed, not yet deleted
    "poll.after_move",  # a batch moved to Processed, the rest of the inbox still waiting
    "send.before_smtp",  # a queued message about to be handed to SMTP
    "send.after_smtp",  # SMTP took it, the outbox does not know yet
    "pair.before_commit",  # a round's groups and intros written, not committed
    "pair.after_commit",
    "followup.before_commit",  # a round's follow-ups queued, not committed
    "followup.after_commit",
    "digest.queued",  # a digest queued for every reader, not yet marked sent
    "digest.before_commit",  # a digest (or its preview) written, not committed
    "digest.after_commit",
)


def parse_kill_at(value: str) -> tuple[str, int] | None:
    """``"name"`` or ``"name:N"`` as (name, N); ``""`` as None. Unknown names are refused, so
    a typo cannot turn a crash test into one that never crashes."""
    if not value:
        return None
    name, _, count = value.partition(":")
    if name not in POINTS:
        raise ValueError(f"{ENV}={value!r}: no checkpoint {name!r} (known: {', '.join(POINTS)})")
    if not count:
        return name, 1
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"{ENV}={value!r}: N in name:N must be a whole number from 1")
    return name, int(count)


_target = parse_kill_at(os.environ.get(ENV, ""))
_reached = 0


def checkpoint(name: str) -> None:
    """Die here, at once and uncleanly, if ``MAILBOT_KILL_AT`` names this point."""
    if _target is None or name != _target[0]:
        return
    global _reached
    _reached += 1
    if _reached == _target[1]:
        os.kill(os.getpid(), signal.SIGKILL)
