"""The words mail clients, gateways and people put around new text, as data.

Each table is rows of (language, pattern, source): the pattern is a regular expression
fragment (matched case-insensitively), the source says where the words come from, so a row can
be checked and a language added without reading the reader. `mailbot.core.reader` compiles
them once; structure (dates, addresses, line shapes) does the rest, so a language missing here
is still read by shape. Pure data: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Marker",
    "union",
    "word_search",
    "WROTE",
    "WROTE_CJK",
    "FROM_LABELS",
    "HEADER_LABELS",
    "SEPARATORS",
    "FORWARDS",
    "FOOTERS",
    "CORPORATE_FOOTERS",
    "POSSESSIVES",
    "DEVICES",
    "SIGNOFFS",
    "BANNERS",
    "DISCLAIMERS",
    "DISCLAIMER_HINTS",
]


@dataclass(frozen=True)
class Marker:
    lang: str  # ISO 639-1, or "*" for words every language uses (brand names)
    pattern: str  # a regex fragment, matched case-insensitively
    source: str  # where the words come from


def union(table: tuple[Marker, ...]) -> str:
    """One alternation of every row's alternatives, longest first, so that "best wishes" is
    tried before "best" and "napisał(a)" before "napisał"."""
    return "|".join(f"(?:{alt})" for alt in _sorted_alternatives(table))


def word_search(table: tuple[Marker, ...]) -> str:
    """A pattern to find a table's words anywhere in lower-cased text, without re.IGNORECASE.

    Python's re tries every branch at every position; starting only where a word starts
    (except in scripts written without spaces) and matching case-sensitively makes a search
    over a paragraph about ten times faster. The rows must be written in lower case."""
    alternatives = _sorted_alternatives(table)
    unspaced = [alt for alt in alternatives if _UNSPACED.match(alt)]
    spaced = [alt for alt in alternatives if not _UNSPACED.match(alt)]
    pattern = "(?<!\\w)(?:" + "|".join(spaced) + ")"
    return pattern + ("|" + "|".join(unspaced) if unspaced else "")


# Chinese and Japanese are written without spaces: their words need no word start.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


def _sorted_alternatives(table: tuple[Marker, ...]) -> list[str]:
    alternatives = {alt for row in table for alt in _alternatives(row.pattern)}
    return sorted(alternatives, key=lambda alt: (-len(alt), alt))


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regex fragment (a "|" outside any group or class)."""
    parts, depth, start, index, in_class = [], 0, 0, 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:index])
            start = index + 1
        index += 1
    parts.append(pattern[start:])
    return [part for part in parts if part]


_GMAIL = "Gmail's localised reply attribution"
_OUTLOOK = "Outlook's localised reply header (desktop, web, mobile)"
_APPLE = "Apple Mail / iOS Mail localised footer and attribution"

# "<attribution> wrote:" verbs. Latin and Cyrillic ones must stand as whole words.
WROTE: tuple[Marker, ...] = (
    Marker("en", r"wrote|writes|has\s+written", _GMAIL),
    Marker("de", r"schrieb|hat\s+geschrieben", _GMAIL),
    Marker("fr", r"a\s+écrit|écrit", _GMAIL),
    Marker("es", r"escribió", _GMAIL),
    Marker("ca", r"va\s+escriure|ha\s+escrit|escrigué", _GMAIL),
    Marker("pt", r"escreveu", _GMAIL),
    Marker("it", r"ha\s+scritto|scrisse", _GMAIL),
    Marker("ro", r"a\s+scris", _GMAIL),
    Marker("nl", r"schreef|het\s+volgende\s+geschreven|geschreven", _GMAIL),
    Marker("sv", r"skrev", _GMAIL),
    Marker("no", r"skrev", _GMAIL),
    Marker("da", r"skrev", _GMAIL),
    Marker("is", r"skrifaði", _GMAIL),
    Marker("fi", r"kirjoitti", _GMAIL),
    Marker("et", r"kirjutas", _GMAIL),
    Marker("lv", r"rakstīja", _GMAIL),
    Marker("lt", r"rašė", _GMAIL),
    Marker("pl", r"napisał\(a\)|napisała|napisał|pisze", _GMAIL),
    Marker("cs", r"napsal\(a\)|napsala|napsal", _GMAIL),
    Marker("sk", r"napísal\(a\)|napísala|napísal", _GMAIL),
    Marker("sl", r"je\s+napisal\(a\)|je\s+napisala|je\s+napisal", _GMAIL),
    Marker("hr", r"je\s+napisao|je\s+napisala", _GMAIL),
    Marker("hu", r"írta|ezt\s+írta", _GMAIL),
    Marker("tr", r"yazdı|şunu\s+yazdı", _GMAIL),
    Marker("el", r"έγραψε", _GMAIL),
    Marker("ru", r"написал\(а\)|написала|написал|пишет", _GMAIL),
    Marker("uk", r"написав\(ла\)|написала|написав|пише", _GMAIL),
    Marker("bg", r"написа", _GMAIL),
    Marker("cy", r"ysgrifennodd", _GMAIL),
    Marker("vi", r"đã\s+viết", _GMAIL),
    Marker("id", r"menulis", _GMAIL),
    Marker("ar", r"كتب", _GMAIL),
    Marker("he", r"כתב|כתבה", _GMAIL),
)
# CJK verbs are not space-separated words, so they need no word boundary.
WROTE_CJK: tuple[Marker, ...] = (
    Marker("zh", r"写道|寫道", _GMAIL),
    Marker("ja", r"書きました|のメッセージ", _GMAIL),
    Marker("ko", r"작성|님이\s*씀|쓴\s*글", "Gmail, Thunderbird (Korean)"),
)

