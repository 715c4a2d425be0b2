"""One reader for what a person typed: every line of a message's text classified once.

Both readers of mail use it: the command reader (`command_lines`, the lines a command may be
on) and the learnings extractor (`new_text`, what a digest may publish). Each line is one of
`Kind`: new text, blank, quote, attribution, header block, forward, signature delimiter,
footer, banner, disclaimer. Markers are found by shape first and words second: the word tables
live in `mailbot.core.markers`, with their language and source.

Shape rules (any language):

* **Attribution**: a line (or two, wrapped) ending in a colon that holds a date or a time and
  an address, right above quoted or header-shaped text; or one that holds a known "wrote" verb
  and a date, time or address (see `_is_attribution`).
* **Header block**: two or more ``Label: value`` lines whose values hold an address and a date
  or time (labels in any script), or known From/Sent/To/Subject labels.
* **Footer**: a short line naming a device or mail app with nothing but other markers after it.
* **Banner**: a gateway's external-sender warning above the text; **disclaimer**: a paragraph
  with two or more legal markers.
* **Signature** (no ``-- `` line needed): at the end of the new text, a sign-off line, the
  sender's own name on a line, or a paragraph of contact lines (phone, address, web, handle,
  pronouns, working days, ``[cid:...]`` images, ``____`` rules), and everything after it, when
  all of that is signature-shaped (short lines, no prose).

Pure: stdlib only, no I/O; never raises on any text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from mailbot.core import markers as m
from mailbot.core.commands import PROFILE_KEYS
from mailbot.core.learnings import is_answer_word

__all__ = [
    "Kind", "Item", "Outcome", "classify", "new_text", "strip_closing", "command_lines",
    "name_keys", "is_contact_line", "is_quoted_attribution", "tidy", "MAX_READ", "PHONE",
    "EMAIL_ADDRESS", "LINK", "HANDLE",
]  # fmt: skip


class Kind(Enum):
    blank = "blank"
    text = "text"
    quote = "quote"
    footer = "footer"
    signature = "signature"  # the "-- " delimiter
    attribution = "attribution"
    header = "header"  # header block or "Original Message" separator
    forward = "forward"  # "Forwarded message" / "Begin forwarded message:" and its headers
    banner = "banner"
    disclaimer = "disclaimer"


@dataclass(frozen=True)
class Item:
    kind: Kind
    start: int
    end: int  # exclusive


@dataclass(frozen=True)
class Outcome:
    text: str
    suspicion: str  # "" unless the cut looks like it took new text
    removed: tuple[str, ...] = ()  # the signature block taken off the end, for the privacy gate


# --------------------------------------------------------------------------- vocabulary

_I = re.IGNORECASE
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068"
        "\u2069\u2060\ufeff\u00ad\u061c"), None)  # fmt: skip
_INVISIBLE.update(dict.fromkeys(map(ord, "\u00a0\u2007\u202f\u3000\t"), " "))

_VERB = rf"(?:(?<!\w)(?:{m.union(m.WROTE)})(?!\w)|{m.union(m.WROTE_CJK)})"
_VERB_RE = re.compile(_VERB, _I)
_FRAGMENT = re.compile(rf"^(?:\S*@\S*\s+)?{_VERB}", _I)  # "a@x> wrote:" ends a wrapped line
_COLON = r"[:：]"
_COLONS = (":", "：")
_ENDS_COLON = re.compile(rf"{_COLON}\s*$")
# The verb, a short tail ("am Fr., 28. Apr. 2017 um 11:53 Uhr"), then the closing colon.
_ATTRIBUTION = re.compile(
    rf"^(?P<head>.{{0,400}}?){_VERB}(?P<tail>(?:[^:：]|(?<=\d):(?=\d)){{0,80}}){_COLON}$", _I
)
_EMAIL = re.compile(r"[^\s<>\"'()\[\]]+@[^\s<>\"'()\[\]]+\.\w")
_ADDRESS = re.compile(r"[^\s<>\"'()\[\]]+@[^\s<>\"'()\[\]]+|<[^<>]*@|\[mailto:|mailto:")
_TIME = re.compile(r"(?<!\d)\d{1,2}[:.h]\d{2}(?!\d)|[午前後]\d{1,2}|오[전후]\s*\d")
_DATE = re.compile(
    r"(?<!\d)\d{1,4}\s*[./-]\s*\d{1,2}\s*[./-]\s*\d{1,4}(?!\d)|(?<!\d)(?:19|20)\d{2}(?!\d)"
    r"|\d{1,4}\s*[年월月]|\d{1,2}\s*일"
)
_START = re.compile(
    r"^(?:(?:on|am|le|el|op|il|em|den|dne|w\s+dniu|at|dnia|în|στις|vào|pada|في|בתאריך)\b"
    r"|在|\d|(?:mon|tue|wed|thu|fri|sat|sun),\s"
    r"|(?:mo|di|mi|do|fr|sa|so|lun|mar|mer|mié|jeu|jue|ven|vie|sam|sáb|dim|dom)\.,?\s"
    r"|(?:mon|tues|wednes|thurs|fri|satur|sun)day\b"
    r"|(?:lunes|martes|miércoles|jueves|viernes|sábado|domingo|lundi|mardi|mercredi|jeudi"
    r"|vendredi|samedi|dimanche|montag|dienstag|mittwoch|donnerstag|freitag|samstag"
    r"|sonntag)\b)",
    _I,
)
_PRONOUN = re.compile(
    r"^(?:as|like|i|we|he|she|they|you|someone|somebody|it|my|his|her|our|their|your|the|a|an)"
    r"\b",
    _I,
)
_SUBJECT_PRONOUN = re.compile(r"\b(?:i|we|he|she|they|it)\s*$", _I)
_FOLLOWING = re.compile(r"^\s*(?:the\s+following|following|as\s+follows)\s*$", _I)
_DATE_LED = re.compile(r"^\d{1,4}[-/.年]\s*\d{1,2}[-/.月]\s*\d{1,4}")
_GMT = re.compile(r"\bGMT\s*[+-]\s*\d")
_ENDS_WITH_ADDRESS = re.compile(rf"@[^\s<>()]+[>)]?\s*{_COLON}?$")
_ZOHO = re.compile(r"^-{2,}\s*(?P<inner>\S.*?)\s*-{2,}$")
_SEPARATOR = re.compile(rf"^[-=_*\s]*(?:{m.union(m.SEPARATORS)})\s*[-=_*\s]*{_COLON}?$", _I)
_FORWARD = re.compile(rf"^[-=_*\s]*(?:{m.union(m.FORWARDS)})\s*[-=_*\s]*{_COLON}?$", _I)
_RULE = re.compile(r"^(?:_{10,}|-{10,}|={10,}|—{5,}|─{5,}|━{5,})$")
# "----- Mail original -----", "-----Neges Wreiddiol-----": a framed title over history.
_FRAMED = re.compile(r"^[-=_*—~]{3,}\s*[^-=_*—~\s].{0,50}?\s*[-=_*—~]{3,}$")
# Yahoo's mobile app runs the quoted text on after the attribution: "... escribió:   Hi Val,".
_RUN_ON = re.compile(rf"^(?P<head>.{{10,300}}?{_COLON})\s{{2,}}\S")
_FIELD = re.compile(
    rf"^[*_]*\s*(?:(?P<from>{m.union(m.FROM_LABELS)})|{m.union(m.HEADER_LABELS)})\s*[*_]*\s*"
    rf"{_COLON}",
    _I,
)
# Any "Label: value" line: a label of up to three words in any script, then a value.
_LABEL = re.compile(rf"^[*_]*\s*(?P<label>[^\W\d_][\w.'’-]*(?:\s+[\w.'’-]+){{0,2}})\s*[*_]*\s*"
                    rf"{_COLON}\s*(?P<value>\S.*)?$")  # fmt: skip
_FOOTER = re.compile(rf"^(?:{m.union(m.FOOTERS)})$", _I)  # and it names a device or app
_POSSESSIVE = re.compile(rf"(?<!\w)(?:{m.union(m.POSSESSIVES)})(?!\w)", _I)
_CORPORATE_FOOTER = re.compile(rf"^(?:{m.union(m.CORPORATE_FOOTERS)})$", _I)
# A device or app named as a word (in lower case; "发自我的iphone" and "iphoneから" too),
# never inside one: "qq" or "hey" in a confirmation code ("confirm p5qq5…") is no footer.
_DEVICE = re.compile(rf"(?<![a-z0-9])(?:{m.union(m.DEVICES)})(?![a-z0-9])")
_MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"<?https?://[^\s>]*>?")
_FENCE = re.compile(r"^(?:```|~~~)")
_SENTENCE_END = re.compile(r"[.!?。！？]$")
_LOOKS_QUOTED = re.compile(r"^(?:\||\w{1,12}>)")
_FIRST_PERSON = re.compile(r"^(?:i|we|you|they|our|my|both|she|he)\b", _I)

_INITIALS = re.compile(r"^[-–—~/]*\s*(?:[A-Z]\.?\s?){1,3}$|^[-–—~/]*\s*(?:[^\W\d_]\.\s?){1,3}$")
_LONE_NAME = re.compile(r"^[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]{1,14}$")  # "Kenji", "Dai": a first name alone
_KISSED_NAME = re.compile(r"^[-–—~/]*\s*[A-Z][\w'’-]{1,20}\s+x{1,3}$")
_LIST_MARKS = ("-", "*", "•", ">", "(")
_HONORIFIC = re.compile(r"^(?:dr|prof|mr|mrs|ms|mx|cllr|sir|dame|ing|mag|mgr|doc)\.?\s+", _I)
_CLOSING_PUNCTUATION = " ,.!;:–—-…、，。！،"
_SIGNOFF = re.compile(rf"^(?:{m.union(m.SIGNOFFS)})(?P<rest>[\s,.!;:–—…、，。！،-].*)?$", _I)
_BANNER_WORDS = re.compile(m.word_search(m.BANNERS))  # on lower-cased text, like the two below
# A warning opens with a tag or one shouting word and a colon: "CAUTION:", "[EXTERNAL]",
# "【注意】", "UWAGA:", "تنبيه:"; or with "This email ..." / "You don't often get email".
_BANNER_OPENING = re.compile(
    r"^(?:[\[(【<*]\s*[^\])】>]{1,30}[\])】>]|this\s+(?:e-?mail|message)|you\s+don't\s+often)",
    _I,
)
# A warning speaks to you; a learning speaks of us. ("i" and "my" are words of Welsh, Polish.)
_WE = re.compile(r"\bI\b|\b(?i:we|our)\b")
_BANNER_LINE = re.compile(r"^[\[(*]*\s*(?:external|externe?|extern|allanol)(?:\s+(?:email"
                          r"|e-mail|sender|message))?\s*[\])*:!]*$", _I)  # fmt: skip
_DISCLAIMER_WORDS = re.compile(m.word_search(m.DISCLAIMERS))
_DISCLAIMER_HINTS = re.compile(m.word_search(m.DISCLAIMER_HINTS))

# Contact lines in a signature block: a label, or a line that is little but a number, a link,
# an address or a handle.
_CONTACT = re.compile(
    r"^(?:t|m|e|w|p|f|tel|tel\.|mob|mobile|phone|ph|ffôn|ffon|symudol|e-?bost|e-?mail|email"
    r"|web|website|gwefan|fax|direct|dd|office|switchboard|cell|telefon|tél|tlf|puh"
    r"|telefono|teléfono|telefone|тел|моб|電話|手机|手機|電話番号|전화|هاتف|טלפון|skype|teams"
    r"|twitter|x|linkedin|bluesky|mastodon|instagram|github|pronouns?|rhagenwau)\.?\s*[:|.]"
    r"|.*\[cid:|.*\bcid:image|.*\((?:she|he|they|ze|xe|hi|fe|nhw)/\w+\)|^(?:she|he|they)/\w+$"
    r"|.*\bi\s+work\s+(?:mon|tue|wed|thu|fri|part|flexibl)|.*\bworking\s+(?:days|hours|pattern)"
    r"|.*\b(?:mon|tues?|wed|thur?s?|fri)(?:day)?\s*(?:-|–|to)\s*(?:mon|tues?|wed|thur?s?|fri)",
    _I,
)
# What a signature's contact lines hold; the privacy gate looks for the same things.
PHONE = re.compile(r"(?<![\w/.-])(?:\+|00)?\d(?:[\s()./-]{0,3}\d){7,14}(?![\w/])")
EMAIL_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
LINK = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]]+|\b[\w-]+\.(?:com|org|net|uk|gov|io|eu)"
                  r"(?:/[^\s<>()\[\]]*)?", _I)  # fmt: skip
HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_]{2,30}(?![\w@])")
_CONTACT_TOKENS = re.compile("|".join(p.pattern for p in (LINK, EMAIL_ADDRESS, HANDLE, PHONE)), _I)
_WIDE = re.compile(r"[\u3000-\u9fff\uac00-\ud7af\uf900-\ufaff]")  # CJK: a word per character
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")
_RULE_LINE = re.compile(r"^[_=\-–—*~•·.]{4,}$")

MAX_READ = 50_000  # characters of a body read: a reader's time stays bounded on hostile mail
_COMMAND_LINES = 600  # lines read for commands (a bottom-post's quote included)
_MAX_LINE = 500  # longer lines are never markers: attributions and header lines are short
_HEADER_LINES = 24  # a header block (From, Sent, To, Cc, Subject, wrapped) is no longer
_WRAP_LINES = 5  # an attribution may be wrapped over this many lines (blank lines included)
_SIGNATURE_LINES = 8  # a signature longer than this is not obviously one
_SIGNATURE_SHAPE = 90  # characters: a signature line is shorter
_SIG_BLOCK = 14  # lines: a trailing signature block is no longer
_SUSPICION_RATIO = 4
_DISCLAIMER_LINES = 30  # a disclaimer inside a run of lines starts this near its end
_DISCLAIMER_CHARS = 4000  # and is no longer than this


def name_keys(names: Iterable[str]) -> tuple[str, ...]:
    """Lower-cased names and their first words, for spotting a sign-off's name."""
    found: list[str] = []
    for name in names:
        name = " ".join(name.replace('"', " ").split()).strip(" ,")
        if not name or "@" in name:
            continue
        if "," in name:  # "Person, Anne" as Outlook writes it
            last, _, first = name.partition(",")
            name = f"{first.strip()} {last.strip()}"
        found.append(name.lower())
        found.append(name.split()[0].lower())
    return tuple(dict.fromkeys(n for n in found if len(n) >= 2))


