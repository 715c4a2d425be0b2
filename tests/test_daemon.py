"""The daemon loop with in-memory edges: errors do not stop it, a stop request does."""

from __future__ import annotations

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
    assert "poll failed, will try again next cycle" in caplog.text
    assert len(world.transport.sent) == 1


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
