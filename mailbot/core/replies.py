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

Lines inside a closed ``` fence are always new text. Kept lines are the input's own lines (no
line is ever rewritten), with trailing spaces stripped, runs of blank lines collapsed and blank
lines at both ends removed. Pure: stdlib only, no I/O; never raises on any text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from enum import Enum

from mailbot.core.text import body_text, html_to_text

__all__ = ["Extracted", "extract_reply", "extract_text", "extract_html"]


@dataclass(frozen=True)
class Extracted:
    """The new text of a reply, the text it was read from, and whether a person should look."""

    text: str  # the new text, normalised
    raw: str  # the whole text part as read (HTML converted), for review
    needs_review: bool  # see `extract_reply` for the exact rule
    reason: str = ""  # short, for logs and admins


def extract_reply(msg: EmailMessage) -> Extracted:
    """The new text of `msg`, from its text part, else its HTML part; never raises.

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
    try:
        raw = _normalise_newlines(body_text(msg))
    except Exception:  # body_text does not raise, but a hostile message must not stop the bot
        raw = ""
    return _extracted(raw)


def extract_text(text: str) -> str:
    """The new text of a plain-text reply body."""
    return _extract(_normalise_newlines(text)).text


def extract_html(html: str) -> str:
    """The new text of an HTML reply body (quotes and signatures as the HTML marks them)."""
    return _extract(_normalise_newlines(_html_text(html))).text


# --------------------------------------------------------------------------- the result


def _extracted(raw: str) -> Extracted:
    outcome = _extract(raw)
    if not outcome.text:
        reason = "nothing left after removing quotes" if raw.strip() else "empty message"
        return Extracted("", raw, True, reason)
    return Extracted(outcome.text, raw, bool(outcome.suspicion), outcome.suspicion)


def _html_text(html: str) -> str:
    try:
        return html_to_text(html)
    except Exception:  # the converter is tolerant; this is a last guard
        return ""


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --------------------------------------------------------------------------- vocabulary

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad"), None)
_INVISIBLE.update(dict.fromkeys(map(ord, "\u00a0\u2007\u202f\u3000\t"), " "))

# "<attribution> wrote:" verbs by language; Latin-script ones must stand as whole words.
_WORD_VERBS = (
    r"wrote|writes|has\s+written|schrieb|a\s+écrit|escribió|escreveu|schreef"
    r"|het\s+volgende\s+geschreven|geschreven|ha\s+scritto|scrisse|skrev|skrifaði"
    r"|napisał\(a\)|napisała|napisał|napsal\(a\)|napsal|написал\(а\)|написала|написал|пишет"
    r"|kirjoitti|írta|yazdı|έγραψε|a\s+scris|je\s+napisal|rašė|rakstīja|kirjutas"
)
_CJK_VERBS = r"写道|寫道|書きました|작성"
_VERB = rf"(?:(?<!\w)(?:{_WORD_VERBS})(?!\w)|{_CJK_VERBS})"
_COLON = r"[:：]"
# The verb, a short tail ("am Fr., 28. Apr. 2017 um 11:53 Uhr"), then the closing colon; the
# tail may hold a time's colon.
_ATTRIBUTION = re.compile(
    rf"^(?P<head>.{{0,400}}?){_VERB}(?P<tail>(?:[^:：]|(?<=\d):(?=\d)){{0,80}}){_COLON}$",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[^\s<>\"'()\[\]]+@[^\s<>\"'()\[\]]+\.\w")
_TIME = re.compile(r"\b\d{1,2}[:.h]\d{2}\b")
_DATE = re.compile(r"\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b|\b(?:19|20)\d{2}\b|\d{4}年")
# How attributions start: "On", "Am", "Le", "El", "Op", "Il giorno", "Em", "Den", "W dniu",
# "At" (Eudora), "在" (Chinese), a weekday or a number.
_START = re.compile(
    r"^(?:(?:on|am|le|el|op|il|em|den|dne|w\s+dniu|at|dnia)\b|在|\d"
    r"|(?:mon|tue|wed|thu|fri|sat|sun),\s"
    r"|(?:mo|di|mi|do|fr|sa|so|lun|mar|mer|mié|jeu|jue|ven|vie|sam|sáb|dim|dom)\.,?\s"
    r"|(?:mon|tues|wednes|thurs|fri|satur|sun)day\b"
    r"|(?:lunes|martes|miércoles|jueves|viernes|sábado|domingo|lundi|mardi|mercredi|jeudi"
    r"|vendredi|samedi|dimanche|montag|dienstag|mittwoch|donnerstag|freitag|samstag"
    r"|sonntag)\b)",
    re.IGNORECASE,
)
# Prose, not an attribution: "As I wrote:", "She wrote:", "My manager wrote:".
_PRONOUN = re.compile(
    r"^(?:as|like|i|we|he|she|they|you|someone|somebody|it|my|his|her|our|their|your|the|a|an)"
    r"\b",
    re.IGNORECASE,
)
_SUBJECT_PRONOUN = re.compile(r"\b(?:i|we|he|she|they|it)\s*$", re.IGNORECASE)
_FOLLOWING = re.compile(r"^\s*(?:the\s+following|following|as\s+follows)\s*$", re.IGNORECASE)
# Gmail in some locales: "2016-03-03 17:21 GMT+01:00 Anne <anne@example.org>:".
_DATE_LED = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[,\s]|$)")
_GMT = re.compile(r"\bGMT\s*[+-]\s*\d")
_ENDS_WITH_ADDRESS = re.compile(rf"@[^\s<>()]+[>)]?\s*{_COLON}?$")
_ZOHO = re.compile(r"^-{2,}\s*(?P<inner>\S.*?)\s*-{2,}$")

# Reply history: "-----Original Message-----" and its translations.
_SEPARATOR = re.compile(
    r"^[-=_*\s]*(?:original\s+message|ursprüngliche\s+nachricht|original-nachricht"
    r"|message\s+d'origine|message\s+original|mensaje\s+original|oorspronkelijk\s+bericht"
    r"|messaggio\s+originale|mensagem\s+original|originalmeddelande|opprinnelig\s+melding"
    r"|oprindelig\s+meddelelse|wiadomość\s+oryginalna|oryginalna\s+wiadomość"
    r"|исходное\s+сообщение|alkuperäinen\s+viesti|původní\s+zpráva|eredeti\s+üzenet"
    r"|orijinal\s+ileti|原始邮件|原始郵件|元のメッセージ)\s*[-=_*\s]*:?$",
    re.IGNORECASE,
)
# Forwarding: what follows the header block is someone's message, sent on.
_FORWARD = re.compile(
    r"^[-=_*\s]*(?:forwarded\s+message|weitergeleitete\s+nachricht|message\s+transféré"
    r"|mensaje\s+reenviado|doorgestuurd\s+bericht|messaggio\s+inoltrato"
    r"|mensagem\s+encaminhada|vidarebefordrat\s+meddelande|videresendt\s+melding"
    r"|przekazana\s+wiadomość|пересылаемое\s+сообщение|пересланное\s+сообщение"
    r"|転送メッセージ)\s*[-=_*\s]*:?$"
    r"|^(?:begin\s+forwarded\s+message|anfang\s+der\s+weitergeleiteten\s+nachricht"
    r"|début\s+du\s+message\s+réexpédié|inicio\s+del\s+mensaje\s+reenviado"
    r"|inizio\s+messaggio\s+inoltrato|início\s+da\s+mensagem\s+reencaminhada)\s*:?$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^(?:_{10,}|-{10,}|={10,})$")

_FROM_FIELDS = (
    r"from|von|de|van|da|från|fra|od|от|kimden|gönderen|lähettäjä|feladó|mittente|de\s+la|από"
    r"|发件人|寄件者|差出人"
    r"|보낸\s*사람"
)
_OTHER_FIELDS = (
    r"sent|date|to|cc|bcc|subject|reply-to|gesendet|datum|an|betreff|kopie|envoyé|à|a|objet"
    r"|répondre\s+à|enviado|enviada|fecha|para|asunto|responder\s+a|verzonden|aan|onderwerp"
    r"|beantwoorden|inviato|data|oggetto|risposta|rispondi\s+a|assunto|skickat|till|ämne|kopia"
    r"|sendt|til|emne|wysłano|wysłane|do|temat|dw|отправлено|дата|кому|тема|копия|kime|konu"
    r"|tarih|gönderildi|gönderilen|lähetetty|vastaanottaja|aihe|päivämäärä|elküldve|címzett"
    r"|tárgy|dátum|küldve|odesláno|odoslané|komu|předmět|predmet|trimis|către|subiect"
    r"|προς|θέμα|ημερομηνία|στάλθηκε|收件人|发送时间|发送日期|主题|日期|时间|抄送|收件者|主旨|傳送時間|副本"
    r"|送信日時|宛先|件名|받는\s*사람|보낸\s*날짜|제목"
)
_FIELD = re.compile(
    rf"^[*_]*\s*(?:(?P<from>{_FROM_FIELDS})|{_OTHER_FIELDS})\s*[*_]*\s*{_COLON}",
    re.IGNORECASE,
)

_DEVICES = (
    r"mobile|phone|iphone|ipad|ipod|android|blackberry|samsung|galaxy|htc|nokia|huawei|xiaomi"
    r"|pixel|motorola|device|tablet|cell|smartphone|mail|mailbox|airmail|outlook|yahoo|aol"
    r"|gmail|proton\w*|spark|bluemail|newton|sparrow|superhuman|edison|typeapp|fairemail"
    r"|k-9|windows"
)
_FOOTER = re.compile(
    r"^(?:sent\s+(?:from|via|with|using|by)\s+"
    rf"(?:my\s+\S.{{0,60}}|(?:a|an)\s+(?:\S+\s+)?(?:{_DEVICES})\b.{{0,40}}"
    rf"|(?:\S+\s+){{0,3}}?(?:{_DEVICES})\b.{{0,40}})"
    r"|(?:\S+\s+)?from\s+(?:my\s+)?(?:mobile|phone|iphone|ipad|android|blackberry|cell)\b.{0,12}"
    r"|get\s+outlook\s+for\s+\S+.{0,30}"
    r"|envoyé\s+(?:de|depuis|à\s+partir\s+de)\s+(?:mon|ma|un|une)\s+.{1,40}"
    r"|(?:von|mit)\s+meinem\s+.{1,40}\s+gesendet"
    r"|gesendet\s+(?:von|mit|vom)\s+(?:meinem|mobilem|einem)\s+.{1,40}"
    r"|diese\s+nachricht\s+wurde\s+von\s+meinem\s+.{1,80}\s+gesendet"
    r"|enviad[oa]\s+(?:desde|do|de|a\s+partir\s+do)\s+(?:mi|meu|o\s+meu|un|um)\s+.{1,40}"
    r"|(?:verzonden|verstuurd)\s+(?:vanaf|met|van)\s+.{1,40}"
    r"|inviato\s+da(?:l)?\s+.{1,40}"
    r"|skickat\s+från\s+.{1,40}"
    r"|sendt\s+fra\s+.{1,40}"
    r"|wysłane\s+z\s+.{1,40}"
    r"|отправлено\s+(?:с|из)\s+.{1,40}"
    r"|(?:发自|寄自|從|从|發自)我的.{0,30}"
    r"|.{1,30}から送信"
    r"|.{1,30}에서\s*보냄"
    r"|outlook\s+für\s+\S+\s+beziehen"
    r"|télécharger\s+outlook\s+pour\s+\S+"
    r"|obtener\s+outlook\s+para\s+\S+"
    r"|scarica\s+outlook\s+per\s+\S+)$",
    re.IGNORECASE,
)
_MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"<?https?://[^\s>]*>?")
_FENCE = re.compile(r"^(?:```|~~~)")
_SENTENCE_END = re.compile(r"[.!?]$")
# Quoting styles not read as quotes (a "|" line may be a table) but counted as history in a cut.
_LOOKS_QUOTED = re.compile(r"^(?:\||\w{1,12}>)")