# --------------------------------------------------------------------------- classification


def _clean_lines(text: str) -> tuple[list[str], list[str]]:
    if len(text) > MAX_READ:  # what a person types comes first; the history can be megabytes
        text = text[:MAX_READ].rpartition("\n")[0] or text[:MAX_READ]
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    clean = [line.translate(_INVISIBLE).strip() for line in lines]
    return lines, clean


def classify(clean: list[str]) -> list[Item]:
    """The lines as items: one per line, except markers, which may span several lines."""
    fenced = _fenced_lines(clean)
    items: list[Item] = []
    index = 0
    while index < len(clean):
        line = clean[index]
        kind, width = Kind.text, 1
        if index in fenced:
            pass
        elif not line:
            kind = Kind.blank
        elif line == "--":
            kind = Kind.signature
        elif line.startswith(">"):
            kind = Kind.quote
        elif _is_footer(line):
            kind = Kind.footer
        elif len(line) <= _MAX_LINE:
            if _FORWARD.match(line):
                kind, width = Kind.forward, 1 + _header_after(clean, index + 1)
            elif width := _header_width(clean, index):
                kind = Kind.header
            elif width := _attribution_width(clean, index):
                kind = Kind.attribution
            else:
                width = 1
        items.append(Item(kind, index, index + width))
        index += width
    return _paragraph_kinds(_device_footers(items, clean), clean)