# Header-block labels: the From field, then the others (Sent, To, Cc, Subject, Date ...).
FROM_LABELS: tuple[Marker, ...] = (
    Marker("en", r"from", _OUTLOOK),
    Marker("de", r"von", _OUTLOOK),
    Marker("fr", r"de", _OUTLOOK),
    Marker("es", r"de", _OUTLOOK),
    Marker("pt", r"de", _OUTLOOK),
    Marker("it", r"da", _OUTLOOK),
    Marker("nl", r"van", _OUTLOOK),
    Marker("sv", r"från", _OUTLOOK),
    Marker("no", r"fra", _OUTLOOK),
    Marker("da", r"fra", _OUTLOOK),
    Marker("fi", r"lähettäjä", _OUTLOOK),
    Marker("pl", r"od", _OUTLOOK),
    Marker("cs", r"od", _OUTLOOK),
    Marker("hu", r"feladó", _OUTLOOK),
    Marker("ro", r"de\s+la", _OUTLOOK),
    Marker("tr", r"kimden|gönderen", _OUTLOOK),
    Marker("el", r"από", _OUTLOOK),
    Marker("ru", r"от", _OUTLOOK),
    Marker("uk", r"від", _OUTLOOK),
    Marker("cy", r"oddi\s+wrth|gan", _OUTLOOK),
    Marker("zh", r"发件人|寄件者|寄件人", _OUTLOOK),
    Marker("ja", r"差出人|送信者", _OUTLOOK),
    Marker("ko", r"보낸\s*사람", _OUTLOOK),
    Marker("ar", r"من", _OUTLOOK),
    Marker("he", r"מאת", _OUTLOOK),
    Marker("vi", r"từ", _OUTLOOK),
    Marker("id", r"dari", _OUTLOOK),
)
HEADER_LABELS: tuple[Marker, ...] = (
    Marker("en", r"sent|date|to|cc|bcc|subject|reply-to", _OUTLOOK),
    Marker("de", r"gesendet|datum|an|betreff|kopie|cc", _OUTLOOK),
    Marker("fr", r"envoyé|date|à|a|objet|cc|répondre\s+à", _OUTLOOK),
    Marker("es", r"enviado|enviada|fecha|para|asunto|cc|responder\s+a", _OUTLOOK),
    Marker("ca", r"enviat|data|per\s+a|a|assumpte", _OUTLOOK),
    Marker("pt", r"enviado|enviada|data|para|assunto|cc", _OUTLOOK),
    Marker("it", r"inviato|data|a|oggetto|cc|risposta|rispondi\s+a", _OUTLOOK),
    Marker("nl", r"verzonden|datum|aan|onderwerp|cc|beantwoorden", _OUTLOOK),
    Marker("sv", r"skickat|datum|till|ämne|kopia", _OUTLOOK),
    Marker("no", r"sendt|dato|til|emne|kopi", _OUTLOOK),
    Marker("da", r"sendt|dato|til|emne|cc", _OUTLOOK),
    Marker("fi", r"lähetetty|päivämäärä|vastaanottaja|aihe|kopio", _OUTLOOK),
    Marker("pl", r"wysłano|wysłane|data|do|temat|dw|kopia", _OUTLOOK),
    Marker("cs", r"odesláno|datum|komu|předmět|kopie", _OUTLOOK),
    Marker("sk", r"odoslané|komu|predmet", _OUTLOOK),
    Marker("hu", r"elküldve|küldve|dátum|címzett|tárgy|másolat", _OUTLOOK),
    Marker("ro", r"trimis|data|către|subiect", _OUTLOOK),
    Marker("tr", r"gönderildi|gönderilen|tarih|kime|konu|bilgi", _OUTLOOK),
    Marker("el", r"στάλθηκε|ημερομηνία|προς|θέμα|κοιν", _OUTLOOK),
    Marker("ru", r"отправлено|дата|кому|тема|копия", _OUTLOOK),
    Marker("uk", r"надіслано|відправлено|дата|кому|тема|копія", _OUTLOOK),
    Marker("cy", r"anfonwyd|dyddiad|at|pwnc", _OUTLOOK),
    Marker("zh", r"收件人|发送时间|发送日期|主题|日期|时间|抄送|收件者|主旨|傳送時間"
           r"|寄件日期|副本", _OUTLOOK),
    Marker("ja", r"送信日時|宛先|件名|日付|cc", _OUTLOOK),
    Marker("ko", r"받는\s*사람|보낸\s*날짜|제목|참조", _OUTLOOK),
    Marker("ar", r"تاريخ\s+الإرسال|إلى|الموضوع|التاريخ|نسخة", _OUTLOOK),
    Marker("he", r"נשלח|אל|נושא|תאריך|עותק", _OUTLOOK),
    Marker("vi", r"đã\s+gửi|ngày|đến|tới|chủ\s+đề", _OUTLOOK),
    Marker("id", r"dikirim|tanggal|kepada|perihal|subjek", _OUTLOOK),
)

