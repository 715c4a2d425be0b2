"""Messages as people's mail clients write them: a new email, and a reply that quotes.

The demo's scripted scenario sends these, and the tests use them (through
``mailbot.testing``); they are plain ``email`` objects, nothing sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid


def make_mail(
    sender: str = "Anne Person <anne@example.org>",
    subject: str = "",
    body: str = "",
    to: str = "unmentoring@example.org",
    headers: dict[str, str] | None = None,
    html: str | None = None,
) -> EmailMessage:
    """A message as a person's mail client would send it."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(domain="example.org")
    for name, value in (headers or {}).items():
        msg[name] = value
    if html is not None and not body:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(body or "\n")
        if html is not None:
            msg.add_alternative(html, subtype="html")
    return msg


def make_reply(
    original: EmailMessage, sender: str, body: str, quote: bool = True, keep_headers: bool = True
) -> EmailMessage:
    """A reply as a mail client makes it: Re: subject, threading headers, quoted original."""
    text = original.get_body(("plain",))
    quoted = ""
    if quote and text is not None:
        quoted = "\n\nOn Mon, 2 Nov 2026, UnMentoring wrote:\n" + "\n".join(
            "> " + line for line in text.get_content().splitlines()
        )
    headers = {}
    if keep_headers:
        chain = " ".join(
            filter(None, [str(original.get("References", "")), str(original["Message-ID"])])
        )
        headers = {"In-Reply-To": original["Message-ID"], "References": chain}
    return make_mail(sender, "Re: " + str(original["Subject"]), body + quoted, headers=headers)
