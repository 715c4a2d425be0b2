"""Join-to-confirmation latency with the daemon running over a real Dovecot: IMAP IDLE
against plain polling, both with the default poll_interval (60 s).

A join is appended to the inbox, and the time until the confirmation reaches the transport is
measured, one join at a time. With IDLE the daemon wakes as the mail arrives; without it the
wait is up to a whole poll interval (half of one on average).

    .venv/bin/python benchmarks/latency.py [--joins 10] [--polling-joins 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.servers: not shipped

from mailbot.app import build_app  # noqa: E402
from mailbot.daemon import Daemon  # noqa: E402
from mailbot.inbox import ImapInbox  # noqa: E402
from mailbot.testing import RecordingTransport, make_config, make_mail  # noqa: E402
from tests.imap_helpers import append, imap_config  # noqa: E402
from tests.servers.dovecot import DovecotServer, start_dovecot  # noqa: E402


@contextmanager
def daemon(server: DovecotServer, idle: bool) -> Iterator[tuple[Daemon, RecordingTransport]]:
    directory = Path(tempfile.mkdtemp(prefix="mailbot-latency-"))
    config = make_config(directory)
    transport = RecordingTransport()
    stop, ready = threading.Event(), threading.Event()
    found: list[Daemon] = []

    def serve() -> None:
        app = build_app(config, migrate=True, transport=transport,
                        inbox=lambda: ImapInbox(imap_config(server)))  # fmt: skip
        found.append(Daemon(app, stop))
        found[0].idle = idle
        ready.set()
        try:
            found[0].run()
        finally:
            app.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    while found[0].last_poll is None:
        time.sleep(0.05)
    try:
        yield found[0], transport
    finally:
        stop.set()
        thread.join(30)


def latencies(server: DovecotServer, idle: bool, joins: int, tag: str) -> list[float]:
    times = []
    with daemon(server, idle) as (_, transport):
        for n in range(joins):
            time.sleep(1.0)  # settled in IDLE (or somewhere in its sleep)
            address = f"{tag}{n}@example.org"
            started = time.monotonic()
            append(server, make_mail(address, "join"))
            while not transport.messages(address):
                time.sleep(0.02)
            times.append(time.monotonic() - started)
            print(f"  {'IDLE' if idle else 'poll'} join {n + 1}: {times[-1]:.2f} s", flush=True)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--joins", type=int, default=10, help="joins measured with IDLE")
    parser.add_argument("--polling-joins", type=int, default=3, help="joins measured polling")
    args = parser.parse_args()
    server = start_dovecot()
    try:
        with_idle = latencies(server, True, args.joins, "idle")
        polling = latencies(server, False, args.polling_joins, "poll")
    finally:
        server.stop()
    print("\njoin-to-confirmation latency, daemon running, poll_interval 60 s, real Dovecot")
    print(f"{'mode':<10}{'joins':>6}{'median s':>10}{'max s':>8}")
    for mode, values in (("IDLE", with_idle), ("polling", polling)):
        print(f"{mode:<10}{len(values):>6}{statistics.median(values):>10.2f}{max(values):>8.2f}")
    ratio = statistics.median(polling) / statistics.median(with_idle)
    target = statistics.median(with_idle) < 2
    print(f"\npolling's median / IDLE's: {ratio:.0f}x; target median under 2 s with IDLE: "
          f"{'yes' if target else 'no'}")  # fmt: skip


if __name__ == "__main__":
    main()