def _fenced_lines(clean: list[str]) -> set[int]:
    """Indices of lines inside (and on) closed ``` or ~~~ fences."""
    inside: set[int] = set()
    opened: int | None = None
    for index, line in enumerate(clean):
        if not _FENCE.match(line):
            continue
        if opened is None:
            opened = index
        else:
            inside.update(range(opened, index + 1))
            opened = None
    return inside


def _plain(line: str) -> str:
    plain = _URL.sub("", _MARKDOWN_LINK.sub(r"\1", line))
    return plain.strip(" ()<>[]*_").rstrip(" .!。")


def _is_footer(line: str) -> bool:
    if len(line) > 160:
        return False
    plain = _plain(line)
    if not plain or ":" in plain:
        return False
    if _CORPORATE_FOOTER.match(plain):
        return True
    return bool(_FOOTER.match(plain)) and bool(
        _DEVICE.search(plain.lower()) or _POSSESSIVE.search(plain)
    )  # "Lähetetty raportti tiimille" is prose: a footer names a device, or says "my"


def _is_device_line(line: str) -> bool:
    """A short line naming a device or mail app, in any language: "Lähetetty iPhonesta"."""
    plain = _plain(line)
    if not plain or len(plain) > 60 or len(plain.split()) > 7 or _SENTENCE_END.search(line):
        return False
    if "," in plain:
        return False
    if ":" in plain or _FIRST_PERSON.match(plain) or not _DEVICE.search(plain.lower()):
        return False
    return not re.search(r"\b(?:use|uses|using|used|like|love|prefer|tried|switch)", plain, _I)


def _device_footers(items: list[Item], clean: list[str]) -> list[Item]:
    """Text lines naming a device become footers when no new text follows them."""
    out = list(items)
    following: Kind | None = None  # the kind of the next non-blank item
    for position in range(len(items) - 1, -1, -1):
        item = items[position]
        if item.kind is Kind.text and following is not Kind.text and _is_device_line(
            clean[item.start]
        ):
            out[position] = Item(Kind.footer, item.start, item.end)
        if item.kind is not Kind.blank:
            following = item.kind
    return out


def _paragraph_kinds(items: list[Item], clean: list[str]) -> list[Item]:
    """Banner and disclaimer paragraphs: runs of text lines read as a whole. HTML mail often
    has no blank line before a disclaimer, so one may also start inside a run."""
    out: list[Item] = []
    position = 0
    while position < len(items):
        if items[position].kind is not Kind.text:
            out.append(items[position])
            position += 1
            continue
        end = position
        while end < len(items) and items[end].kind is Kind.text:
            end += 1
        run = items[position:end]
        lines = [clean[item.start] for item in run]
        at_top = not _has_text(out)
        last = all(item.kind is not Kind.text for item in items[end:])
        banner = _banner_prefix(lines) if at_top else 0
        if banner:
            out.append(Item(Kind.banner, run[0].start, run[banner - 1].end))
            run, lines = run[banner:], lines[banner:]
        below = _banner_suffix(lines) if (at_top or last) and run else 0
        tail = run[len(run) - below :] if below else []
        run, lines = run[: len(run) - below], lines[: len(lines) - below]
        if not run:
            out.extend([Item(Kind.banner, tail[0].start, tail[-1].end)] if tail else [])
            position = end
            continue
        kind = _paragraph_kind(lines, at_top=at_top and not banner)
        inside = _disclaimer_inside(lines) if kind is None else 0
        if kind is not None:
            out.append(Item(kind, run[0].start, run[-1].end))
        elif inside:
            out.extend(run[:inside])
            out.append(Item(Kind.disclaimer, run[inside].start, run[-1].end))
        else:
            out.extend(run)
        if tail:
            out.append(Item(Kind.banner, tail[0].start, tail[-1].end))
        position = end
    return _headed_disclaimers(_disclaimers_at_the_end(out, clean), clean)


def _banner_suffix(lines: list[str]) -> int:
    """How many lines at the end of a run are a gateway's warning (some add it below)."""
    count = 0
    while count < min(len(lines), 6) and _BANNER_WORDS.search(lines[-1 - count].lower()):
        count += 1
    while count and not _is_banner(lines[len(lines) - count :]):
        count -= 1  # the warning is the last lines only
    return count


def _headed_disclaimers(items: list[Item], clean: list[str]) -> list[Item]:
    """A short heading right above a disclaimer ("CONFIDENTIALITY NOTICE", "Wichtiger
    Hinweis:", "YMWADIAD / DISCLAIMER") belongs to it."""
    out = list(items)
    for position, item in enumerate(items):
        if item.kind is not Kind.text or not _is_heading(clean[item.start]):
            continue
        if position and items[position - 1].kind is not Kind.blank:
            continue  # a heading stands apart: a signature's last line does not
        following = next((later for later in items[position + 1 :]
                          if later.kind is not Kind.blank), None)  # fmt: skip
        if following is not None and following.kind is Kind.disclaimer:
            out[position] = Item(Kind.disclaimer, item.start, item.end)
    return out


def _is_heading(line: str) -> bool:
    words = line.split()
    if not 0 < len(words) <= 5 or len(line) > 50 or re.search(r"[.!?。]$", line):
        return False
    return not _is_contact(line)


