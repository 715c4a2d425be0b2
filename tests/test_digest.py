"""The digest: pure building, then moderation and sending through the service."""

from __future__ import annotations

import pytest

from mailbot.core.digest import Learning, RoundStat, build_digest, parse_moderation
from mailbot.core.roster import parse_roster
from mailbot.testing import make_mail, make_reply
from tests.helpers import body, make_world

ADMIN = "organiser@example.org"


def learning(id_, text, visibility="public", review=0, round_number=1, name="Anne Person",
             org="Example Council"):  # fmt: skip
    return Learning(id_, round_number, text, visibility, bool(review), name.split()[0], org)


def test_build_groups_by_round_numbers_items_and_keeps_privacy():
    digest = build_digest(
        [learning(1, "Maps"), learning(2, "Secret", "private"), learning(3, "Quiet", "anonymous"),
         learning(4, "Mangled", review=1), learning(5, "Newer", round_number=2)],
        [RoundStat(1, 4, 3), RoundStat(2, 2, 0)],
        new_members=5, year=2026, issue=3,
    )  # fmt: skip
    assert digest.title == "Vol 2026, Issue 3"
    assert [s.title for s in digest.sections] == ["Round 2", "Round 1"]
    assert [(i.number, i.text, i.author) for i in digest.items] == [
        (1, "Newer", "Anne, Example Council"), (2, "Maps", "Anne, Example Council"),
        (3, "Quiet", "Anonymous")]  # fmt: skip
    assert (digest.groups, digest.met, digest.new_members) == (6, 3, 5)
    assert [b.percent for b in digest.bars] == [75, 0]


@pytest.mark.parametrize("lines, expected", [
    (["approve"], (True, set())),
    (["drop 3 7"], (False, {3, 7})),
    (["Drop 2, 4", "approve"], (True, {2, 4})),
    (["thanks!"], (False, set())),
])  # fmt: skip
def test_moderation_answers(lines, expected):
    assert parse_moderation(lines) == expected


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path)
    rows, _ = parse_roster(
        "email,name,org\nanne@example.org,Anne Person,Example Council\n"
        "bob@example.net,Bob Smith,Example Borough\nleft@example.com,Lee Ft,X\n"
    )
    w.service.import_members(rows, confirmed=True)
    w.rounds.run("r1")
    w.service.learnings.follow_up_latest()
    w.service.send(w.transport)
    for person in ("Anne Person <anne@example.org>", "Bob Smith <bob@example.net>"):
        question = next(m for m in w.transport.messages()
                        if m["X-Mailbot-Kind"] == "followup" and person.split("<")[1][:-1]
                        in str(m["To"]))  # fmt: skip
        text = f"{person.split()[0]} learned: <b>{{{{ bot }}}}</b> & user research matters."
        w.receive(make_reply(question, person, text))
    w.receive(make_mail("left@example.com", "leave"))
    w.transport.sent.clear()
    yield w
    w.store.close()


def kinds(world):
    return [(m["X-Mailbot-Kind"], str(m["To"])) for m in world.transport.messages()]


def test_moderated_digest_goes_to_admins_then_readers_once_approved(world):
    world.service.digests.start()
    world.service.send(world.transport)
    [(kind, to)] = kinds(world)
    assert kind == "digest-preview" and ADMIN in to
    preview = world.transport.messages()[0]
    assert "1. " in body(preview) and "2. " in body(preview)
    world.transport.sent.clear()
    world.receive(make_reply(preview, f"Organiser <{ADMIN}>", "drop 2\napprove"))
    sent = world.transport.messages()
    digests = [m for m in sent if m["X-Mailbot-Kind"] == "digest"]
    assert sorted(str(m["To"]) for m in digests) == [
        "Anne Person <anne@example.org>",
        "Bob Smith <bob@example.net>",
    ]
    text = body(digests[0])
    assert "Vol 2026, Issue 1" in str(digests[0]["Subject"])
    assert text.count("learned:") == 1  # one dropped
    html = digests[0].get_body(("html",)).get_content()
    assert "<b>" not in html and "&lt;b&gt;" in html  # people's text is never markup
    assert "{{ bot }}" in text  # and never a template
    assert digests[0]["List-Unsubscribe"]
    world.receive(make_reply(preview, f"Organiser <{ADMIN}>", "approve"))
    assert len([m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "digest"]) == 2


