"""A digest built from our realistic replies publishes nothing private (issue #9).

Every case in tests/reply_cases is sent, through the service, as a member's reply to their
follow-up; every third asks to be anonymous. The digest that then goes to readers must hold no
phone number, no person's address, no disclaimer and no anonymous writer's name, in its text
and in its HTML.
"""

from __future__ import annotations

import html
import re
from email.message import EmailMessage
from email.utils import parseaddr

import pytest

from mailbot.core.learnings import read_answer
from mailbot.core.roster import parse_roster
from mailbot.testing import make_mail
from tests.helpers import body, make_world
from tests.reply_cases import ReplyCase, load_cases, normalise

ADMIN = "organiser@example.org"
PHONE = re.compile(r"(?<![\w/.#-])(?:\+|00)?\d(?:[\s().-]{0,3}\d){8,14}(?![\w/])")
ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
# Phrases only a disclaimer uses (a learning may well say "confidential data").
DISCLAIMER_WORDS = ("intended recipient", "intended solely", "in error", "notify the sender",
                    "croesawu gohebiaeth", "welcomes correspondence", "richtige adressat",
                    "destinataire", "geadresseerde", "per errore", "omyłkowo",
                    "по ошибке")  # fmt: skip
ITEM_START = re.compile(r"^\d+\. ")


def reply(case: ReplyCase, followup: EmailMessage, sender: str, anonymous: bool) -> EmailMessage:
    headers = {"In-Reply-To": str(followup["Message-ID"]),
               "References": str(followup["Message-ID"])}  # fmt: skip
    # "anonymous" as the whole subject: a line added to the body would change its layout.
    subject = "anonymous" if anonymous else "Re: " + str(followup["Subject"])
    if case.format == "html":
        return make_mail(sender, subject, html=case.body, headers=headers)
    return make_mail(sender, subject, case.body, headers=headers)


@pytest.fixture(scope="module")
def digest(tmp_path_factory):
    cases = load_cases()
    world = make_world(tmp_path_factory.mktemp("privacy"), limits={"sent_per_hour": 100_000})
    people = []
    for index, case in enumerate(cases):
        name = parseaddr(case.sender)[0].replace(",", " ").replace('"', "")
        people.append((name, f"member{index}@example.net", case))
    roster = "email,name,org\n" + "".join(f"{e},{n},Org {i % 7}\n"
                                          for i, (n, e, _) in enumerate(people))  # fmt: skip
    rows, problems = parse_roster(roster)
    assert not problems
    world.service.import_members(rows, confirmed=True)
    world.rounds.run("r1")
    world.service.learnings.follow_up_latest()
    world.service.send(world.transport)
    followups = {str(m["To"]).rpartition("<")[2].rstrip(">"): m
                 for m in world.transport.messages()
                 if m["X-Mailbot-Kind"] == "followup"}  # fmt: skip
    anonymous = {}
    replies = []
    for index, (name, address, case) in enumerate(people):
        hidden = index % 3 == 0
        if hidden:
            anonymous[normalise(case.expected)] = name
        replies.append(reply(case, followups[address], f"{name} <{address}>", hidden))
    world.receive(*replies)
    world.transport.sent.clear()
    world.service.digests.start()
    world.service.send(world.transport)
    preview = world.transport.messages()[0]
    world.transport.sent.clear()
    world.receive(make_mail(ADMIN, "Re: " + str(preview["Subject"]), "approve",
                            headers={"In-Reply-To": str(preview["Message-ID"]),
                                     "References": str(preview["Message-ID"])}))  # fmt: skip
    sent = [m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "digest"]
    assert sent, "the digest went to nobody"
    yield sent[0], anonymous, world.config.bot.address
    world.store.close()


def items(text: str) -> list[tuple[str, str]]:
    """(learning, author) for each numbered item of the text digest."""
    found: list[tuple[str, str]] = []
    current: list[str] | None = None
    lines = text.split("\n") + [""]
    for index, line in enumerate(lines[:-1]):
        author = line.startswith("   (") and line.endswith(")") and not lines[index + 1].strip()
        if ITEM_START.match(line):
            current = [ITEM_START.sub("", line)]
        elif current is not None and author:
            found.append((normalise("\n".join(current)), line.strip()[1:-1]))
            current = None
        elif current is not None:
            current.append(line.removeprefix("   "))
    return found


def parts(msg: EmailMessage) -> tuple[str, str]:
    page = msg.get_body(("html",))
    assert page is not None
    visible = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", "",
                                                           page.get_content(), flags=re.S)))
    return body(msg).replace("\r\n", "\n"), visible


def test_the_digest_publishes_many_learnings(digest):
    msg, _, _ = digest
    text, _ = parts(msg)
    assert len(items(text)) >= 200


def test_every_published_learning_is_what_its_writer_meant(digest):
    """Nothing but a case's expected text, less its answer lines ("anonymous"), compared
    without spaces as HTML cases are."""
    msg, _, _ = digest
    meant = {"".join(read_answer(normalise(c.expected)).learning.split()) for c in load_cases()}
    published = ["".join(learning.split()) for learning, _ in items(parts(msg)[0])]
    extra = [p for p in published if p not in meant]
    assert extra == [], "\n".join(extra)


@pytest.mark.parametrize("part", ["text", "html"])
def test_no_phone_number_address_or_disclaimer(digest, part):
    msg, _, bot = digest
    text = parts(msg)[0 if part == "text" else 1]
    assert not PHONE.findall(text)
    assert {a.lower() for a in ADDRESS.findall(text)} <= {bot.lower()}
    lowered = text.lower()
    assert [w for w in DISCLAIMER_WORDS if w in lowered] == []


@pytest.mark.parametrize("part", ["text", "html"])
def test_no_anonymous_writer_is_named(digest, part):
    msg, anonymous, _ = digest
    text = parts(msg)[0 if part == "text" else 1]
    found = 0
    for learning, author in items(parts(msg)[0]):
        if author != "Anonymous":
            continue
        name = anonymous.get(learning)
        if name is None:
            continue  # an HTML case: its expected text is compared without spaces elsewhere
        found += 1
        words = {w.lower() for w in re.findall(r"\w+", name) if len(w) >= 2}
        assert not words & {w.lower() for w in re.findall(r"\w+", learning)}, (name, learning)
        assert learning.split("\n")[0][:40] in text.replace("\n", " ") or part == "text"
    assert found >= 50