def _disclaimers_at_the_end(items: list[Item], clean: list[str]) -> list[Item]:
    """A disclaimer comes under a signature or ends a reply: one amid prose, with no sign-off
    or contact line above it, was the person's own words about the law: text again."""
    out: list[Item] = []
    signed = False
    for position, item in enumerate(items):
        if item.kind is Kind.text and _signature_mark(clean[item.start]):
            signed = True
        if (item.kind is Kind.disclaimer and not signed
                and _prose_follows(items, position + 1, clean)):  # fmt: skip
            out.extend(Item(Kind.text, i, i + 1) if clean[i] else Item(Kind.blank, i, i + 1)
                       for i in range(item.start, item.end))  # fmt: skip
        else:
            out.append(item)
    return out


def _prose_follows(items: list[Item], position: int, clean: list[str]) -> bool:
    for item in items[position:]:
        if item.kind in (Kind.quote, Kind.attribution, Kind.header, Kind.forward, Kind.signature):
            return False
        line = clean[item.start]
        if item.kind is Kind.text and _is_prose(line) and not _legal(line):
            return True
    return False


def _signature_mark(line: str) -> bool:
    """A line that only a signature holds: a sign-off, a contact line, a rule."""
    return _is_signoff(line, ()) or _is_comma_closing(line) or _is_contact(line) or bool(
        _RULE_LINE.match(line)
    )


def _is_prose(line: str) -> bool:
    """A sentence of the person's own: several words ending like one, or many words."""
    words = len(line.split())
    return words > 8 or (words > 3 and bool(_SENTENCE_END.search(line)))


def _disclaimer_inside(lines: list[str]) -> int:
    """Index of a line after the first that starts a disclaimer running to the end, else 0."""
    for index in range(max(1, len(lines) - _DISCLAIMER_LINES), len(lines)):
        if not _DISCLAIMER_WORDS.search(lines[index].lower()):
            continue
        if _paragraph_kind(lines[index:], at_top=False) is Kind.disclaimer:
            return index
    return 0


def _has_text(items: list[Item]) -> bool:
    return any(item.kind is Kind.text for item in items)


def _paragraph_kind(lines: list[str], at_top: bool) -> Kind | None:
    """A disclaimer paragraph (banners are found at the edges, by `_banner_prefix`)."""
    joined = " ".join(lines)
    if len(joined) > _DISCLAIMER_CHARS:
        return None  # longer than any disclaimer: prose (its tail is read apart)
    words = len(joined.split())
    if at_top or not _legal(lines[0]):
        return None  # a disclaimer opens as one; a learning that mentions the law does not
    strong = {_stem(hit) for hit in _DISCLAIMER_WORDS.findall(joined.lower())}
    hints = {_stem(hit) for hit in _DISCLAIMER_HINTS.findall(joined.lower())}
    marked = sum(1 for line in lines if _legal(line))
    if strong and len(strong | hints) >= 2 and (words >= 12 or len(joined) >= 60):
        return Kind.disclaimer if marked * 3 >= len(lines) else None
    return None


def _legal(line: str) -> bool:
    return bool(_DISCLAIMER_WORDS.search(line.lower()) or _DISCLAIMER_HINTS.search(line.lower()))


def _is_banner(lines: list[str]) -> bool:
    joined = " ".join(line for line in lines if not _RULE_LINE.match(line))
    if len(joined) > 700 or len(joined.split()) > 90 or _WE.search(joined):
        return False
    if len(lines) == 1 and _BANNER_LINE.match(joined):
        return True
    hits = {hit.lower() for hit in _BANNER_WORDS.findall(joined.lower())}
    if not hits:
        return False
    return len(hits) >= 2 or _banner_start(joined)


def _banner_start(text: str) -> bool:
    """A warning's opening: a tag ("[EXTERNAL]", "【注意】"), "This email ...", or one word in
    capitals ("CAUTION:", "UWAGA:") or in a script without case ("تنبيه:") before a colon."""
    if _BANNER_OPENING.match(text):
        return True
    head, colon, _ = text.replace("：", ":").partition(":")
    letters = [char for char in head.strip(" *!") if char.isalpha()]
    if not colon or not letters or len(head) > 25:
        return False
    if all(char.isupper() for char in letters):
        return len(letters) >= 3
    return not any(char.isupper() or char.islower() for char in letters) and len(head) <= 12


def _wraps(line: str, following: str) -> bool:
    """`following` reads as the rest of a long line wrapped by a client."""
    return len(line) >= 60 and len(following) >= 20 and not _SENTENCE_END.search(line)


def _banner_prefix(lines: list[str]) -> int:
    """How many lines at the top of a run are a gateway's warning (HTML mail often has no
    blank line between the warning and the greeting), else 0."""
    count = 0
    while count < len(lines) and (
        _RULE_LINE.match(lines[count]) or _BANNER_WORDS.search(lines[count].lower())
        or _BANNER_LINE.match(lines[count])
        or (count and count < 4 and _wraps(lines[count - 1], lines[count])
            and _BANNER_WORDS.search(lines[count - 1].lower()))
    ):  # fmt: skip
        count += 1
    while count < len(lines) and _RULE_LINE.match(lines[count]):
        count += 1
    return count if count and _is_banner(lines[:count]) else 0


def _stem(word: str) -> str:
    return " ".join(word.lower().split())[:6]


# ---- header blocks and separators


def _header_width(clean: list[str], index: int) -> int:
    """Lines taken by a separator or header block starting at `index`, else 0."""
    line = clean[index]
    if _SEPARATOR.match(line):
        return 1 + _header_after(clean, index + 1)
    if _RULE.match(line) or _FRAMED.match(line):
        following = _header_after(clean, index + 1)
        if following:
            return 1 + following
        if _FRAMED.match(line) and not _RULE.match(line) and _next_is_history(clean, index + 1):
            return 1
        return 0
    return _header_block(clean, index)


def _header_after(clean: list[str], index: int) -> int:
    """Width of a header block starting at `index` or after up to two blank lines, else 0."""
    skipped = 0
    while index + skipped < len(clean) and not clean[index + skipped] and skipped < 2:
        skipped += 1
    width = _header_block(clean, index + skipped)
    return skipped + width if width else 0


def _header_block(clean: list[str], index: int) -> int:
    """Width of From/Sent/To/Subject-style lines at `index` (with wrapped values), else 0.

    Known labels: a From field and two other fields, or a From field holding an address and
    one other field, with an address, a time or a year somewhere. Labels in any script: two or
    more fields whose values hold an address and a date or time. Up to two unlabelled lines may
    sit between fields (a wrapped Subject).
    """
    if index >= len(clean) or not _field(clean[index]).field:
        return 0
    fields = known = 0
    from_address = has_from = dated = addressed = shaped = False
    end = position = index
    limit = min(len(clean), index + _HEADER_LINES)
    while position < limit and clean[position] and position - end <= 2:
        facts = _field(clean[position])
        if facts.field:
            fields += 1
            known += facts.known
            addressed = addressed or facts.address
            dated = dated or facts.dated or facts.address
            shaped = shaped or facts.dated
            if facts.sender:
                has_from = True
                from_address = from_address or facts.address
            end = position
        else:
            shaped = shaped or facts.dated
        position += 1
    if has_from and dated and (fields >= 3 or (fields >= 2 and from_address)):
        return end + 1 - index
    if fields >= 2 and addressed and shaped and (known or fields >= 3):
        return end + 1 - index
    return 0