def test_only_admins_can_moderate(world):
    world.service.digests.start()
    world.service.send(world.transport)
    preview = world.transport.messages()[0]
    world.receive(make_reply(preview, "Anne Person <anne@example.org>", "approve"))
    assert not [m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "digest"]


@pytest.mark.parametrize("on_timeout, sent", [("send", 2), ("hold", 0)])
def test_an_unanswered_preview_is_sent_or_held(tmp_path, on_timeout, sent):
    w = make_world(tmp_path, digest={"on_timeout": on_timeout, "moderation_hours": 24})
    rows, _ = parse_roster("email\na@example.org\nb@example.net\n")
    w.service.import_members(rows, confirmed=True)
    w.service.digests.start()
    w.clock.advance(hours=25)
    w.service.digests.expire_previews()
    w.service.send(w.transport)
    assert len([m for m in w.transport.messages() if m["X-Mailbot-Kind"] == "digest"]) == sent


def test_digest_off_and_digest_only_subscribers(world):
    world.receive(make_mail("bob@example.net", "digest off"))
    world.receive(make_mail("Reader <reader@example.edu>", "subscribe digest"))
    confirm = world.last_to("reader@example.edu")
    world.receive(make_reply(confirm, "Reader <reader@example.edu>", "yes"))
    assert "won't be paired" in body(world.last_to("reader@example.edu"))
    plan = world.rounds.plan("x", seed=1)
    assert "reader@example.edu" not in {e for g in plan.groups for e in g}
    world.transport.sent.clear()
    world.service.digests.start()
    preview = world.transport.messages() or None
    world.service.send(world.transport)
    preview = world.transport.messages()[0]
    world.receive(make_reply(preview, ADMIN, "approve"))
    readers = sorted(str(m["To"]) for m in world.transport.messages()
                     if m["X-Mailbot-Kind"] == "digest")  # fmt: skip
    assert readers == ["Anne Person <anne@example.org>", "Reader <reader@example.edu>"]


def test_the_digest_is_archived_and_learnings_are_not_repeated(world):
    world.service.digests.start()
    world.service.send(world.transport)
    world.receive(make_reply(world.transport.messages()[0], ADMIN, "approve"))
    [row] = world.store.digests()
    assert row.status == "sent" and row.recipients == 2
    following = world.service.digests.build()
    assert following.items == [] and following.issue == 2


def test_a_second_trigger_while_a_preview_waits_makes_no_second_digest(world):
    first = world.service.digests.start()
    assert world.service.digests.start() == first
    world.service.send(world.transport)
    assert len([m for m in world.transport.messages()
                if m["X-Mailbot-Kind"] == "digest-preview"]) == 1  # fmt: skip


def test_organisers_can_override_the_digest_templates(tmp_path):
    folder = tmp_path / "my-templates"
    folder.mkdir()
    (folder / "digest.txt").write_text(
        '{% extends "_layout.txt" %}{% block subject %}Our news {{ digest.title }}'
        "{% endblock %}{% block body %}Custom body{% endblock %}"
    )
    w = make_world(tmp_path, digest={"templates": "my-templates", "moderation": False})
    from mailbot.render import Renderer

    w.service.digests.renderer = Renderer(w.config.digest.templates)
    rows, _ = parse_roster("email\na@example.org\n")
    w.service.import_members(rows, confirmed=True)
    w.service.digests.start()
    w.service.send(w.transport)
    [msg] = w.transport.messages()
    assert str(msg["Subject"]) == "Our news November 2026 (Vol 2026, Issue 1)"
    assert body(msg).startswith("Custom body")


def test_drop_numbers_stay_those_of_the_preview_and_late_learnings_wait(world):
    world.service.digests.start()
    world.service.send(world.transport)
    preview = world.transport.messages()[0]
    listed = [line for line in body(preview).splitlines() if line[:2] in ("1.", "2.")]
    world.receive(make_reply(preview, ADMIN, "drop 1"))
    world.receive(make_reply(preview, ADMIN, "drop 2\napprove"))  # 2 is still the preview's 2
    sent = [m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "digest"]
    assert sent and all("learned:" not in body(m) for m in sent)
    assert len(listed) == 2
    later = world.service.digests.build()
    assert later.items == []  # dropped learnings never come back


