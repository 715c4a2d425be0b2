"""The daemon loop with in-memory edges: errors do not stop it, a stop request does."""

from __future__ import annotations

import logging
import threading

from mailbot.app import App
from mailbot.daemon import Daemon
from mailbot.errors import InboxError
from mailbot.testing import make_mail
from tests.helpers import ANNE, make_world


def make_app(world, open_inbox=None) -> App:
    return App(
        world.config,
        world.store,
        world.service,
        world.rounds,
        world.service.learnings,
        world.service.digests,
        open_inbox or (lambda: world.inbox),
        world.transport,
    )


def test_an_unreachable_inbox_is_logged_and_sending_goes_on(tmp_path, caplog):
    world = make_world(tmp_path)
    world.inbox.deliver(make_mail(ANNE, "join"))
    world.service.poll(world.inbox)

    def broken():
        raise InboxError("cannot reach IMAP server imap.example.org:993: timed out")

    Daemon(make_app(world, broken)).cycle()
    assert "poll failed (1 in a row), next try in 60 s" in caplog.text
    assert len(world.transport.sent) == 1


def test_a_failing_login_backs_off_and_recovers(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    world = make_world(tmp_path)
    now = {"t": 0.0}
    attempts = []

    def failing_login():
        attempts.append(now["t"])
        if len(attempts) <= 4:
            raise InboxError(
                "IMAP login to imap.example.org:993 as bot failed: AUTHENTICATIONFAILED"
            )
        return world.inbox

    daemon = Daemon(make_app(world, failing_login), monotonic=lambda: now["t"])
    for _ in range(60):  # an hour of 60-second cycles
        daemon.cycle()
        now["t"] += 60
    assert attempts[:5] == [0, 60, 180, 420, 900]  # waits of 1, 2, 4 and 8 minutes
    assert len(attempts) > 5  # once it works it polls every cycle again
    assert attempts[5:] == [attempts[4] + 60 * n for n in range(1, len(attempts) - 4)]
    assert "poll works again after 4 failure(s)" in caplog.text


def test_stop_finishes_the_message_in_hand_and_leaves_the_rest(tmp_path):
    world = make_world(tmp_path)
    for n in range(3):
        world.inbox.deliver(make_mail(f"p{n}@example.org", "help"))
    stop = threading.Event()
    original = world.service.process

    def process_then_stop(item):
        result = original(item)
        stop.set()  # SIGTERM arrives while the first message is in hand
        return result

    world.service.process = process_then_stop  # type: ignore[method-assign]
    Daemon(make_app(world), stop).run()
    assert world.inbox.processed == [1]
    assert sorted(world.inbox.waiting) == [2, 3]
    assert not world.transport.sent  # nothing new is started after the stop request


def test_the_daemon_runs_a_round_when_it_is_due(tmp_path):
    from mailbot.core.roster import parse_roster

    world = make_world(tmp_path)
    rows, _ = parse_roster("email\na@example.org\nb@example.net\n")
    world.service.import_members(rows, confirmed=True)
    daemon = Daemon(make_app(world))
    daemon.cycle()  # the schedule starts now
    world.clock.advance(days=35)
    daemon.cycle()
    daemon.cycle()
    kinds = [m["X-Mailbot-Kind"] for m in world.transport.messages()]
    assert kinds.count("intro") == 1