_MAX_LINE = 500  # longer lines are never markers: attributions and header lines are short
_HEADER_LINES = 24  # a header block (From, Sent, To, Cc, Subject, wrapped) is no longer
_WRAP_LINES = 5  # an attribution may be wrapped over this many lines (blank lines included)
_SIGNATURE_LINES = 8  # a signature longer than this is not obviously one
_SUSPICION_RATIO = 4


# --------------------------------------------------------------------------- classification


class _Kind(Enum):
    blank = "blank"
    text = "text"
    quote = "quote"
    footer = "footer"
    signature = "signature"  # the "-- " delimiter
    attribution = "attribution"
    header = "header"  # Outlook header block, "Original Message" separator
    forward = "forward"  # "Forwarded message" / "Begin forwarded message:" and its headers


@dataclass(frozen=True)
class _Item:
    kind: _Kind
    start: int
    end: int  # exclusive


def _classify(clean: list[str]) -> list[_Item]:
    """The lines as items: one per line, except markers, which may span several lines."""
    fenced = _fenced_lines(clean)
    items: list[_Item] = []
    index = 0
    while index < len(clean):
        line = clean[index]
        kind, width = _Kind.text, 1
        if index in fenced:
            pass
        elif not line:
            kind = _Kind.blank
        elif line == "--":
            kind = _Kind.signature
        elif line.startswith(">"):
            kind = _Kind.quote
        elif _is_footer(line):
            kind = _Kind.footer
        elif len(line) <= _MAX_LINE:
            if _FORWARD.match(line):
                kind, width = _Kind.forward, 1 + _header_after(clean, index + 1)
            elif width := _header_width(clean, index):
                kind = _Kind.header
            elif width := _attribution_width(clean, index):
                kind = _Kind.attribution
            else:
                width = 1
        items.append(_Item(kind, index, index + width))
        index += width
    return items


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