@dataclass(frozen=True)
class _Field:
    field: bool  # a "Label: value" line
    known: bool  # with a label from the tables
    sender: bool  # the From label
    address: bool
    dated: bool  # a date or a time


@functools.lru_cache(maxsize=128)
def _field(line: str) -> _Field:
    """What a line says as a header field; cached, as a block is read from each of its lines."""
    match = _FIELD.match(line)
    label = None if match else _LABEL.match(line)
    field = bool(match) or bool(
        label and label["value"] and len(label["label"]) <= 30
        and label["label"].lower() not in PROFILE_KEYS  # "name:", "phone:" after a join
    )  # fmt: skip
    if not field:
        return _Field(False, False, False, False, bool(_TIME.search(line) or _DATE.search(line)))
    return _Field(True, bool(match), bool(match and match["from"]), bool(_ADDRESS.search(line)),
                  bool(_TIME.search(line) or _DATE.search(line)))  # fmt: skip


# ---- attributions


def _attribution_width(clean: list[str], index: int) -> int:
    """Lines taken by an attribution starting at `index` (1 to _WRAP_LINES), else 0."""
    line = clean[index]
    if _is_attribution(line):
        return 1
    zoho = _ZOHO.match(line)
    if zoho and _is_attribution(zoho.group("inner") + ":"):
        return 1
    if _is_bare_attribution(line) and _next_is_history(clean, index + 1):
        return 1
    if _is_shaped_attribution(line) and _next_is_history(clean, index + 1):
        return 1
    if _is_dated_attribution(line) and _next_is_quote(clean, index + 1):
        return 1
    run_on = _RUN_ON.match(line) if "  " in line else None
    if run_on and (_is_attribution(run_on["head"]) or _is_shaped_attribution(run_on["head"])):
        return 1
    width = _wrapped_width(clean, index)
    if width:
        return width
    return _wrapped_shape_width(clean, index)


def _is_attribution(line: str) -> bool:
    """One line that ends like an attribution and names an address, or a date with a time or
    in a usual opening ("On", "Am", "Le" ..., a weekday)."""
    if _is_date_led(line):
        return True
    if not line.endswith(_COLONS):
        return False  # every other form ends with a colon: a cheap test before the regexes
    if _is_address_led(line):
        return True
    match = _ATTRIBUTION.match(line)
    if not match or _PRONOUN.match(line) or _SUBJECT_PRONOUN.search(match.group("head")):
        return False
    tail = match.group("tail")
    if tail.strip() and not (
        _FOLLOWING.match(tail) or "@" in tail or _TIME.search(tail) or _DATE.search(tail)
        or _names_after_date(match.group("head"), tail, line)
    ):
        return False  # "At 10:30 Anne wrote on the board:" is prose
    if _EMAIL.search(line):
        return True
    return bool(_DATE.search(line) and (_TIME.search(line) or _START.match(line)))


def _names_after_date(head: str, tail: str, line: str) -> bool:
    """ "Am 03.06.2024 um 10:00 schrieb Anne:": a dated opening, then the verb and a name."""
    return bool(_START.match(line) and _DATE.search(head)) and len(tail.split()) <= 4


def _is_shaped_attribution(line: str) -> bool:
    """Any language: ends with a colon, holds an address and a date or time, not a sentence."""
    if not line.endswith(_COLONS) or len(line) > 300 or not _ADDRESS.search(line):
        return False
    if not (_TIME.search(line) or _DATE.search(line)):
        return False
    return not _PRONOUN.match(line) or bool(_START.match(line))


def _is_dated_attribution(line: str) -> bool:
    """Thunderbird's "On 03/06/2024 10:00, Coffee Bot wrote:" in any language: a date and a
    time, a colon at the end, right above a quote (the caller checks that)."""
    if not line.endswith(_COLONS) or len(line) > 160 or _PRONOUN.match(line):
        return False
    return bool(_DATE.search(line) and _TIME.search(line))


def _next_is_quote(clean: list[str], index: int) -> bool:
    index = _next_line(clean, index)
    return index < len(clean) and clean[index].startswith(">")


def _next_line(clean: list[str], index: int) -> int:
    """The index of the first non-blank line from `index` on (the end when there is none)."""
    while index < len(clean) and not clean[index]:
        index += 1
    return index


def _is_date_led(line: str) -> bool:
    """Gmail's dated form: "2013/7/20 Anne <anne@example.org>", "... GMT+01:00 Anne"."""
    if not _DATE_LED.match(line):
        return False
    if _GMT.search(line) and len(line) <= 120:
        return True
    return bool(_EMAIL.search(line) and _ENDS_WITH_ADDRESS.search(line))


def _is_address_led(line: str) -> bool:
    """Mail.ru and others: "Thu, 26 Jun 2014 14:00 +0400 от Anne <anne@example.org>:"."""
    return bool(
        _ENDS_COLON.search(line)
        and _EMAIL.search(line)
        and _ENDS_WITH_ADDRESS.search(line)
        and (_TIME.search(line) or _DATE.search(line))
        and len(line) <= 200
    )


def _is_bare_attribution(line: str) -> bool:
    """ "Anne Person wrote:" with no date: an attribution only right above a quote."""
    if not line.endswith(_COLONS) or len(line) > 120:
        return False
    match = _ATTRIBUTION.match(line)
    if not match or match.group("tail").strip() or _PRONOUN.match(line):
        return False
    head = match.group("head").strip()
    return 0 < len(head) <= 60 and not re.search(r"[.!?:;]", head)


def _next_is_history(clean: list[str], index: int) -> bool:
    """The next non-blank line is quoted, or starts a header block or separator."""
    index = _next_line(clean, index)
    if index >= len(clean):
        return False
    return clean[index].startswith(">") or bool(_header_width(clean, index))


def _wrapped_shape_width(clean: list[str], index: int) -> int:
    """Two lines that read as one shaped attribution: "... Coffee Bot <" / "a@x> wrote:"."""
    if index + 1 >= len(clean) or not clean[index + 1] or len(clean[index + 1]) > 120:
        return 0
    first, second = clean[index], clean[index + 1]
    if not second.endswith(_COLONS) or _ENDS_COLON.search(first):
        return 0
    if _SENTENCE_END.search(first) and not re.search(r"\d\.$", first):
        return 0
    whole = _is_attribution(second) or _is_bare_attribution(second)
    if (whole or _is_shaped_attribution(second)) and not _FRAGMENT.match(second):
        return 0  # join onto a fragment ("a@x> wrote:"), never onto a whole attribution
    joined = f"{first} {second}"
    if _is_shaped_attribution(joined) and _next_is_history(clean, index + 2):
        return 2
    return 0


