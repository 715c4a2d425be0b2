"""The project's own table of realistic replies (tests/reply_cases/*.cases): for each, what a
digest keeps of the reply equals the expected text.

The cases are ours, written for this project and modelled on what mail clients send in many
languages; README.md beside them gives the format and the policy. A case we do not read right
yet is listed in KNOWN with the reason, and runs as a strict xfail, so fixing it is noticed.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from mailbot.core.replies import extract_learning
from tests.reply_cases import ReplyCase, load_cases, normalise

CASES = load_cases()
KNOWN: dict[str, str] = {}


def as_message(case: ReplyCase) -> EmailMessage:
    """The case as the client would send it: one text/plain or text/html part, UTF-8."""
    msg = EmailMessage()
    msg["From"] = case.sender
    msg["To"] = "Coffee Bot <coffee@example.org>"
    msg["Subject"] = "Re: How did your coffee go?"
    msg.set_content(case.body, subtype="html" if case.format == "html" else "plain")
    return _reparse(msg)


def _reparse(msg: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def digest_text(case: ReplyCase) -> str:
    return extract_learning(as_message(case)).text


def _param(case: ReplyCase) -> object:
    marks = [pytest.mark.xfail(reason=KNOWN[case.id], strict=True)] if case.id in KNOWN else []
    return pytest.param(case, id=case.id, marks=marks)


def test_the_table_is_broad() -> None:
    assert len(CASES) >= 300
    assert len({case.lang for case in CASES}) >= 20
    assert len({case.client for case in CASES}) >= 10


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_digest_keeps_the_new_text(case: ReplyCase) -> None:
    html = case.format == "html"
    assert normalise(digest_text(case), html) == normalise(case.expected, html)