def test_the_digest_unsubscribe_link_turns_off_the_digest_only(world):
    world.service.digests.start()
    world.service.send(world.transport)
    world.receive(make_reply(world.transport.messages()[0], ADMIN, "approve"))
    digest = next(m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "digest")
    assert digest["List-Unsubscribe"] == "<mailto:unmentoring@example.org?subject=digest%20off>"


def test_approving_twice_or_a_held_digest_says_so(world):
    world.service.digests.start()
    world.service.send(world.transport)
    preview = world.transport.messages()[0]
    world.receive(make_reply(preview, ADMIN, "approve"))
    world.receive(make_reply(preview, ADMIN, "approve"))
    assert "already sent" in body(world.last_to(ADMIN))
    assert len([m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "digest"]) == 2


def test_only_the_word_approve_sends(world):
    world.service.digests.start()
    world.service.send(world.transport)
    world.receive(make_reply(world.transport.messages()[0], ADMIN, "Send me the list first"))
    assert not [m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "digest"]


def test_a_digest_only_subscriber_who_joins_is_told_they_are_paired_now(world):
    world.receive(make_mail("reader@example.edu", "subscribe digest"))
    world.receive(make_reply(world.last_to("reader@example.edu"), "reader@example.edu", "yes"))
    world.receive(make_mail("reader@example.edu", "join"))
    assert "pairing rounds now" in str(world.last_to("reader@example.edu")["Subject"])
    assert world.store.get_member("reader@example.edu").pairing


# --- what a reader sees: figures that add up, a chart that says something ----------------


def rows(*triples):
    return [RoundStat(n, g, m) for n, g, m in triples]


def test_the_figures_cover_exactly_the_rounds_reported_on():
    history = rows((1, 4, 4), (2, 5, 2), (3, 3, 1))
    digest = build_digest([], rows((2, 5, 2), (3, 3, 1)), 2, 2026, 4, chart=history,
                          month="December 2026")  # fmt: skip
    assert (digest.groups, digest.met, digest.covered) == (8, 3, "Rounds 2 and 3")
    assert digest.title == "December 2026 (Vol 2026, Issue 4)"
    assert [(b.label, b.percent, b.met, b.groups) for b in digest.bars] == [
        ("Round 1", 100, 4, 4), ("Round 2", 40, 2, 5), ("Round 3", 33, 1, 3)]  # fmt: skip


@pytest.mark.parametrize("covered, history", [
    ([], rows((1, 4, 4), (2, 5, 2))),  # an empty digest draws no old rounds
    (rows((1, 2, 2)), rows((1, 2, 2))),  # one bar compares nothing
])  # fmt: skip
def test_no_chart_when_it_would_say_nothing(covered, history):
    assert build_digest([], covered, 0, 2026, 1, chart=history).bars == ()


def test_the_chart_stops_at_the_newest_round_reported_on():
    history = rows(*[(n, 4, n % 4) for n in range(1, 11)])
    digest = build_digest([], rows((8, 4, 0)), 0, 2026, 1, chart=history)
    assert [b.label for b in digest.bars] == [f"Round {n}" for n in range(3, 9)]


def _approve(world):
    world.service.digests.start()
    world.service.send(world.transport)
    preview = [m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "digest-preview"]
    world.transport.sent.clear()
    world.receive(make_reply(preview[-1], f"Organiser <{ADMIN}>", "approve"))
    return [m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "digest"]


def test_a_second_digest_counts_only_its_own_round_and_charts_both(world):
    first = _approve(world)
    assert "Round 1: 1 group formed, 1 met. 2 new members so far." in body(first[0])
    world.clock.advance(days=31)
    world.rounds.run("r2", seed=3)
    world.service.learnings.follow_up_latest()
    world.service.send(world.transport)
    second = _approve(world)
    text = body(second[0]).replace("\r\n", "\n")
    assert "Round 2: 1 group formed, 0 met." in text
    assert "Round 1    #################### 100%  1 of 1 group" in text
    assert "Round 2    ....................   0%  0 of 1 group" in text
    assert "December 2026 (Vol 2026, Issue 2)" in str(second[0]["Subject"])