# "-----Original Message-----": the reply history follows.
SEPARATORS: tuple[Marker, ...] = (
    Marker("en", r"original\s+message", "Outlook, Zimbra, Lotus Notes"),
    Marker("de", r"ursprüngliche\s+nachricht|original-nachricht", _OUTLOOK),
    Marker("fr", r"message\s+d'origine|message\s+original|mail\s+original", "Outlook, Zimbra"),
    Marker("es", r"mensaje\s+original", _OUTLOOK),
    Marker("ca", r"missatge\s+original", _OUTLOOK),
    Marker("nl", r"oorspronkelijk\s+bericht|origineel\s+bericht", _OUTLOOK),
    Marker("it", r"messaggio\s+originale", _OUTLOOK),
    Marker("pt", r"mensagem\s+original", _OUTLOOK),
    Marker("ro", r"mesaj\s+original|mesajul\s+original", _OUTLOOK),
    Marker("sv", r"originalmeddelande|ursprungligt\s+meddelande", _OUTLOOK),
    Marker("no", r"opprinnelig\s+melding|original\s+melding", _OUTLOOK),
    Marker("da", r"oprindelig\s+meddelelse|original\s+meddelelse", _OUTLOOK),
    Marker("fi", r"alkuperäinen\s+viesti", _OUTLOOK),
    Marker("pl", r"wiadomość\s+oryginalna|oryginalna\s+wiadomość", _OUTLOOK),
    Marker("cs", r"původní\s+zpráva|původní\s+e-?mail", "Outlook, Seznam"),
    Marker("cy", r"neges\s+wreiddiol", "Outlook (Welsh)"),
    Marker("hu", r"eredeti\s+üzenet", _OUTLOOK),
    Marker("tr", r"orijinal\s+ileti|özgün\s+ileti|orijinal\s+mesaj", _OUTLOOK),
    Marker("el", r"αρχικό\s+μήνυμα", _OUTLOOK),
    Marker("ru", r"исходное\s+сообщение|оригинальное\s+сообщение", _OUTLOOK),
    Marker("uk", r"оригінальне\s+повідомлення|вихідне\s+повідомлення", _OUTLOOK),
    Marker("zh", r"原始邮件|原始郵件|原邮件", "QQ Mail, Foxmail, Outlook"),
    Marker("ja", r"元のメッセージ|元メッセージ", _OUTLOOK),
    Marker("ko", r"원본\s*메시지|원래\s*메시지", _OUTLOOK),
    Marker("ar", r"الرسالة\s+الأصلية", _OUTLOOK),
    Marker("he", r"ההודעה\s+המקורית|הודעה\s+מקורית", _OUTLOOK),
    Marker("vi", r"thư\s+gốc", _OUTLOOK),
    Marker("id", r"pesan\s+asli", _OUTLOOK),
)
# "---------- Forwarded message ---------" / "Begin forwarded message:".
FORWARDS: tuple[Marker, ...] = (
    Marker("en", r"forwarded\s+message|begin\s+forwarded\s+message", "Gmail, Apple Mail"),
    Marker("de", r"weitergeleitete\s+nachricht"
           r"|anfang\s+der\s+weitergeleiteten\s+nachricht", _GMAIL),
    Marker("fr", r"message\s+transféré|début\s+du\s+message\s+réexpédié", _GMAIL),
    Marker("es", r"mensaje\s+reenviado|inicio\s+del\s+mensaje\s+reenviado", _GMAIL),
    Marker("ca", r"missatge\s+reenviat", _GMAIL),
    Marker("nl", r"doorgestuurd\s+bericht|begin\s+doorgestuurd\s+bericht", "Gmail, Apple Mail"),
    Marker("it", r"messaggio\s+inoltrato|inizio\s+messaggio\s+inoltrato", _GMAIL),
    Marker("pt", r"mensagem\s+encaminhada|início\s+da\s+mensagem\s+reencaminhada", _GMAIL),
    Marker("ro", r"mesaj\s+redirecționat|mesaj\s+redirecţionat", _GMAIL),
    Marker("sv", r"vidarebefordrat\s+meddelande", _GMAIL),
    Marker("no", r"videresendt\s+melding", _GMAIL),
    Marker("da", r"videresendt\s+meddelelse", _GMAIL),
    Marker("fi", r"välitetty\s+viesti", _GMAIL),
    Marker("pl", r"przekazana\s+wiadomość|wiadomość\s+przekazana", _GMAIL),
    Marker("cs", r"přeposlaná\s+zpráva", _GMAIL),
    Marker("hu", r"továbbított\s+üzenet", _GMAIL),
    Marker("tr", r"iletilmiş\s+ileti|yönlendirilen\s+ileti|yönlendirilmiş\s+ileti"
           r"|iletilen\s+(?:ileti|mesaj)", _GMAIL),
    Marker("cy", r"neges\s+wedi'i\s+hanfon\s+ymlaen|neges\s+a\s+anfonwyd\s+ymlaen", _GMAIL),
    Marker("el", r"προωθημένο\s+μήνυμα", _GMAIL),
    Marker("ru", r"пересылаемое\s+сообщение|пересланное\s+сообщение", "Gmail, mail.ru, Yandex"),
    Marker("uk", r"переслане\s+повідомлення", _GMAIL),
    Marker("zh", r"转发的邮件|轉寄的郵件|转发邮件", _GMAIL),
    Marker("ja", r"転送メッセージ|転送されたメッセージ", _GMAIL),
    Marker("ko", r"전달된\s*메시지", _GMAIL),
    Marker("ar", r"(?:ال)?رسالة\s+(?:ال)?مُ?عاد\s+توجيهها|رسالة\s+محولة", _GMAIL),
    Marker("he", r"הודעה\s+שהועברה", _GMAIL),
    Marker("vi", r"thư\s+được\s+chuyển\s+tiếp", _GMAIL),
    Marker("id", r"pesan\s+yang\s+diteruskan", _GMAIL),
)