def _wrapped_width(clean: list[str], index: int) -> int:
    """An attribution wrapped over several lines, the last one ending with a colon.

    Either the first line holds the verb ("Anne <a@x> schrieb am Fr., 28." / "Apr. 2017 um
    11:53 Uhr:"), or it starts like an attribution with a date and a later line holds the verb
    or the address ("On Mon, 3 Jun 2024 at 10:00, Anne <" ... "anne@example.org> wrote:").
    """
    first = clean[index]
    starts_like = bool(_START.match(first) and re.search(r"\d", first))
    if not starts_like and "@" not in first and "<" not in first:
        return 0  # neither form: skip the costly verb search
    if _SENTENCE_END.search(first) and not _VERB_RE.search(first):
        return 0
    verb_first = bool(_VERB_RE.search(first)) and not _PRONOUN.match(first)
    if not verb_first and not starts_like:
        return 0
    if verb_first and not (_EMAIL.search(first) or "<" in first or starts_like):
        return 0
    parts = [first]
    for offset in range(1, _WRAP_LINES):
        position = index + offset
        if position >= len(clean):
            return 0
        line = clean[position]
        if not line:
            if verb_first:
                return 0  # the verb-first form wraps without blank lines
            continue
        if len(line) > 120 or (_is_attribution(line) and not _FRAGMENT.match(line)):
            return 0  # join onto a fragment ("a@x> wrote:"), never onto a whole attribution
        parts.append(line.lstrip("> ") if line.startswith(">") else line)
        joined = " ".join(parts)
        if _ENDS_COLON.search(line) or (_is_date_led(joined) and line.endswith(">")):
            return offset + 1 if _wrapped_is_attribution(joined, parts[-1], verb_first) else 0
        if line.startswith(">") or _SENTENCE_END.search(line):
            return 0
    return 0


def _wrapped_is_attribution(joined: str, tail: str, verb_first: bool) -> bool:
    if _is_date_led(joined) or _is_address_led(joined):
        return True
    if not _is_attribution(joined):
        return False
    if verb_first:
        return True
    # The verb sits on the last line: only an address (or nothing) may come before it there.
    before = _VERB_RE.split(tail, maxsplit=1)[0]
    return not before.strip() or bool(re.search(r"[@<>]", before))


def is_quoted_attribution(line: str) -> bool:
    unquoted = line.lstrip("> ")
    return bool(unquoted) and (
        _is_attribution(unquoted) or _is_bare_attribution(unquoted)
        or _is_shaped_attribution(unquoted)
    )  # fmt: skip


# --------------------------------------------------------------------------- new text

_MARKERS = (Kind.attribution, Kind.header, Kind.forward, Kind.signature, Kind.disclaimer)
_CONTENT = (Kind.text, Kind.quote, *_MARKERS)
_SKIPPED = (Kind.blank, Kind.footer, Kind.banner)


def new_text(text: str, names: Iterable[str] = ()) -> Outcome:
    """What the person newly wrote: history, markers, footers and their signature removed.

    `names` are the sender's names (From display name, profile name): a line holding one of
    them at the end of the text starts the signature.
    """
    lines, clean = _clean_lines(text)
    known = name_keys(names)
    items = _closing_after_quote(classify(clean), clean, known)
    position = _skip_leading_history(items, clean)
    kept: list[int] = []
    cut: Item | None = None
    while position < len(items):
        item = items[position]
        if item.kind in (Kind.signature, Kind.header, Kind.forward, Kind.disclaimer):
            cut = item
            break
        if item.kind is Kind.attribution:
            if not _answered_quote_follows(items, position + 1):
                cut = item
                break
        elif item.kind is Kind.quote:
            end = _quote_run_end(items, position)
            if _next_content(items, end) is Kind.text:
                kept.extend(_context_lines(items[position:end], clean))
            position = end
            continue
        elif item.kind in (Kind.text, Kind.blank):
            kept.extend(range(item.start, item.end))
        position += 1
    kept, signature = _trim_signature(kept, clean, known)
    result = tidy([lines[i] if clean[i] else "" for i in kept])
    suspicion = _suspicion(items, position, cut, clean, result)
    return Outcome(result, suspicion, tuple(clean[i] for i in signature if clean[i]))


def _closing_after_quote(items: list[Item], clean: list[str], names: tuple[str, ...]) -> list[Item]:
    """In an interleaved reply, a closing under the last quote ("> -- " / "Sabine") does not
    answer that quote: it is set apart like a footer, so the quote goes as history."""
    quotes = [i for i, item in enumerate(items) if item.kind is Kind.quote]
    if not quotes or not any(item.kind is Kind.text for item in items[: quotes[-1]]):
        return items
    tail = items[quotes[-1] + 1 :]
    texts = [item for item in tail if item.kind is Kind.text]
    if not texts or any(item.kind not in (Kind.text, Kind.blank, Kind.footer) for item in tail):
        return items
    if not all(_closing_line(clean[item.start], names) for item in texts):
        return items
    return items[: quotes[-1] + 1] + [
        Item(Kind.footer, item.start, item.end) if item.kind is Kind.text else item
        for item in tail
    ]


def _closing_line(line: str, names: tuple[str, ...]) -> bool:
    return (
        _is_signoff(line, names) or _is_comma_closing(line) or _is_name_line(line, names)
        or (_is_name(line, names) and len(line.split()) <= 2 and not _SENTENCE_END.search(line))
    )  # fmt: skip


def _skip_leading_history(items: list[Item], clean: list[str]) -> int:
    """Past banners, attributions and forwarding headers before any new text, with the quote
    under them. The quote under a leading attribution is the history of a bottom-post, unless
    more quote blocks are answered further down: then the reply is interleaved."""
    last_answered = _last_answered_quote(items)
    position = 0
    while True:
        while position < len(items) and items[position].kind in _SKIPPED:
            position += 1
        if _quoted_history(items, clean, position, last_answered):
            position = _quote_run_end(items, position)
            continue
        if position >= len(items) or items[position].kind not in (Kind.attribution, Kind.forward):
            return position  # new text, or reply history (an Outlook block) with none above
        position += 1
        while position < len(items) and items[position].kind is Kind.blank:
            position += 1
        if position < len(items) and items[position].kind is Kind.quote:
            end = _quote_run_end(items, position)
            if last_answered >= end:
                return position  # an interleaved reply: this quote is context like the others
            position = end


def _quoted_history(
    items: list[Item], clean: list[str], position: int, last_answered: int
) -> bool:
    """A quote at the top that opens with its own attribution (iOS quotes it: "> On ...
    wrote:") and is the only one answered: the history of a bottom-post."""
    if position >= len(items) or items[position].kind is not Kind.quote:
        return False
    return last_answered <= position and _quote_opens_with_attribution(items, position, clean)


def _quote_opens_with_attribution(items: list[Item], position: int, clean: list[str]) -> bool:
    """The first non-empty quoted line is an attribution."""
    for item in items[position : position + 6]:
        line = clean[item.start].lstrip("> ")
        if item.kind is Kind.quote and line:
            return is_quoted_attribution(line)
    return False


def _last_answered_quote(items: list[Item]) -> int:
    """Where the last quote block followed by new text starts, else -1."""
    last = -1
    position = 0
    while position < len(items):
        if items[position].kind is Kind.quote:
            end = _quote_run_end(items, position)
            if _next_content(items, end) is Kind.text:
                last = position
            position = end
        else:
            position += 1
    return last


def _quote_run_end(items: list[Item], position: int) -> int:
    """The index after a run of quote lines (blank lines inside the run belong to it)."""
    end = position
    while position < len(items) and items[position].kind in (Kind.quote, Kind.blank):
        if items[position].kind is Kind.quote:
            end = position + 1
        position += 1
    return end