def test_learnings_are_numbered_in_both_parts_and_the_closing_fits_the_reader(world):
    world.receive(make_mail("Reader <reader@example.edu>", "subscribe digest"))
    world.receive(make_reply(world.last_to("reader@example.edu"), "reader@example.edu", "yes"))
    sent = {str(m["To"]).split("<")[1][:-1]: m for m in _approve(world)}
    member, subscriber = sent["anne@example.org"], sent["reader@example.edu"]
    html = member.get_body(("html",)).get_content()
    assert '<strong style="color:#1d70b8;">1.</strong>' in html and "2.</strong>" in html
    assert "\n1. " in body(member) and "\n2. " in body(member)
    assert 'email "digest off"' in body(member) and 'Email "join"' not in body(member)
    assert 'Email "join" to' in body(subscriber) and 'email "leave"' in body(subscriber)
    assert "subject=join" in subscriber.get_body(("html",)).get_content()
    assert "subject=join" not in html
    for msg in (member, subscriber):
        assert 'or "leave" to stop' not in body(msg)


def test_an_empty_text_digest_keeps_its_paragraphs_apart(tmp_path):
    w = make_world(tmp_path, digest={"moderation": False})
    rows_, _ = parse_roster("email\na@example.org\n")
    w.service.import_members(rows_, confirmed=True)
    w.service.digests.start()
    w.service.send(w.transport)
    text = body(w.transport.messages()[0]).replace("\r\n", "\n")
    assert "No pairing round yet; 1 new member so far." in text
    assert "lines is plenty.\n\nYou get this digest" in text
    assert "Share of groups" not in text
    w.store.close()


def test_the_organisers_notices_close_as_an_organisers(world):
    _approve(world)
    notice = world.last_to(ADMIN)
    assert notice["X-Mailbot-Kind"] == "notice"
    assert body(notice).rstrip().endswith("You get this as an organiser of UnMentoring.")


def test_a_digest_only_reader_is_never_told_they_will_be_paired(world):
    world.receive(make_mail("Reader <reader@example.edu>", "subscribe digest"))
    world.receive(make_reply(world.last_to("reader@example.edu"), "reader@example.edu", "yes"))
    assert "as your matches will see it" not in body(world.last_to("reader@example.edu"))
    world.receive(make_mail("reader@example.edu", "status"))
    status = body(world.last_to("reader@example.edu"))
    assert "gets the monthly digest only" in status and "next pairing round" not in status
    for command in ("pause", "resume", "skip next", "block anne@example.org"):
        world.receive(make_mail("reader@example.edu", command))
        reply = body(world.last_to("reader@example.edu"))
        assert "you're not in the pairing rounds" in reply, command
        assert world.state("reader@example.edu") == "active"
    world.receive(make_mail("reader@example.edu", "Unsubscribe from the digest"))
    member = world.store.get_member("reader@example.edu")
    assert member.state.value == "active" and not member.digest  # the digest stops, not more


# --- at scale: one body for all readers, queued in chunks (#13) -----------------------------


def _approve_now(world, finish=True):
    """Make the digest and approve it as an admin would; queue it unless not ``finish``."""
    world.service.digests.start()
    world.service.digests.moderate(world.store.digests()[-1], True, set())
    if finish:
        world.service.digests.finish_sending()


def _many_readers(world, count):
    csv = "email,name,org\n" + "".join(
        f"reader{n:03d}@example.com,Reader {n},Org {n % 7}\n" for n in range(count)
    )
    rows, _ = parse_roster(csv)
    world.service.import_members(rows, confirmed=True)