# Device and app footers, whole lines. Shape catches the rest (see reader._is_device_line).
FOOTERS: tuple[Marker, ...] = (
    Marker("en", r"sent\s+(?:from|via|with|using|by)\s+(?:my\s+\S.{0,60}|(?:a|an)\s+(?:\S+\s+)?"
           r"(?:mobile|phone|iphone|ipad|android|blackberry|samsung|galaxy|device|tablet|cell"
           r"|smartphone)\b.{0,40}|(?:\S+\s+){0,3}?(?:mobile|phone|iphone|ipad|ipod|android"
           r"|blackberry|samsung|galaxy|huawei|pixel|device|tablet|smartphone|mail|outlook|yahoo"
           r"|aol|gmail|mailbox|proton\w*|spark|bluemail|airmail|superhuman|edison|typeapp|fairemail"
           r"|k-9|windows|fastmail|hey|thunderbird)\b.{0,40})|get\s+outlook\s+for\s+\S+.{0,30}"
           r"|(?:\S+\s+)?from\s+(?:my\s+)?(?:mobile|phone|iphone|ipad|android|blackberry"
           r"|cell)\b.{0,12}", _APPLE),
    Marker("de", r"(?:von|mit)\s+meinem\s+.{1,40}\s+gesendet|gesendet\s+(?:von|mit|vom)\s+"
           r"(?:meinem|mobilem|einem)\s+.{1,40}|outlook\s+für\s+\S+\s+beziehen"
           r"|diese\s+nachricht\s+wurde\s+von\s+meinem\s+.{1,80}\s+gesendet", _APPLE),
    Marker("fr", r"envoyé\s+(?:de|depuis|à\s+partir\s+de)\s+(?:mon|ma|un|une)\s+.{1,40}"
           r"|télécharger\s+outlook\s+pour\s+\S+", _APPLE),
    Marker("es", r"enviad[oa]\s+(?:desde|de)\s+(?:mi|un)\s+.{1,40}"
           r"|obtener\s+outlook\s+para\s+\S+", _APPLE),
    Marker("ca", r"enviat\s+des\s+del?\s+(?:meu\s+)?.{1,40}", _APPLE),
    Marker("pt", r"enviad[oa]\s+(?:do|de|a\s+partir\s+do)\s+(?:meu|o\s+meu|um)\s+.{1,40}", _APPLE),
    Marker("it", r"inviato\s+da(?:l)?\s+.{1,40}|scarica\s+outlook\s+per\s+\S+", _APPLE),
    Marker("ro", r"trimis\s+de\s+pe\s+.{1,40}", _APPLE),
    Marker("nl", r"(?:verzonden|verstuurd)\s+(?:vanaf|met|van)\s+.{1,40}", _APPLE),
    Marker("sv", r"skickat\s+från\s+.{1,40}", _APPLE),
    Marker("no", r"sendt\s+fra\s+.{1,40}", _APPLE),
    Marker("da", r"sendt\s+fra\s+.{1,40}", _APPLE),
    Marker("fi", r"lähetetty\s+.{1,40}", _APPLE),
    Marker("pl", r"wysłane\s+z\s+.{1,40}", _APPLE),
    Marker("cs", r"odesláno\s+z\s+.{1,40}", _APPLE),
    Marker("hu", r".{1,40}\s+küldve", _APPLE),
    Marker("tr", r".{1,30}\s+gönderildi", _APPLE),
    Marker("el", r"στάλθηκε\s+από\s+.{1,40}", _APPLE),
    Marker("ru", r"отправлено\s+(?:с|из)\s+.{1,40}", _APPLE),
    Marker("uk", r"надіслано\s+(?:з|із)\s+.{1,40}", _APPLE),
    Marker("zh", r"(?:发自|寄自|從|从|發自)我的.{0,30}", _APPLE),
    Marker("ja", r".{1,30}から送信", _APPLE),
    Marker("ko", r".{1,30}에서\s*보냄", _APPLE),
    Marker("vi", r"gửi\s+từ\s+.{1,40}", _APPLE),
    Marker("id", r"dikirim\s+dari\s+.{1,40}", _APPLE),
    Marker("ar", r"أُرسلت\s+من\s+.{1,40}|أرسلت\s+من\s+.{1,40}|مرسل\s+من\s+.{1,40}", _APPLE),
    Marker("he", r"נשלח\s+מה?.{1,40}", _APPLE),
    Marker("cy", r"anfonwyd\s+o\s+.{1,40}", _APPLE),
)
# "Sent from MY ...": a footer line that names no device still says whose it is.
POSSESSIVES: tuple[Marker, ...] = (
    Marker("*", r"my|mein\w*|mon|ma|mi|meu|minha|mijn|min|mitt|mój|moje\w*|mého|mé|мо\w+"
           r"|我的|내|私の|il\s+mio|mio|mia", "possessives in device footers"),
)

# Lines organisations add under every email; removed wherever they stand.
CORPORATE_FOOTERS: tuple[Marker, ...] = (
    Marker("en", r"please\s+consider\s+the\s+environment\s+before\s+printing.{0,40}"
           r"|think\s+before\s+you\s+print.{0,40}|my\s+working\s+(?:hours|days|pattern)s?\s+"
           r"(?:may|might)\s+not\s+be.{0,120}", "corporate e-mail footers"),
)

# Devices and mail apps a footer names; a short line naming one at the end is a footer.
DEVICES: tuple[Marker, ...] = (
    Marker("*", r"iphon\w*|ipad\w*|ipod|apple\s+watch|android|blackberry|samsung|galaxy|huawei"
           r"|xiaomi|pixel|motorola|nokia|oneplus|htc|lg\s+mobile|windows\s+phone|surface",
           "phone and tablet makers"),
    Marker("*", r"mobile|phone|cell(?:phone)?|smartphone|tablet|móvil|movil|celular|telemóvel"
           r"|telemovel|móvel|mobil(?:e|telefon)?|mobiel|handy|puhelim\w*|telefon\w*"
           r"|телефон\w*|смартфон\w*|手机|手機|携帯|スマートフォン|휴대폰|휴대전화|هاتف\w*|جوال"
           r"|טלפון|נייד|điện\s+thoại|ponsel|telepon", "words for a phone in footers"),
    Marker("*", r"outlook|gmail|yahoo(?:\s+mail)?|aol(?:\s+mail)?|protonmail|proton\s+mail"
           r"|mail\.ru|yandex|spark|bluemail|airmail|superhuman|edison|fairemail|k-9|mailbox"
           r"|thunderbird|hey|fastmail|tuta(?:nota)?|zoho\s+mail|(?:windows\s+)?mail\s+for\s+windows"
           r"|windows\s+mail|windows\s+(?:8|10|11)"
           r"|mail\s+app|samsung\s+email|naver|daum|qq",
           "mail apps that sign their mail"),
)