def _next_content(items: list[Item], position: int) -> Kind | None:
    """The kind of the next item that is not blank, a footer or a banner."""
    for index in range(position, len(items)):
        if items[index].kind in _CONTENT:
            return items[index].kind
    return None


def _answered_quote_follows(items: list[Item], position: int) -> bool:
    """True when a quote block follows (after blanks) and new text follows that block."""
    while position < len(items) and items[position].kind is Kind.blank:
        position += 1
    if position >= len(items) or items[position].kind is not Kind.quote:
        return False
    return _next_content(items, _quote_run_end(items, position)) is Kind.text


def _context_lines(run: list[Item], clean: list[str]) -> list[int]:
    """The lines of a kept quote block, without the attribution lines quoted at its top."""
    indices = [i for item in run for i in range(item.start, item.end)]
    first = 0
    while first < len(indices) and (
        not clean[indices[first]] or is_quoted_attribution(clean[indices[first]])
    ):
        first += 1
    return indices[first:]


# ---- signatures without a delimiter


def _trim_signature(
    kept: list[int], clean: list[str], names: tuple[str, ...]
) -> tuple[list[int], list[int]]:
    """(kept lines without a trailing sign-off/signature block, the lines removed)."""
    content = [i for i in kept if clean[i]]
    if not content:
        return kept, []
    # The trailing block of signature-shaped lines (quoted context ends it).
    block = len(content)
    while block > 0 and len(content) - block < _SIG_BLOCK:
        line = clean[content[block - 1]]
        if line.startswith(">") or not _signature_shaped(line, names):
            break
        block -= 1
    tail = content[block:]
    cut = _signature_start(tail, clean, names)
    if cut is None:
        return kept, []
    start = tail[cut]
    return [i for i in kept if i < start], [i for i in kept if i >= start]


def _signature_shaped(line: str, names: tuple[str, ...]) -> bool:
    if _is_signoff(line, names) or _is_contact(line) or _RULE_LINE.match(line):
        return True
    if len(line) > _SIGNATURE_SHAPE or len([w for w in line.split() if w.isalnum()]) > 12:
        return False
    if _ENDS_COLON.search(line) or line.startswith(("-", "*", "•")):
        return False  # a list or its heading
    return not _SENTENCE_END.search(line) or (len(line.split()) <= 8 and len(line) <= 60)


def _signature_start(tail: list[int], clean: list[str], names: tuple[str, ...]) -> int | None:
    """Where the signature starts within the trailing block, else None.

    It starts at the paragraph of the first contact line (phone, web, handle, ``[cid:``,
    ``____`` ...), after a closing (sign-off and name) that opens that paragraph; or at a line
    holding the sender's name with more lines under it (name, job title, team). A closing alone
    ("Thanks,\nAlex") is what the person wrote: `strip_closing` takes it off for the digest.
    """
    for offset, index in enumerate(tail):
        line = clean[index]
        if _is_name_line(line, names) and offset + 1 < len(tail) and tail[offset + 1] == index + 1:
            return offset
        if (_is_contact(line) or _RULE_LINE.match(line)) and not _introduced(clean, index):
            first = offset
            while first > 0 and tail[first - 1] == tail[first] - 1 and _in_signature(
                clean[tail[first - 1]], names
            ):
                first -= 1  # back to the start of the paragraph, short of any sentence
            return _after_closing(tail, first, offset, clean, names)
    return _titled_paragraph(tail, clean)


def _titled_paragraph(tail: list[int], clean: list[str]) -> int | None:
    """The last paragraph, set apart, as a signature with no contact line lays out: a first
    name alone ("Dai"), then one to three short title-case lines (job title, team)."""
    start = len(tail) - 1
    while start > 0 and tail[start - 1] == tail[start] - 1:
        start -= 1
    lines = [clean[index] for index in tail[start:]]
    if start == 0 and tail[0] > 0 and clean[tail[0] - 1]:
        return None  # the block runs on from the text above: not a paragraph of its own
    if not 2 <= len(lines) <= 4 or not _LONE_NAME.match(lines[0]):
        return None
    titled = all(
        len(line.split()) <= 6 and line[:1].isupper() and not _SENTENCE_END.search(line)
        for line in lines[1:]
    )
    return start if titled else None


def _in_signature(line: str, names: tuple[str, ...]) -> bool:
    """A line that may open a signature paragraph: no sentence, or a closing."""
    if _is_signoff(line, names) or _is_comma_closing(line):
        return True
    return not _SENTENCE_END.search(line) or len(line.split()) <= 3 and not _WIDE.search(line)


def _introduced(clean: list[str], index: int) -> bool:
    """A link under "Here is the checklist:" is what the person shares, not a signature."""
    return index > 0 and bool(_ENDS_COLON.search(clean[index - 1]))


def _after_closing(
    tail: list[int], first: int, contact: int, clean: list[str], names: tuple[str, ...]
) -> int:
    """Past a sign-off (and the name line under it) that opens a signature paragraph."""
    position = first
    line = clean[tail[position]]
    if position < contact and (_is_signoff(line, names) or _is_comma_closing(line)):
        position += 1
        if position < contact and _is_name(clean[tail[position]], names):
            position += 1
    return position


def strip_closing(text: str, names: Iterable[str] = ()) -> tuple[str, tuple[str, ...]]:
    """`text` without the closing at its end ("Thanks,", "Cheers\nSam", "Diolch yn fawr",
    the sender's name alone), and the lines taken off. The digest labels each learning itself,
    so a closing there would repeat the name, or give away an anonymous writer. Stacked
    closings ("Diolch yn fawr" / "Cofion" / "Siân") come off together."""
    known = name_keys(names)
    removed: tuple[str, ...] = ()
    for _ in range(3):
        shorter, taken = _strip_one_closing(text, known)
        if not taken:
            break
        text, removed = shorter, taken + removed
    return text.strip(), removed