def _is_footer(line: str) -> bool:
    if len(line) > 160:
        return False
    plain = _URL.sub("", _MARKDOWN_LINK.sub(r"\1", line))
    plain = plain.strip(" ()<>[]*_").rstrip(" .!")
    return bool(plain) and ":" not in plain and bool(_FOOTER.match(plain))


# ---- Outlook header blocks and separators


def _header_width(clean: list[str], index: int) -> int:
    """Lines taken by a separator or header block starting at `index`, else 0."""
    line = clean[index]
    if _SEPARATOR.match(line):
        return 1 + _header_after(clean, index + 1)
    if _RULE.match(line):
        following = _header_after(clean, index + 1)
        return 1 + following if following else 0
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

    It takes a From field and two other fields, or a From field holding an address and one
    other field, and somewhere an address, a time or a year; up to two unlabelled lines may sit
    between fields (a wrapped Subject).
    """
    if index >= len(clean) or not _FIELD.match(clean[index]):
        return 0
    fields = 0
    from_address = has_from = dated = False
    end = index
    position = index
    limit = min(len(clean), index + _HEADER_LINES)
    while position < limit and clean[position] and position - end <= 2:
        match = _FIELD.match(clean[position])
        if match:
            fields += 1
            dated = dated or bool(
                _EMAIL.search(clean[position])
                or _TIME.search(clean[position])
                or _DATE.search(clean[position])
            )
            if match.group("from"):
                has_from = True
                from_address = from_address or bool(_EMAIL.search(clean[position]))
            end = position
        position += 1
    if has_from and dated and (fields >= 3 or (fields >= 2 and from_address)):
        return end + 1 - index
    return 0


# ---- attributions


def _attribution_width(clean: list[str], index: int) -> int:
    """Lines taken by an attribution starting at `index` (1 to _WRAP_LINES), else 0."""
    line = clean[index]
    if _is_attribution(line):
        return 1
    zoho = _ZOHO.match(line)
    if zoho and _is_attribution(zoho.group("inner") + ":"):
        return 1
    if _is_bare_attribution(line) and _next_is_quote(clean, index + 1):
        return 1
    return _wrapped_width(clean, index)


def _is_attribution(line: str) -> bool:
    """One line that ends like an attribution and names an address, or a date with a time or
    in a usual opening ("On", "Am", "Le" ..., a weekday)."""
    if _is_date_led(line) or _is_address_led(line):
        return True
    match = _ATTRIBUTION.match(line)
    if not match or _PRONOUN.match(line) or _SUBJECT_PRONOUN.search(match.group("head")):
        return False
    tail = match.group("tail")
    if tail.strip() and not (
        _FOLLOWING.match(tail) or "@" in tail or _TIME.search(tail) or _DATE.search(tail)
    ):
        return False  # "At 10:30 Anne wrote on the board:" is prose
    if _EMAIL.search(line):
        return True
    return bool(_DATE.search(line) and (_TIME.search(line) or _START.match(line)))


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
        re.search(rf"{_COLON}$", line)
        and _EMAIL.search(line)
        and _ENDS_WITH_ADDRESS.search(line)
        and (_TIME.search(line) or _DATE.search(line))
        and len(line) <= 200
    )


def _is_bare_attribution(line: str) -> bool:
    """ "Anne Person wrote:" with no date: an attribution only right above a quote."""
    match = _ATTRIBUTION.match(line)
    if not match or match.group("tail").strip() or _PRONOUN.match(line):
        return False
    head = match.group("head").strip()
    return 0 < len(head) <= 60 and not re.search(r"[.!?:;]", head)


def _next_is_quote(clean: list[str], index: int) -> bool:
    while index < len(clean) and not clean[index]:
        index += 1
    return index < len(clean) and clean[index].startswith(">")


def _wrapped_width(clean: list[str], index: int) -> int:
    """An attribution wrapped over several lines, the last one ending with a colon.

    Either the first line holds the verb ("Anne <a@x> schrieb am Fr., 28." / "Apr. 2017 um
    11:53 Uhr:"), or it starts like an attribution with a date and a later line holds the verb
    or the address ("On Mon, 3 Jun 2024 at 10:00, Anne <" ... "anne@example.org> wrote:").
    """
    first = clean[index]
    if _SENTENCE_END.search(first) and not re.search(_VERB, first, re.IGNORECASE):
        return 0
    verb_first = bool(re.search(_VERB, first, re.IGNORECASE)) and not _PRONOUN.match(first)
    starts_like = bool(_START.match(first) and re.search(r"\d", first))
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
        if len(line) > 120:
            return 0
        parts.append(line.lstrip("> ") if line.startswith(">") else line)
        joined = " ".join(parts)
        if re.search(rf"{_COLON}$", line) or (_is_date_led(joined) and line.endswith(">")):
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
    before = re.split(_VERB, tail, maxsplit=1, flags=re.IGNORECASE)[0]
    return not before.strip() or bool(re.search(r"[@<>]", before))


# --------------------------------------------------------------------------- extraction


@dataclass(frozen=True)
class _Outcome:
    text: str
    suspicion: str  # "" unless the cut looks like it took new text (see extract_reply)


_MARKERS = (_Kind.attribution, _Kind.header, _Kind.forward, _Kind.signature)
_CONTENT = (_Kind.text, _Kind.quote, *_MARKERS)


def _extract(text: str) -> _Outcome:
    lines = [line.rstrip() for line in text.split("\n")]
    clean = [line.translate(_INVISIBLE).strip() for line in lines]
    items = _classify(clean)
    position = _skip_leading_history(items)
    kept: list[int] = []
    cut: _Item | None = None
    while position < len(items):
        item = items[position]
        if item.kind in (_Kind.signature, _Kind.header, _Kind.forward):
            cut = item
            break
        if item.kind is _Kind.attribution:
            if not _answered_quote_follows(items, position + 1):
                cut = item
                break
        elif item.kind is _Kind.quote:
            end = _quote_run_end(items, position)
            if _next_content(items, end) is _Kind.text:
                kept.extend(_context_lines(items[position:end], clean))
            position = end
            continue
        elif item.kind in (_Kind.text, _Kind.blank):
            kept.extend(range(item.start, item.end))
        position += 1
    result = _normalise([lines[i] if clean[i] else "" for i in kept])
    return _Outcome(result, _suspicion(items, position, cut, clean, result))


def _skip_leading_history(items: list[_Item]) -> int:
    """Past attributions and forwarding headers before any new text, with the quote under them.

    The quote under a leading attribution is the history of a bottom-post, unless more quote
    blocks are answered further down: then the reply is interleaved and the quote is kept.
    """
    last_answered = _last_answered_quote(items)
    position = 0
    while True:
        while position < len(items) and items[position].kind in (_Kind.blank, _Kind.footer):
            position += 1
        if position >= len(items) or items[position].kind not in (
            _Kind.attribution,
            _Kind.forward,
        ):
            return position  # new text, or reply history (an Outlook block) with none above
        position += 1
        while position < len(items) and items[position].kind is _Kind.blank:
            position += 1
        if position < len(items) and items[position].kind is _Kind.quote:
            end = _quote_run_end(items, position)
            if last_answered >= end:
                return position  # an interleaved reply: this quote is context like the others
            position = end


def _last_answered_quote(items: list[_Item]) -> int:
    """Where the last quote block followed by new text starts, else -1."""
    last = -1
    position = 0
    while position < len(items):
        if items[position].kind is _Kind.quote:
            end = _quote_run_end(items, position)
            if _next_content(items, end) is _Kind.text:
                last = position
            position = end
        else:
            position += 1
    return last


def _quote_run_end(items: list[_Item], position: int) -> int:
    """The index after a run of quote lines (blank lines inside the run belong to it)."""
    end = position
    while position < len(items) and items[position].kind in (_Kind.quote, _Kind.blank):
        if items[position].kind is _Kind.quote:
            end = position + 1
        position += 1
    return end


def _next_content(items: list[_Item], position: int) -> _Kind | None:
    """The kind of the next item that is not blank and not a footer."""
    for index in range(position, len(items)):
        if items[index].kind in _CONTENT:
            return items[index].kind
    return None


def _answered_quote_follows(items: list[_Item], position: int) -> bool:
    """True when a quote block follows (after blanks) and new text follows that block."""
    while position < len(items) and items[position].kind is _Kind.blank:
        position += 1
    if position >= len(items) or items[position].kind is not _Kind.quote:
        return False
    return _next_content(items, _quote_run_end(items, position)) is _Kind.text


def _context_lines(run: list[_Item], clean: list[str]) -> list[int]:
    """The lines of a kept quote block, without the attribution lines quoted at its top."""
    indices = [i for item in run for i in range(item.start, item.end)]
    first = 0
    while first < len(indices) and (
        not clean[indices[first]] or _is_quoted_attribution(clean[indices[first]])
    ):
        first += 1
    return indices[first:]


def _is_quoted_attribution(line: str) -> bool:
    unquoted = line.lstrip("> ")
    return bool(unquoted) and (_is_attribution(unquoted) or _is_bare_attribution(unquoted))


def _normalise(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1]):
            out.append(line if line.strip() else "")
    return "\n".join(out).strip()


def _suspicion(
    items: list[_Item], position: int, cut: _Item | None, clean: list[str], result: str
) -> str:
    """Why the cut may have taken new text, or "" (the rule is in extract_reply's docstring)."""
    if cut is None or not result:
        return ""
    unquoted = quoted = lines = 0
    for item in items[position + 1 :]:
        if item.kind in _MARKERS:
            break
        if item.kind is _Kind.footer:
            continue
        for line in clean[item.start : item.end]:
            size = len("".join(line.split()))
            if item.kind is _Kind.quote or _LOOKS_QUOTED.match(line):
                quoted += size
            elif size:
                unquoted += size
                lines += 1
    kept = len("".join(result.split()))
    if unquoted <= _SUSPICION_RATIO * kept:
        return ""
    if cut.kind is _Kind.attribution and unquoted > quoted:
        what = "an attribution line"
    elif cut.kind is _Kind.signature and lines > _SIGNATURE_LINES:
        what = "a signature delimiter"
    else:
        return ""
    return f"kept {kept} characters, cut {unquoted} unquoted characters after {what}"