# Closing lines: a person's sign-off before their name or signature.
SIGNOFFS: tuple[Marker, ...] = (
    Marker("en", r"thanks(?:\s+(?:again|so\s+much|a\s+lot|all|very\s+much))?|thank\s+you"
           r"(?:\s+(?:again|so\s+much|very\s+much))?|many\s+thanks|thanks\s+&\s+regards"
           r"|thx|ta|cheers|best|all\s+the\s+best|best\s+wishes|best\s+regards|kind\s+regards"
           r"|kindest\s+regards|warm(?:est)?\s+regards|warm\s+wishes|regards|with\s+thanks"
           r"|speak\s+soon|take\s+care|sincerely|yours(?:\s+sincerely)?|many\s+thanks\s+again"
           r"|have\s+a\s+(?:good|great|nice|lovely)\s+(?:day|week|weekend)|talk\s+soon|love"
           r"|ta(?:\s+very\s+much)?|thanks\s+and\s+(?:best\s+)?(?:regards|wishes)|best\s+for\s+now",
           "English letter closings"),
    Marker("cy", r"diolch(?:\s+yn\s+fawr(?:\s+iawn)?)?|cofion(?:\s+(?:gorau|cynnes))?"
           r"|yn\s+gywir|hwyl(?:\s+fawr)?|pob\s+hwyl|dymuniadau\s+gorau", "Welsh letter closings"),
    Marker("de", r"(?:viele\s+)?grüße\s+aus\s+\w+|gruß\s+aus\s+\w+"
           r"|(?:mit\s+)?(?:freundlichen|besten|herzlichen|lieben|vielen)\s+grüßen"
           r"|(?:viele|liebe|beste|herzliche|schöne)\s+grüße|grüße|gruß|lg|vg|mfg|danke"
           r"(?:\s+(?:schön|sehr))?|vielen\s+dank|beste\s+grüsse|freundliche\s+grüsse|grüsse",
           "German letter closings"),
    Marker("nl", r"met\s+vriendelijke\s+groet(?:en)?|(?:hartelijke\s+)?groet(?:en|jes)?"
           r"|mvg|bedankt|dank\s+je(?:\s+wel)?|dank\s+u(?:\s+wel)?", "Dutch letter closings"),
    Marker("sv", r"med\s+vänliga\s+hälsningar|vänliga\s+hälsningar|hälsningar|mvh|tack"
           r"(?:\s+så\s+mycket)?|ha\s+det\s+bra|hälsar", "Swedish letter closings"),
    Marker("no", r"med\s+vennlig\s+hilsen|vennlig\s+hilsen|hilsen|mvh|takk(?:\s+skal\s+du\s+ha)?"
           r"|beste\s+hilsen", "Norwegian letter closings"),
    Marker("da", r"med\s+venlig\s+hilsen|venlig\s+hilsen|(?:de\s+)?bedste\s+hilsner|hilsen"
           r"|mvh|tak(?:\s+for\s+nu)?|kh|kærlig\s+hilsen", "Danish letter closings"),
    Marker("fi", r"ystävällisin\s+terveisin|terveisin|t\.|kiitos(?:\s+paljon)?|parhain"
           r"\s+terveisin|hyvää\s+päivänjatkoa", "Finnish letter closings"),
    Marker("fr", r"cordialement|bien\s+(?:cordialement|à\s+vous)|merci(?:\s+beaucoup)?"
           r"|bonne\s+(?:journée|soirée)|à\s+bientôt|amicalement|bises|salutations"
           r"|sincères\s+salutations|bonne\s+fin\s+de\s+journée|bonne\s+continuation|belle\s+journée"
           r"|à\s+plus|merci\s+et\s+bonne\s+journée", "French letter closings"),
    Marker("es", r"un\s+saludo|saludos(?:\s+cordiales)?|un\s+abrazo|atentamente|gracias"
           r"(?:\s+de\s+nuevo)?|muchas\s+gracias|abrazos|hasta\s+pronto|saludos\s+y\s+gracias"
           r"|un\s+saludo\s+cordial|cordialmente|nos\s+vemos", "Spanish closings"),
    Marker("ca", r"salutacions|una\s+salutació|gràcies|moltes\s+gràcies|atentament"
           r"|una\s+abraçada|fins\s+aviat|fins\s+ara|cordialment|salut", "Catalan letter closings"),
    Marker("it", r"cordiali\s+saluti|(?:un\s+)?saluto|saluti|grazie(?:\s+mille)?|a\s+presto"
           r"|distinti\s+saluti|un\s+caro\s+saluto|cordialmente|buona\s+giornata|grazie\s+e\s+buona"
           r"\s+giornata|grazie,\s+a\s+presto|un\s+abbraccio|ciao", "Italian letter closings"),
    Marker("pt", r"atenciosamente|cumprimentos|abraços?|um\s+abraço|obrigad[oa]|muito"
           r"\s+obrigad[oa]|saudações|att\.?|beijos|bjs|até\s+breve|valeu|obrigad[oa]\s+e\s+bom"
           r"\s+trabalho|bom\s+trabalho|um\s+abraço\s+e\s+obrigad[oa]|com\s+os\s+melhores"
           r"\s+cumprimentos|melhores\s+cumprimentos", "Portuguese closings"),
    Marker("ro", r"cu\s+stimă|cu\s+drag|mulțumesc|mulţumesc|mulțumesc\s+frumos|o\s+zi\s+bună"
           r"|toate\s+cele\s+bune|numai\s+bine|vă\s+mulțumesc|vă\s+mulţumesc|o\s+zi\s+frumoasă"
           r"|cu\s+bine", "Romanian letter closings"),
    Marker("el", r"με\s+εκτίμηση|ευχαριστώ(?:\s+πολύ)?|φιλικά|χαιρετισμούς|καλή\s+συνέχεια"
           r"|με\s+φιλικούς\s+χαιρετισμούς|φιλικά\s+χαιρετίσματα|τα\s+λέμε",
           "Greek letter closings"),
    Marker("pl", r"pozdrawiam(?:\s+serdecznie)?|z\s+poważaniem|dzięki|dziękuję|serdecznie"
           r"|pozdrowienia|miłego\s+dnia|pozdrawiam\s+i\s+dziękuję|do\s+usłyszenia|pzdr",
           "Polish letter closings"),
    Marker("cs", r"s\s+pozdravem|díky(?:\s+a\s+hezký\s+den)?|děkuji|zdraví|hezký\s+den"
           r"|mějte\s+se|měj\s+se"
           r"|ahoj|zdravím", "Czech closings"),
    Marker("sk", r"s\s+pozdravom|ďakujem|vďaka|pekný\s+deň", "Slovak letter closings"),
    Marker("sl", r"lep\s+pozdrav|lp|s\s+spoštovanjem|hvala|lepo\s+bodi", "Slovenian closings"),
    Marker("hr", r"srdačan\s+pozdrav|lijep\s+pozdrav|srdačno|s\s+poštovanjem|hvala|pozdrav",
           "Croatian and Serbian (Latin) closings"),
    Marker("bg", r"поздрави|с\s+уважение|благодаря|хубав\s+ден", "Bulgarian closings"),
    Marker("sr", r"срдачан\s+поздрав|поздрав|хвала|с\s+поштовањем", "Serbian (Cyrillic)"),
    Marker("et", r"lugupidamisega|parimat|tervitades|tänan|aitäh|head\s+päeva", "Estonian"),
    Marker("lv", r"ar\s+cieņu|paldies|visu\s+labu|sveicieni", "Latvian closings"),
    Marker("lt", r"pagarbiai|ačiū|geros\s+dienos|linkėjimai", "Lithuanian closings"),
    Marker("is", r"bestu\s+kveðjur|kær\s+kveðja|kveðja|takk(?:\s+fyrir)?", "Icelandic"),
    Marker("ga", r"le\s+meas|go\s+raibh\s+maith\s+agat|slán(?:\s+go\s+fóill)?|beir\s+bua",
           "Irish closings"),
    Marker("ms", r"sekian(?:,?\s+terima\s+kasih)?|terima\s+kasih|salam\s+hormat|yang\s+benar",
           "Malay letter closings"),
    Marker("tl", r"salamat(?:\s+po)?|maraming\s+salamat|ingat|lubos\s+na\s+gumagalang",
           "Filipino letter closings"),
    Marker("sw", r"kila\s+la\s+heri|asante(?:\s+sana)?|wako|wasalaam", "Swahili closings"),
    Marker("fa", r"با\s+احترام|با\s+سپاس|سپاس(?:گزارم)?|ممنون(?:م)?|ارادتمند", "Persian"),
    Marker("hi", r"धन्यवाद|सादर|शुभकामनाओं\s+सहित|आपका", "Hindi letter closings"),
    Marker("bn", r"ধন্যবাদ(?:ান্তে)?|শুভেচ্ছা(?:সহ)?|শুভেচ্ছান্তে", "Bengali letter closings"),
    Marker("th", r"ขอบคุณ(?:ค่ะ|ครับ)?|ด้วยความเคารพ|ขอแสดงความนับถือ", "Thai letter closings"),
    Marker("ru", r"с\s+уважением|спасибо(?:\s+большое)?|всего\s+(?:доброго|хорошего)"
           r"|хорошего\s+дня|с\s+наилучшими\s+пожеланиями|удачи|всего\s+наилучшего|до\s+связи"
           r"|с\s+благодарностью", "Russian letter closings"),
    Marker("uk", r"з\s+повагою|дякую|щиро|гарного\s+дня|всього\s+найкращого|до\s+зв'язку"
           r"|до\s+зв’язку"
           r"|на\s+зв'язку|з\s+найкращими\s+побажаннями", "Ukrainian"),
    Marker("hu", r"üdvözlettel|köszönöm|köszi|tisztelettel|szép\s+napot|üdv|további\s+szép\s+napot"
           r"|baráti\s+üdvözlettel", "Hungarian"),
    Marker("tr", r"saygılarımla|teşekkürler|teşekkür\s+ederim|sevgiler|iyi\s+çalışmalar"
           r"|selamlar|kolay\s+gelsin|saygılar|iyi\s+günler|hoşça\s+kalın",
           "Turkish letter closings"),
    Marker("zh", r"谢谢|謝謝|此致|敬礼|祝好|顺祝商祺|祝順利|感谢|感謝", "Chinese closings"),
    Marker("ja", r"よろしくお願い(?:いた|致)?します。?|よろしくお願いいたします。?|宜しく"
           r"お願い(?:いた|致)?します。?|ありがとうございました。?|以上(?:、)?よろしく"
           r"お願いします。?|以上です。?\s*よろしくお願い(?:いた|致)?します。?",
           "Japanese closings"),
    Marker("ko", r"감사합니다\.?|고맙습니다\.?|수고하세요\.?", "Korean closings"),
    Marker("ar", r"مع\s+(?:خالص\s+)?(?:التحية|التحيات|الشكر)|شكرا(?:ً)?(?:\s+جزيلا(?:ً)?)?"
           r"|تحياتي|مع\s+أطيب\s+التحيات|وتفضلوا\s+بقبول\s+فائق\s+الاحترام", "Arabic"),
    Marker("he", r"תודה(?:\s+רבה)?|בברכה|להתראות|בהצלחה", "Hebrew letter closings"),
    Marker("vi", r"trân\s+trọng|cảm\s+ơn(?:\s+bạn)?(?:\s+nhiều)?|thân\s+mến|thân\s+ái|thân"
           r"|chúc\s+(?:bạn\s+)?một\s+ngày\s+tốt\s+lành", "Vietnamese"),
    Marker("id", r"salam|terima\s+kasih(?:\s+banyak)?|hormat\s+saya|salam\s+hangat|wassalam"
           r"|salam\s+(?:kenal|sukses)", "Indonesian"),
)