def test_copies_share_one_body_and_each_reader_gets_a_whole_digest(world):
    _many_readers(world, 5)
    _approve_now(world)
    [bodies] = world.store.db.execute("select count(*) from bodies").fetchone()
    assert bodies == 2  # one for members in the rounds, one for digest-only readers
    stored = [len(r[0]) for r in world.store.db.execute(
        "select raw from outbox where kind = 'digest' and status = 'queued'")]  # fmt: skip
    assert len(stored) == 7 and max(stored) < 300  # a To line and a Message-ID each
    world.service.send(world.transport)
    digests = [m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "digest"]
    assert sorted(str(m["To"]) for m in digests)[:2] == [
        "Anne Person <anne@example.org>", "Bob Smith <bob@example.net>"]  # fmt: skip
    assert len({m["Message-ID"] for m in digests}) == 7
    assert all("learned:" in body(m) and m["List-Unsubscribe"] for m in digests)
    assert all(m.get_body(("html",)) is not None for m in digests)


def test_a_big_digest_never_holds_the_write_lock_between_chunks(world, monkeypatch):
    from mailbot import digests as digests_module
    from mailbot.store import SqliteStore

    monkeypatch.setattr(digests_module, "CHUNK", 2)
    _many_readers(world, 7)
    _approve_now(world, finish=False)
    other = SqliteStore(world.store.path)
    other.db.conn.execute("PRAGMA busy_timeout = 50")  # a `send` beside the digest
    writes = []

    def beside(done, total):
        with other.atomic():  # would fail with "database is locked" inside one long job
            other.set_setting("beside", str(done))
        writes.append((done, total))

    world.service.digests.finish_sending(beside)
    other.close()
    assert writes == [(2, 9), (4, 9), (6, 9), (8, 9), (9, 9)]


def test_a_digest_stopped_part_way_is_finished_once_for_each_reader(world, monkeypatch):
    from mailbot import digests as digests_module

    monkeypatch.setattr(digests_module, "CHUNK", 3)
    _many_readers(world, 6)
    _approve_now(world, finish=False)
    calls = []
    original = digests_module.queue_copy

    def dies_on_the_fifth(*args, **kwargs):
        calls.append(args[2])
        if len(calls) == 5:
            raise KeyboardInterrupt  # stopped mid-chunk: that chunk rolls back
        return original(*args, **kwargs)

    monkeypatch.setattr(digests_module, "queue_copy", dies_on_the_fifth)
    with pytest.raises(KeyboardInterrupt):
        world.service.digests.finish_sending()
    [queued] = world.store.db.execute("select count(*) from outbox where kind = 'digest'"
                                      ).fetchone()  # fmt: skip
    assert queued == 3  # the first chunk committed, the second did not
    monkeypatch.setattr(digests_module, "queue_copy", original)
    world.service.digests.run_due()  # the daemon's next cycle finishes it
    world.service.send(world.transport)
    readers = [str(m["To"]) for m in world.transport.messages() if m["X-Mailbot-Kind"] == "digest"]
    assert len(readers) == len(set(readers)) == 8
    assert world.store.digests()[-1].status.value == "sent"
    assert world.store.digests()[-1].recipients == 8


def test_shared_bodies_are_pruned_once_every_copy_went(world):
    _approve_now(world)
    world.service.send(world.transport)
    assert world.store.db.execute("select count(*) from bodies").fetchone()[0] == 2
    world.clock.advance(hours=2)
    world.receive(make_mail("Anne Person <anne@example.org>", "status"))
    world.service.send(world.transport)
    assert world.store.db.execute("select count(*) from bodies").fetchone()[0] == 0


def test_the_database_gives_back_what_sent_mail_freed(world):
    """#13: sent mail keeps no text; a new database hands the freed pages back to the disk."""
    assert world.store.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    _many_readers(world, 40)
    _approve_now(world)
    world.service.send(world.transport)
    assert world.store.db.execute("select count(*) from bodies").fetchone()[0] == 2
    pages = world.store.db.execute("PRAGMA page_count").fetchone()[0]
    world.clock.advance(hours=2)
    world.receive(make_mail("Anne Person <anne@example.org>", "status"))
    world.service.send(world.transport)  # prunes the bodies, then compacts
    assert world.store.db.execute("select count(*) from bodies").fetchone()[0] == 0
    assert world.store.db.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert world.store.db.execute("PRAGMA page_count").fetchone()[0] < pages
