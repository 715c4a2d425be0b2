"""Keep only the new text of a reply: what a person typed, without the history they replied to.

`extract_reply` reads a whole message (the text part, else the HTML part converted by
`mailbot.core.text.body_text`, which marks HTML quotes with "> " and signatures with "-- "),
`extract_text` and `extract_html` read a body. All three apply the same rules, line by line:

* **Quoted history** is removed: quote blocks (">") that end the message, and the block the
  client quoted under an attribution at the very top (bottom-posting). A quote block that is
  followed by more new text is the writer's own cut of what they answer (an interleaved reply),
  so it is kept as the answers' context; its attribution line is dropped.
* **Attribution lines** ("On ... wrote:" in some twenty languages, also wrapped over up to five
  lines, Gmail's "2016-03-03 17:21 GMT+01:00 Anne <a@x>:", Zoho's "---- On ... wrote ----"),
  **Outlook header blocks** (From/Sent/To/Subject and their German, French, Italian, Spanish,
  Dutch, Polish, Russian ... forms, alone or under a "______" rule), "-----Original Message-----"
  and **forwarding** ("---------- Forwarded message ---------", "Begin forwarded message:"):
  after new text, such a marker ends the reply, whatever follows (clients do not always quote
  with ">"). Before any new text, an attribution is dropped with the quote under it and a
  forwarding header is dropped (what follows is read: it is what the person sent), while an
  Outlook block or "Original Message" means the whole body is history: nothing was typed.
* **Signatures**: everything from a "-- " (or "--") line on.
* **Mobile footers** ("Sent from my iPhone", "Get Outlook for Android", "Von meinem iPhone
  gesendet", "Envoyé de mon iPad", "發自我的 iPhone" ...) are removed line by line; text after
  them is kept.

* **Banners, disclaimers and signatures without a delimiter** (a sign-off, the sender's own
  name, a block of contact lines at the end) are removed too; see `mailbot.core.reader`,
  which classifies every line once for this module and for the command reader.

Lines inside a closed ``` fence are always new text. Kept lines are the input's own lines (no
line is ever rewritten), with trailing spaces stripped, runs of blank lines collapsed and blank
lines at both ends removed. Pure: stdlib only, no I/O; never raises on any text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage

from mailbot.core.headers import sender_address
from mailbot.core.reader import new_text, strip_closing
from mailbot.core.text import body_text, html_to_text

__all__ = ["Extracted", "extract_reply", "extract_learning", "extract_text", "extract_html"]


@dataclass(frozen=True)
class Extracted:
    """The new text of a reply, the text it was read from, and whether a person should look."""

    text: str  # the new text, normalised
    raw: str  # the whole text part as read (HTML converted), for review
    needs_review: bool  # see `extract_reply` for the exact rule
    reason: str = ""  # short, for logs and admins
    removed: tuple[str, ...] = ()  # the signature block and closing taken off the end


def extract_reply(msg: EmailMessage, names: Iterable[str] = ()) -> Extracted:
    """The new text of `msg`, from its text part, else its HTML part; never raises.

    `names` add to the From display name as the sender's names (a profile name, say): a line
    holding one at the end of the text starts the signature.

    `needs_review` is True exactly when:

    1. the new text is empty (reason "empty message" when the body has no text at all, else
       "nothing left after removing quotes"); or
    2. the kept text is tiny next to a cut that does not look like history. Reading stopped at
       * an attribution line, and the part cut under it (up to the next marker) has more
         unquoted than quoted characters (lines starting with ">", "|" or "Name>" count as
         quoted): history under an attribution is normally quoted; or at
       * a signature delimiter followed by more than 8 unquoted non-blank lines (up to the next
         marker): signatures are short;
       and the unquoted non-space characters of that part are more than 4 times those of the
       kept text. Outlook header blocks, "Original Message" and forwarding headers are followed
       by unquoted history by design, so a cut there is never suspicious.
    """
    return _extract(msg, (_display_name(msg), *names))


def _extract(msg: EmailMessage, names: tuple[str, ...]) -> Extracted:
    try:
        raw = _normalise_newlines(body_text(msg))
    except Exception:  # body_text does not raise, but a hostile message must not stop the bot
        raw = ""
    outcome = new_text(raw, names)
    if not outcome.text:
        reason = "nothing left after removing quotes" if raw.strip() else "empty message"
        return Extracted("", raw, True, reason, outcome.removed)
    return Extracted(outcome.text, raw, bool(outcome.suspicion), outcome.suspicion,
                     outcome.removed)  # fmt: skip


def extract_learning(msg: EmailMessage, names: Iterable[str] = ()) -> Extracted:
    """What a digest may keep of `msg`: its new text without the closing at the end
    ("Thanks,\nSam", "Diolch yn fawr", the sender's name alone), which the digest's own label
    replaces. The lines taken off join `removed`, for the privacy gate."""
    known = (_display_name(msg), *names)
    extracted = _extract(msg, known)
    text, closing = strip_closing(extracted.text, known)
    if text == extracted.text:
        return extracted
    removed = closing + extracted.removed
    if not text:  # "Thanks!": polite, with nothing to share and nothing to review
        return Extracted("", extracted.raw, False, "", removed)
    return Extracted(text, extracted.raw, extracted.needs_review, extracted.reason, removed)


def extract_text(text: str, names: Iterable[str] = ()) -> str:
    """The new text of a plain-text reply body."""
    return new_text(_normalise_newlines(text), names).text


def extract_html(html: str, names: Iterable[str] = ()) -> str:
    """The new text of an HTML reply body (quotes and signatures as the HTML marks them)."""
    return new_text(_normalise_newlines(_html_text(html)), names).text


def _html_text(html: str) -> str:
    try:
        return html_to_text(html)
    except Exception:  # the converter is tolerant; this is a last guard
        return ""


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _display_name(msg: EmailMessage) -> str:
    try:
        return sender_address(msg)[0]
    except Exception:  # sender_address does not raise; a hostile header must not stop the bot
        return ""
