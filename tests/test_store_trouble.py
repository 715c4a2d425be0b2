"""A database that cannot be written (issue #10: a full disk) is the database's trouble.

Simulated for real with SQLite's own ``max_page_count``: the file cannot grow, as on a full
disk. One ERROR line for the spell, no blame on the messages in hand, and once space is back
everything is handled and the admins get one alert.
"""

from __future__ import annotations

import logging
import sqlite3

import pytest

from mailbot.testing import make_mail
from tests.helpers import make_world


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path)
    yield w
    w.store.close()


def fill_the_disk(world) -> None:
    db = world.store.db
    pages = next(db.query("PRAGMA page_count"))["page_count"]
    db.execute(f"PRAGMA max_page_count = {pages}")
    try:  # use up what space the file still has inside
        while True:
            db.execute("insert into settings (key, value) values (?, ?)",
                       [f"filler{pages}", "x" * 3000])  # fmt: skip
            pages += 1
    except sqlite3.OperationalError:
        pass


def free_the_disk(world) -> None:
    world.store.db.execute("delete from settings where key like 'filler%'")
    world.store.db.execute("PRAGMA max_page_count = 1073741823")


def test_a_full_disk_blames_no_message_alerts_once_and_recovers(world, caplog):
    for name in ("anne", "bob", "cat"):
        world.inbox.deliver(make_mail(f"{name}@example.org", "join"))
    fill_the_disk(world)
    caplog.set_level(logging.INFO)
    for _ in range(3):  # three polls while the disk is full
        with pytest.raises(sqlite3.Error):
            world.service.poll(world.inbox)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "cannot be written" in errors[0].getMessage()
    free_the_disk(world)
    report = world.service.poll(world.inbox)
    assert report.processed == 3 and report.failed == report.retrying == 0
    assert world.store.db["failures"].count == 0  # nobody was blamed
    world.service.note_store_ok()
    world.service.send(world.transport)
    alerts = world.mail_to("organiser@example.org")
    assert len(alerts) == 1 and "could not be written" in str(alerts[0]["Subject"])
    world.service.note_store_ok()  # once
    world.service.send(world.transport)
    assert len(world.mail_to("organiser@example.org")) == 1
    assert {world.state(f"{n}@example.org") for n in ("anne", "bob", "cat")} == {"pending"}