# External-sender warnings that mail gateways put above (or below) the text.
BANNERS: tuple[Marker, ...] = (
    Marker("en", r"originated\s+(?:from\s+)?outside|from\s+outside\s+(?:of\s+)?(?:the|your|our)"
           r"\s+organi[sz]ation|external\s+(?:sender|email|e-mail|message)"
           r"|do\s+not\s+click\s+(?:on\s+)?(?:any\s+)?links|unless\s+you\s+recogni[sz]e"
           r"|external\s+source|(?:care|caution)\s+with\s+links"
           r"|links\s+(?:and|or)\s+(?:open\s+)?attachments|think\s+before\s+you\s+click"
           r"|(?:came|comes|originated|is)\s+from\s+outside|phish\w*\s+alert"
           r"|don't\s+often\s+get\s+email\s+from|learn\s+why\s+this\s+is\s+important"
           r"|be\s+cautious\s+(?:when|before)|exercise\s+caution|is\s+from\s+an\s+external",
           "Microsoft 365, Mimecast, Proofpoint and Barracuda banners"),
    Marker("cy", r"tu\s+allan\s+i'r\s+sefydliad|anfonwr\s+allanol", "Welsh council banners"),
    Marker("de", r"externe[rn]?\s+(?:absender|e-mail)|außerhalb\s+(?:ihrer|der|unserer)"
           r"\s+organisation|erhalten\s+nicht\s+oft\s+(?:eine\s+)?e-?mails?|warum\s+dies\s+wichtig\s+ist"
           r"|klicken\s+sie\s+nicht", "Microsoft 365 banners, German"),
    Marker("fr", r"expéditeur\s+externe|provient\s+de\s+l'extérieur|externe\s+à\s+"
           r"l'organisation|ne\s+recevez\s+pas\s+souvent|pourquoi\s+cela\s+est\s+important"
           r"|ne\s+cliquez\s+pas", "Microsoft 365 banners, French"),
    Marker("es", r"remitente\s+externo|fuera\s+de\s+la\s+organización|no\s+haga\s+clic",
           "banners, Spanish"),
    Marker("ca", r"fora\s+de\s+l'organització|remitent\s+extern", "banners, Catalan"),
    Marker("it", r"(?:dall')?esterno\s+(?:dell'|all')organizzazione|mittente\s+estern[oa]"
           r"|non\s+cliccare", "banners, Italian"),
    Marker("pt", r"fora\s+da\s+organização|remetente\s+extern[oa]|não\s+clique",
           "banners, Portuguese"),
    Marker("ro", r"din\s+afara\s+organizației|din\s+afara\s+organizaţiei|expeditor\s+extern"
           r"|nu\s+faceți\s+clic", "banners, Romanian"),
    Marker("el", r"εκτός\s+(?:του\s+)?οργανισμού|εξωτερικ[όή]\s+(?:αποστολέα|μήνυμα)",
           "banners, Greek"),
    Marker("nl", r"externe\s+afzender|buiten\s+(?:de|uw|onze)\s+organisatie|klik\s+niet",
           "banners, Dutch"),
    Marker("sv", r"utanför\s+(?:din|vår|organisationen)|extern\s+avsändare|klicka\s+inte",
           "banners, Swedish"),
    Marker("no", r"utenfor\s+(?:din|vår|organisasjonen)|ekstern\s+avsender|ikke\s+klikk",
           "banners, Norwegian"),
    Marker("da", r"uden\s+for\s+(?:din|vores|organisationen)|ekstern\s+afsender|klik\s+ikke",
           "banners, Danish"),
    Marker("fi", r"organisaation\s+ulkopuolelta|ulkoinen\s+lähettäjä|älä\s+avaa", "Finnish"),
    Marker("pl", r"spoza\s+(?:organizacji|firmy)|zewnętrzn[a-z]+\s+nadawc|nie\s+klikaj",
           "banners, Polish"),
    Marker("cs", r"mimo\s+(?:organizaci|vaši\s+organizaci)|externí\s+odesílatel|neklikejte",
           "banners, Czech"),
    Marker("ru", r"(?:вне|из-за\s+пределов|за\s+пределами)\s+(?:организации|компании)"
           r"|внешн(?:ий|его)\s+(?:отправител|адресат)|не\s+переходите\s+по\s+ссылкам",
           "banners, Russian"),
    Marker("uk", r"ззовні\s+організації|поза\s+(?:межами\s+)?організаці|зовнішн(?:ій|ього)"
           r"\s+(?:лист|відправник)|не\s+переходьте\s+за\s+посиланнями", "banners, Ukrainian"),
    Marker("hu", r"szervezeten\s+kívül|külső\s+feladó|ne\s+kattintson", "banners, Hungarian"),
    Marker("tr", r"kurum\s+dışından|kuruluş\s+dışından|dış\s+kaynak|bağlantılara\s+tıklamayın",
           "banners, Turkish"),
    Marker("zh", r"组织外部|組織外部|外部邮件|外部郵件|请勿点击|請勿點擊", "banners, Chinese"),
    Marker("ja", r"組織外|外部から|リンクや添付ファイル", "banners, Japanese"),
    Marker("ko", r"조직\s*외부|외부\s*메일|링크를\s*클릭", "banners, Korean"),
    Marker("ar", r"من\s+خارج\s+(?:المؤسسة|المنظمة)|الروابط\s+أو\s+المرفقات", "banners, Arabic"),
    Marker("he", r"מחוץ\s+לארגון|שולח\s+חיצוני", "banners, Hebrew"),
    Marker("vi", r"bên\s+ngoài\s+tổ\s+chức|không\s+nhấp\s+vào", "banners, Vietnamese"),
    Marker("id", r"luar\s+organisasi|jangan\s+klik", "banners, Indonesian"),
)
# Legal and confidentiality disclaimers: two of these in one paragraph make it one, one of
# them from this table ("strong"); DISCLAIMER_HINTS only count beside a strong one.
DISCLAIMERS: tuple[Marker, ...] = (
    Marker("en", r"confidential|privileged|intended\s+(?:solely\s+|only\s+)?for|addressee"
           r"|intended\s+recipient|received\s+(?:this|it)\s+(?:e-?mail\s+|message\s+)?in\s+error"
           r"|(?:if|unless)\s+you\s+are\s+not\s+the\s+intended|unauthori[sz]ed"
           r"|notify\s+the\s+sender|tell\s+the\s+sender|correspondence\s+in\s+welsh"
           r"|welcomes?\s+correspondence|registered\s+(?:charity|society|office)"
           r"|personal\s+data|process\w*\s+(?:any\s+|your\s+)?personal"
           r"|company\s+limited\s+by\s+guarantee|registered\s+in\s+(?:england|scotland|wales)",
           "UK public-sector, charity and corporate disclaimers"),
    Marker("cy", r"cyfrinachol|croesawu\s+gohebiaeth|gohebiaeth\s+yn\s+gymraeg|derbynnydd"
           r"|mewn\s+camgymeriad|breintiedig", "Welsh council disclaimers"),
    Marker("de", r"vertraulich|irrtümlich|nicht\s+der\s+richtige\s+adressat|unbefugte"
           r"|weitergabe|empfänger", "German disclaimers"),
    Marker("fr", r"confidentiel|destinataire|par\s+erreur|strictement\s+interdit"
           r"|diffusion", "French disclaimers"),
    Marker("es", r"confidencial|destinatario|por\s+error|prohibid[ao]", "Spanish disclaimers"),
    Marker("it", r"riservat[aeio]|destinatari[oa]|per\s+errore|vietat[aeio]|esclusivamente\s+"
           r"(?:al|alla|ai|alle)", "Italian disclaimers"),
    Marker("pt", r"confidencial|destinatário|por\s+engano|proibid[ao]", "Portuguese"),
    Marker("nl", r"vertrouwelijk|geadresseerde|abusievelijk|onbevoegd|uitsluitend\s+bestemd"
           r"|niet\s+voor\s+u\s+bestemd", "Dutch disclaimers"),
    Marker("sv", r"konfidentiell|mottagare|av\s+misstag|personuppgifter"
           r"|dataskyddsförordningen", "Swedish disclaimers and GDPR notices"),
    Marker("no", r"konfidensiell|mottaker|ved\s+en\s+feil", "Norwegian disclaimers"),
    Marker("da", r"fortrolig|modtager|ved\s+en\s+fejl", "Danish disclaimers"),
    Marker("fi", r"luottamuksellis\w*|vastaanottaja|erehdyksessä|virheellisesti", "Finnish"),
    Marker("pl", r"poufn[ae]|adresat|omyłkowo|przez\s+pomyłkę", "Polish disclaimers"),
    Marker("cs", r"důvěrn[éý]|adresát|omylem", "Czech disclaimers"),
    Marker("ru", r"конфиденциальн|адресат|по\s+ошибке", "Russian disclaimers"),
    Marker("uk", r"конфіденційн|адресат|помилково", "Ukrainian disclaimers"),
    Marker("hu", r"bizalmas|címzett|tévedésből", "Hungarian disclaimers"),
    Marker("tr", r"gizli|alıcı|yanlışlıkla|muhatab\w*|yalnızca\s+gönderildiği", "Turkish"),
    Marker("ro", r"confidențial|confidenţial|destinatar|din\s+greșeală", "Romanian"),
    Marker("el", r"εμπιστευτικ|παραλήπτ|εκ\s+παραδρομής", "Greek disclaimers"),
    Marker("zh", r"保密|机密|機密|收件人|收件者|错误|錯誤|誤傳|误传", "Chinese disclaimers"),
    Marker("ja", r"機密|秘密|宛先|誤って|誤送信", "Japanese disclaimers"),
    Marker("ko", r"기밀|비밀|수신인|잘못\s*전송", "Korean disclaimers"),
    Marker("ar", r"سري|سرية|المرسل\s+إليه|عن\s+طريق\s+الخطأ", "Arabic disclaimers"),
    Marker("he", r"חסוי|סודי|הנמען|בטעות", "Hebrew disclaimers"),
    Marker("vi", r"bảo\s+mật|người\s+nhận|do\s+nhầm\s+lẫn", "Vietnamese disclaimers"),
    Marker("id", r"rahasia|penerima|kesalahan|secara\s+keliru", "Indonesian disclaimers"),
    Marker("ms", r"sulit|penerima|tersilap", "Malay disclaimers"),
    Marker("sw", r"ya\s+siri|mpokeaji|kwa\s+makosa", "Swahili disclaimers"),
    Marker("ga", r"faoi\s+rún|faighteoir|trí\s+dhearmad", "Irish disclaimers"),
    Marker("fa", r"محرمانه|گیرنده|اشتباه", "Persian disclaimers"),
    Marker("hi", r"गोपनीय|प्राप्तकर्ता|गलती\s+से", "Hindi disclaimers"),
    Marker("th", r"ความลับ|ผู้รับ|โดยไม่ได้ตั้งใจ", "Thai disclaimers"),
)
# Words disclaimers use that a learning may use too ("Freedom of Information", "disclosure").
DISCLAIMER_HINTS: tuple[Marker, ...] = (
    Marker("en", r"disclos\w*|(?:may\s+be\s+)?monitored|freedom\s+of\s+information"
           r"|views\s+(?:or\s+opinions\s+)?expressed|virus(?:es)?|legally\s+binding"
           r"|delete\s+(?:it|this)|data\s+protection|privacy\s+notice|gdpr|attachments",
           "UK public-sector and corporate disclaimers"),
    Marker("cy", r"rhyddid\s+gwybodaeth|atodiadau|dilëwch", "Welsh council disclaimers"),
)
