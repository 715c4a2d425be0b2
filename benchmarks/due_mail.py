"""How long the sender's `due_mail` takes with a large outbox: the real store's query on
150,000 queued messages (and 50,000 sent), against the same query without the (status, id)
index, measured in the same run.

    .venv/bin/python benchmarks/due_mail.py [--queued 150000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mailbot.store import SqliteStore  # noqa: E402


def timed(store: SqliteStore, now: datetime, runs: int = 20) -> float:
    started = time.perf_counter()
    for _ in range(runs):
        assert len(store.due_mail(now, 500)) == 500
    return (time.perf_counter() - started) / runs * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queued", type=int, default=150_000)
    args = parser.parse_args()
    store = SqliteStore(Path(tempfile.mkdtemp()) / "due.db")
    store.migrate()
    rows = ((f"k{n}", "notice", "bot@example.org", '["a@example.org"]', f"<{n}@x>", b"x",
             "2026-12-01T00:00:00", "sent" if n < 50_000 else "queued", 0,
             f"2026-12-0{1 + n % 3}T00:00:00") for n in range(50_000 + args.queued))  # fmt: skip
    with store.atomic():
        store.db.conn.executemany(
            "insert into outbox (key, kind, mail_from, recipients, message_id, raw, created_at, "
            "status, attempts, next_attempt_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    now = datetime(2026, 12, 3, tzinfo=UTC)
    ours = timed(store, now)
    store.db.execute("drop index idx_outbox_status_id")
    store.db.execute("create index idx_old on outbox (status, next_attempt_at)")  # as before
    without = timed(store, now)
    print(f"due_mail with {args.queued:,} queued: {ours:.2f} ms a call; without the (status, id) "
          f"index {without:.2f} ms; {without / ours:.0f}x")  # fmt: skip


if __name__ == "__main__":
    main()