def _strip_one_closing(text: str, known: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    lines = text.rstrip().split("\n")
    content = [i for i, line in enumerate(lines) if line.strip()]
    if not content:
        return text.strip(), ()
    last = lines[content[-1]].strip()
    above = lines[content[-2]].strip() if len(content) >= 2 else ""
    cut = len(lines)
    closing_above = (
        _is_signoff(above, known) or _is_comma_closing(above)
        or (len(content) > 2 and _set_apart(lines, content[-2]) and _closing_shape(above))
    )  # fmt: skip
    if _is_signoff(last, known) or (_is_comma_closing(last) and len(content) > 1):
        cut = content[-1]
    elif len(content) > 1 and (_INITIALS.match(last) or _KISSED_NAME.match(last)):
        cut = content[-1]  # "J.", "—AB", "Bernie x": a writer signing off
    elif len(content) > 1 and _set_apart(lines, content[-1]) and _LONE_NAME.match(last):
        cut = content[-1]  # a first name alone under the text, the writer's nickname maybe
    elif _is_name_line(last, known) or (closing_above and _is_name(last, known)):
        cut = content[-2] if closing_above else content[-1]

    removed = tuple(line.strip() for line in lines[cut:] if line.strip())
    return tidy(lines[:cut]), removed


def _set_apart(lines: list[str], index: int) -> bool:
    """A blank line above `index`: the line starts a paragraph of its own."""
    return index > 0 and not lines[index - 1].strip()


def _closing_shape(line: str) -> bool:
    """A closing in any language, by shape: one to three words, no digits, no sentence."""
    line = line.strip()
    words = line.split()
    if not 1 <= len(words) <= 3 or len(line) > 30 or re.search(r"\d", line):
        return False
    if line.startswith(_LIST_MARKS) or line.endswith((":", "：", ".", "?", "!", "。")):
        return False
    return not _FIRST_PERSON.match(line) and not is_answer_word(line)


def _is_signoff(line: str, names: tuple[str, ...]) -> bool:
    """ "Thanks,", "Best wishes", "Cheers Sam", "Diolch yn fawr", "Mit freundlichen Grüßen"."""
    match = _SIGNOFF.match(line)
    if not match:
        return False
    rest = (match.group("rest") or "").strip(_CLOSING_PUNCTUATION)
    if not rest:
        return True
    return _is_name(rest, names)


def _is_comma_closing(line: str) -> bool:
    """Any language's closing by shape: up to four words ending in a comma ("Fins aviat,")."""
    line = line.strip()
    return line.endswith((",", "،", "，")) and 0 < len(line.split()) <= 4 and len(line) <= 40


def _is_name(text: str, names: tuple[str, ...]) -> bool:
    """A short run of name-like words: the sender's name, or capitalised words, or initials."""
    text = text.strip(" ,.!;:–—-")
    if is_answer_word(text):
        return False
    if text.lower() in names or any(text.lower().startswith(n + " ") for n in names):
        return True
    words = text.split()
    if not 1 <= len(words) <= 3 or len(text) > 40:
        return False
    return all(word[0].isupper() or not word[0].isalpha() or not word[0].islower()
               for word in words if word.lower() not in ("x", "xx", "xxx"))  # fmt: skip


def _is_name_line(line: str, names: tuple[str, ...]) -> bool:
    """The sender's own name starting a line on its own: "Sam", "Sam Smith | Designer"."""
    lowered = _HONORIFIC.sub("", line.lower().strip(" ,.!*_/~–—-"))
    for name in names:
        if lowered == name or lowered in (f"{name} x", f"{name} xx", f"- {name}", f"—{name}"):
            return True
        if lowered.startswith(name) and len(name) >= 3:
            rest = lowered[len(name) :]
            if rest[:1] in ("|", ",", "(", "-", "–", "—", "/", "·", "•") or rest.startswith(
                (" |", " -", " –", " —", " (", " /", " ·", " •")
            ):
                return True
    return False


def _is_contact(line: str) -> bool:
    """A signature's contact line: a label ("Tel:", "Pronouns:"), a ``[cid:`` image, or little
    but a number, a link, an address or a handle. Never a sentence."""
    words = line.split()
    if len(line) > 120 or (_SENTENCE_END.search(line) and len(words) > 4):
        return False
    if _CONTACT.match(line) and len(line) <= 80 and len(words) <= 10:
        return True
    if _POSTCODE.search(line) and len(words) <= 6:
        return True
    rest, found = _CONTACT_TOKENS.subn(" ", line)
    letters = sum(3 if _WIDE.match(char) else 1 for char in re.sub(r"[\W\d_]+", "", rest))
    left = rest.strip(" |·•,-–—()[]")
    count = len(left.split())
    labelled = count <= 1 or (count <= 2 and left.endswith((":", "：", "|")))
    return bool(found) and labelled and letters <= 24


# ---- result


def tidy(lines: list[str]) -> str:
    """Lines joined: at most one blank line in a row, none at the ends."""
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1]):
            out.append(line if line.strip() else "")
    return "\n".join(out).strip()


def _suspicion(
    items: list[Item], position: int, cut: Item | None, clean: list[str], result: str
) -> str:
    """Why the cut may have taken new text, or "" (the rule is in replies.extract_reply)."""
    if cut is None or not result:
        return ""
    unquoted = quoted = lines = 0
    for item in items[position + 1 :]:
        if item.kind in _MARKERS:
            break
        if item.kind in (Kind.footer, Kind.banner):
            continue
        for line in clean[item.start : item.end]:
            size = len("".join(line.split()))
            if item.kind is Kind.quote or _LOOKS_QUOTED.match(line):
                quoted += size
            elif size:
                unquoted += size
                lines += 1
    kept = len("".join(result.split()))
    if unquoted <= _SUSPICION_RATIO * kept:
        return ""
    if cut.kind is Kind.attribution and unquoted > quoted:
        what = "an attribution line"
    elif cut.kind is Kind.signature and lines > _SIGNATURE_LINES:
        what = "a signature delimiter"
    else:
        return ""
    return f"kept {kept} characters, cut {unquoted} unquoted characters after {what}"


# --------------------------------------------------------------------------- commands


def command_lines(text: str, limit: int = 30) -> list[str]:
    """Non-empty stripped lines typed above any quoted, forwarded or signature material.

    Banners above the text are skipped; a reply that *starts* with quoted history
    (bottom-posting) is read after that history.
    """
    _, clean = _clean_lines(text)
    items = classify(clean[:_COMMAND_LINES])  # commands are typed near the top
    typed = _typed_lines(items, clean, 0, limit)
    if not typed:
        typed = _typed_lines(items, clean, _after_leading_quote(items), limit)
    return typed


def _typed_lines(items: list[Item], clean: list[str], start: int, limit: int) -> list[str]:
    typed: list[str] = []
    for item in items[start:]:
        if len(typed) >= limit or item.kind not in (Kind.text, Kind.blank, Kind.banner):
            break
        if item.kind is Kind.text:
            if _loose_header(clean, item.start):
                break
            typed.append(clean[item.start])
    return typed


def _loose_header(clean: list[str], index: int) -> bool:
    """For commands, cut early: a From field with another field in the next lines, or a rule
    above a From field, is history even undated (a command is never written that way)."""
    line = clean[index]
    if _RULE.match(line):
        following = [text for text in clean[index + 1 : index + 4] if text]
        return bool(following) and _is_from_field(following[0])
    if not _is_from_field(line):
        return False
    return any(_FIELD.match(text) for text in clean[index + 1 : index + 5] if text)


def _is_from_field(line: str) -> bool:
    match = _FIELD.match(line)
    return bool(match and match.group("from"))


def _after_leading_quote(items: list[Item]) -> int:
    """The item after an attribution plus ">" lines at the top, else the end."""
    position = 0
    while position < len(items) and items[position].kind in _SKIPPED:
        position += 1
    if position < len(items) and items[position].kind is Kind.attribution:
        position += 1
    elif position < len(items) and items[position].kind is not Kind.quote:
        return len(items)
    seen_quote = False
    while position < len(items) and items[position].kind in (Kind.quote, Kind.blank):
        seen_quote = seen_quote or items[position].kind is Kind.quote
        position += 1
    return position if seen_quote else len(items)


def is_contact_line(line: str) -> bool:
    """A signature's contact line: phone, web, handle, pronouns, working days, ``[cid:``."""
    return _is_contact(line.strip())
