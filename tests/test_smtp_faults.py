"""SMTP faults against a real aiosmtpd on loopback: a recipient refused for good or for now,
the whole message deferred, the connection dropped mid-batch. Nothing lost, nobody twice."""

from __future__ import annotations

import pytest

from mailbot.config import SmtpConfig
from mailbot.core.roster import parse_roster
from mailbot.outbox import SmtpTransport
from mailbot.testing import make_mail
from tests.helpers import make_world
from tests.servers.smtp import SmtpSink

PEOPLE = ("anne@example.org", "bob@example.net", "cat@example.com")


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path, limits={"bounce_threshold": 1})
    rows, _ = parse_roster("email\n" + "\n".join(PEOPLE) + "\n")
    w.service.import_members(rows, confirmed=True)
    yield w
    w.store.close()


@pytest.fixture
def sink():
    with SmtpSink() as s:
        yield s


def transport(sink: SmtpSink) -> SmtpTransport:
    return SmtpTransport(SmtpConfig(sink.host, sink.port, security="none", timeout=5))


def received(sink: SmtpSink) -> list[tuple[str, str]]:
    """(kind, recipient) for every copy the server took."""
    return sorted((_kind(env.content), rcpt) for env in sink.envelopes for rcpt in env.rcpt_tos)


def _kind(raw: bytes) -> str:
    return raw.split(b"X-Mailbot-Kind: ", 1)[1].split(b"\r\n", 1)[0].split(b"\n", 1)[0].decode()


def test_one_recipient_refused_for_good_is_marked_and_the_rest_delivered(world, sink):
    sink.refuse = {"cat@example.com": "550 5.1.1 <cat@example.com>: no such user"}
    world.rounds.run("r1")  # three people: one trio
    world.service.send(transport(sink))
    assert received(sink) == [
        ("admin-alert", "organiser@example.org"),  # "mail to cat@example.com keeps bouncing"
        ("intro", "anne@example.org"),
        ("intro", "bob@example.net"),
    ]
    assert world.state("cat@example.com") == "paused"  # bounced (threshold 1 here)
    bounce = next(world.store.db.query("select status, source from bounces"))
    assert bounce == {"status": "550", "source": "smtp"}
    world.clock.advance(days=1)
    assert world.service.send(transport(sink)).sent == 0  # nothing is retried


def test_one_recipient_deferred_gets_its_own_copy_later(world, sink):
    sink.refuse = {"cat@example.com": "450 4.2.1 mailbox busy, try later"}
    world.rounds.run("r1")
    world.service.send(transport(sink))
    assert received(sink) == [("intro", "anne@example.org"), ("intro", "bob@example.net")]
    sink.refuse = {}
    world.clock.advance(minutes=2)
    world.service.send(transport(sink))
    world.clock.advance(hours=5)
    world.service.send(transport(sink))
    assert received(sink) == [("intro", p) for p in sorted(PEOPLE)]  # once each
    assert world.state("cat@example.com") == "active"


def test_a_deferred_message_stays_queued_and_goes_once_the_server_takes_it(world, sink):
    sink.data_reply = "451 4.3.0 temporary local problem"
    world.inbox.deliver(make_mail("Anne <anne@example.org>", "status"))
    world.service.poll(world.inbox)
    for hours in (0, 1, 2, 12, 24, 48):
        world.clock.advance(hours=hours)
        report = world.service.send(transport(sink))
        assert report.retrying == 1 or report.sent == 0
    assert not sink.envelopes
    assert next(world.store.db.query("select status from outbox"))["status"] == "queued"
    sink.data_reply = None
    world.clock.advance(hours=1)
    assert world.service.send(transport(sink)).sent == 1
    assert received(sink) == [("notice", "anne@example.org")]


def test_a_connection_dropped_mid_batch_loses_nothing_and_doubles_nothing(world, sink):
    for n in range(5):
        world.inbox.deliver(make_mail(f"p{n}@example.org", "help"))
    world.service.poll(world.inbox)
    sink.drop_at = 3
    report = world.service.send(transport(sink))
    assert report.sent == 2 and report.retrying == 1  # the rest wait for the next run
    world.clock.advance(minutes=5)
    world.service.send(transport(sink))
    assert received(sink) == [("notice", f"p{n}@example.org") for n in range(5)]
    world.clock.advance(hours=3)
    assert world.service.send(transport(sink)).sent == 0
