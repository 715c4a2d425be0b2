"""Words that mark machine-written mail, as data: one row per language or per source.

`robots.py` compiles each table once. Rows are (language, regular expression, source), or
(expression, source) where the language does not matter; expressions are matched with
re.IGNORECASE and written for that (no case variants). A row is here because a program
writes it; words people put in their own subjects are left out, or kept in a weaker table
that needs other evidence too (see `COMPLAINT_WORDS`).
"""

from __future__ import annotations

Row = tuple[str, str, str]

__all__ = [
    "ABUSE_DESK_LOCALS",
    "AUTO_REPLY_SUBJECTS",
    "COMPLAINT_PHRASES",
    "COMPLAINT_WORDS",
    "FAILURE_PHRASES",
    "FORWARD_MARKERS",
    "MTA_LOCALS",
    "MTA_NAMES",
    "OTHER_REPORTER_LOCALS",
    "REPLY_PREFIXES",
]

_OUTLOOK = "Outlook's localised 'Automatic reply:' prefix"

# Auto-reply subjects: the marker comes first and is followed by a colon (robots.py adds the
# colon). Single words a person might put first themselves ("Absent:", "Abwesend:") are not
# here: a silently ignored person is worse than an auto-reply answered once.
AUTO_REPLY_SUBJECTS: tuple[Row, ...] = (
    ("English", r"automatic\s+reply|out\s+of\s+(?:the\s+)?office(?:\s+(?:reply|notice|autoreply))?"
                r"|auto[- ]?reply|autoresponse|auto[- ]?responder",
     f"{_OUTLOOK}; Notes' and older Exchange's 'Out of Office'; vacation programs"),
    ("German", r"abwesenheitsnotiz|automatische\s+antwort", _OUTLOOK),
    ("French", r"réponse\s+automatique|absence\s+du\s+bureau", _OUTLOOK),
    ("Spanish", r"respuesta\s+automática|fuera\s+de\s+la\s+oficina", _OUTLOOK),
    ("Dutch", r"automatisch\s+antwoord", _OUTLOOK),
    ("Italian", r"risposta\s+automatica|fuori\s+sede", _OUTLOOK),
    ("Portuguese", r"resposta\s+automática|fora\s+do\s+escritório", _OUTLOOK),
    ("Swedish", r"automatiskt\s+svar", _OUTLOOK),
    ("Norwegian, Danish", r"automatisk\s+svar|autosvar", _OUTLOOK),
    ("Finnish", r"automaattinen\s+vastaus", _OUTLOOK),
    ("Polish", r"odpowiedź\s+automatyczna|automatyczna\s+odpowiedź", _OUTLOOK),
    ("Czech", r"automatická\s+odpověď", _OUTLOOK),
    ("Hungarian", r"automatikus\s+válasz|házon\s+kívül", _OUTLOOK),
    ("Turkish", r"otomatik\s+yanıt|otomatik\s+cevap", _OUTLOOK),
    ("Russian", r"автоответ|автоматический\s+ответ", _OUTLOOK),
    ("Greek", r"αυτόματη\s+απάντηση", _OUTLOOK),
    ("Japanese", r"自動応答|自動返信", _OUTLOOK),
    ("Chinese", r"自动回复|自動回覆", _OUTLOOK),
    ("Welsh", r"ateb\s+awtomatig", _OUTLOOK),
    ("Catalan", r"resposta\s+automàtica", _OUTLOOK),
    ("Romanian", r"răspuns\s+automat", _OUTLOOK),
    ("Ukrainian", r"автовідповідь|автоматична\s+відповідь", _OUTLOOK),
    ("Bulgarian", r"автоматичен\s+отговор", _OUTLOOK),
    ("Croatian, Serbian, Bosnian", r"automatski\s+odgovor|аутоматски\s+одговор", _OUTLOOK),
    ("Slovak", r"automatická\s+odpoveď", _OUTLOOK),
    ("Slovenian", r"samodejni\s+odgovor", _OUTLOOK),
    ("Estonian", r"automaatvastus", _OUTLOOK),
    ("Latvian", r"automātiskā\s+atbilde", _OUTLOOK),
    ("Lithuanian", r"automatinis\s+atsakymas", _OUTLOOK),
    ("Icelandic", r"sjálfvirkt\s+svar", _OUTLOOK),
    ("Korean", r"자동\s*회신|자동\s*응답", _OUTLOOK),
    ("Arabic", r"رد\s+تلقائي", _OUTLOOK),
    ("Hebrew", r"תשובה\s+אוטומטית", _OUTLOOK),
    ("Thai", r"ตอบกลับอัตโนมัติ", _OUTLOOK),
    ("Vietnamese", r"trả\s+lời\s+tự\s+động", _OUTLOOK),
    ("Indonesian", r"balasan\s+otomatis", _OUTLOOK),
    ("Malay", r"balasan\s+automatik", _OUTLOOK),
    ("Hindi", r"स्वचालित\s+(?:उत्तर|जवाब)", _OUTLOOK),
    ("Persian", r"پاسخ\s+خودکار", _OUTLOOK),
    ("Basque", r"erantzun\s+automatikoa", _OUTLOOK),
)  # fmt: skip

# Local parts of MTA senders, compared with ".", "-" and "_" removed: "Mailer.Daemon" is
# "mailerdaemon". Postfix, Exim, qmail and Sendmail send as MAILER-DAEMON; Exchange, Notes
# and IMail as postmaster; a few gateways as "mailer". "root", "mail" and "daemon" are not
# here: people own such mailboxes, so those senders count only by an MTA display name.
MTA_LOCALS: frozenset[str] = frozenset(
    {"mailerdaemon", "maildaemon", "mailerdeamon", "postmaster", "mailer", "maildeliverysystem"}
)

# Display names MTAs sign failure notices with, matched against the whole name (so "Postman
# Pat" and "Postmaster General's office" are not MTAs).
MTA_NAMES: tuple[tuple[str, str], ...] = (
    (r"mail\s+deliver(?:y)?(?:\s+(?:system|subsystem|service|agent))?",
     "Exim 'Mail Delivery System', Sendmail and Gmail 'Mail Delivery Subsystem'"),
    (r"mail(?:er)?[-_ ]?daemon", "Postfix, qmail and OpenSMTPD 'Mailer Daemon'"),
    (r"post[-_ ]?master", "Exchange, IMail and Notes 'Postmaster'"),
    (r"(?:mail|system|e-?mail)\s+administrator", "Exchange 2003 'System Administrator'"),
    (r"(?:e-?)?mail\s+system|internet\s+mail\s+(?:delivery|service)", "hosted mail gateways"),
    (r"système\s+de\s+messagerie|service\s+de\s+messagerie", "French-localised gateways"),
    (r"mail[- ]?zustell(?:system|dienst)|e-mail-system", "German-localised gateways"),
    (r"sistema\s+de\s+(?:entrega\s+de\s+)?(?:correo|correio|e-?mail)", "Spanish, Portuguese"),
    (r"sistema\s+di\s+(?:consegna\s+)?posta", "Italian-localised gateways"),
    (r"почтовая\s+система|система\s+доставки\s+почты", "Russian-localised gateways"),
)  # fmt: skip

# Failure wording in the text of a delivery notice. Only read when the sender is an MTA or
# the envelope sender is null, so "not delivered" in a person's sentence never counts alone.
FAILURE_PHRASES: tuple[Row, ...] = (
    ("English", r"could\s*n[o'’]t\s+be\s+delivered|can\s*n[o'’]?t\s+be\s+delivered"
                r"|was\s+not\s+delivered|undeliver(?:able|ed)",
     "Postfix 'could not be delivered', Exchange 'Undeliverable'"),
    ("English", r"delivery\s+(?:to\s+the\s+following\s+recipients?\s+)?(?:has\s+)?failed"
                r"|delivery\s+failure|failed\s+(?:to\s+deliver|delivery)|unable\s+to\s+deliver"
                r"|n[o'’]t\s+able\s+to\s+deliver|could\s*n[o'’]t\s+deliver",
     "Exim 'delivery failed', Exchange 'Delivery has failed', qmail 'wasn't able to deliver'"),
    ("English", r"user\s+unknown|unknown\s+(?:user|recipient|address|mailbox)"
                r"|no\s+such\s+(?:user|mailbox|recipient|address)"
                r"|mailbox\s+(?:is\s+)?(?:unavailable|not\s+found|full|disabled)"
                r"|recipient\s+(?:address\s+)?rejected|address\s+rejected",
     "SMTP reply texts quoted by every MTA (RFC 5321 550/552/553)"),
    ("English", r"permanent(?:\s+fatal)?\s+errors?|fatal\s+errors?|permanently\s+failed"
                r"|returned\s+to\s+sender|delivery\s+status\s+notification",
     "Sendmail 'permanent fatal errors', Postfix 'Undelivered Mail Returned to Sender'"),
    ("English", r"did\s+not\s+reach\s+the\s+following\s+recipient|delivery\s+problems?"
                r"|non-?deliver(?:ed|y)|failed\s+addresses|no\s+valid\s+recipients"
                r"|error\s+(?:has\s+)?occurred\s+while\s+attempting\s+to\s+deliver"
                r"|failure\s+reasons?|returned\s+message",
     "Exchange 'Did not reach', OpenSMTPD, Notes 'Failure Reasons', Exim 3 'Failed addresses'"),
    ("English", r"(?:domain|address|mailbox|user|recipient)\s+does\s+not\s+exist"
                r"|unknown\s+host|host\s+not\s+found|account\s+(?:is\s+|has\s+been\s+)?disabled"
                r"|invalid\s+(?:final\s+delivery\s+)?(?:recipient|address|user(?:id)?)"
                r"|malformed\s+address|incorrectly\s+constructed|not\s+listed\s+in"
                r"|over\s+quota|quota\s+exceeded|exceeds?\s+(?:the\s+)?(?:allowed\s+size|quota)"
                r"|exceeded\s+the\s+(?:local\s+)?limit|rejected\s+by",
     "reasons quoted by IMail, Notes, Exim, EZweb and carriers' gateways"),
    ("English", r"mail\s+system\s+at\s+host|qmail-send\s+program"
                r"|created\s+automatically\s+by\s+mail\s+delivery\s+software",
     "Postfix, qmail and Exim introductions of a failure notice"),
    ("SMTP", r"(?<![\w.])[45]\.\d{1,3}\.\d{1,3}(?![\w.])|(?<![\w.])5[0-5]\d[ -](?=\S)",
     "RFC 3463 enhanced status codes (5.1.1) and RFC 5321 reply codes (550)"),
    ("German", r"konnte\s+nicht\s+zugestellt\s+werden|unzustellbar|nicht\s+zugestellt"
               r"|zustellung\s+fehlgeschlagen|unbekannter\s+(?:empfänger|benutzer)",
     "Exim, GMX and Exchange NDRs in German"),
    ("French", r"n['’]a\s+pas\s+pu\s+être\s+(?:remis|distribué|délivré)|non\s+remis"
               r"|échec\s+de\s+(?:la\s+)?(?:remise|distribution|livraison)"
               r"|(?:destinataire|utilisateur|adresse)\s+inconnu",
     "Exchange and Orange NDRs in French"),
    ("Spanish", r"no\s+(?:se\s+)?(?:ha\s+)?(?:podido|pudo)\s+(?:ser\s+)?entregar"
                r"|no\s+entregado|error\s+de\s+entrega|(?:usuario|destinatario)\s+desconocido",
     "Exchange and Gmail NDRs in Spanish"),
    ("Italian", r"(?:non\s+è\s+stato\s+possibile|impossibile)\s+(?:recapitare|consegnare)"
                r"|non\s+recapitabile|mancato\s+recapito|utente\s+sconosciuto",
     "Exchange and Libero NDRs in Italian"),
    ("Portuguese", r"não\s+(?:foi\s+possível\s+entregar|p[oô]de\s+ser\s+entregue)"
                   r"|não\s+entregue|falha\s+(?:na|de)\s+entrega"
                   r"|(?:usuário|utilizador)\s+desconhecido",
     "Exchange and Gmail NDRs in Portuguese"),
    ("Dutch", r"k(?:on|an)\s+niet\s+worden\s+(?:bezorgd|afgeleverd)|onbestelbaar"
              r"|niet\s+(?:bezorgd|afgeleverd)",
     "Exchange NDRs in Dutch"),
    ("Scandinavian", r"kunde\s+inte\s+levereras|kunne\s+ikke\s+(?:leveres|afleveres)"
                     r"|ikke\s+levert|ej\s+levererbar",
     "Exchange NDRs in Swedish, Norwegian, Danish"),
    ("Polish", r"nie\s+(?:może\s+zostać|mogła\s+zostać|został[ao]?)\s+dostarczon|niedostarczon",
     "Exchange and Onet NDRs in Polish"),
    ("Czech", r"nelze\s+doručit|nebyla\s+doručena|nedoručiteln", "Exchange NDRs in Czech"),
    ("Russian", r"не\s+(?:может\s+быть\s+)?доставлен|не\s+удалось\s+доставить|недоставлен",
     "Mail.ru and Yandex NDRs"),
    ("Japanese", r"(?:配信|配送|送信|投稿)(?:でき|出来)(?:ません|なかった)|宛先不明|存在しない",
     "Japanese carriers' and InterScan NDRs"),
    ("Chinese", r"无法投递|投递失败|退信|未能送达|無法傳遞|傳送失敗", "QQ, 163 and Exchange NDRs"),
    ("Turkish", r"teslim\s+edilemedi", "Exchange NDRs in Turkish"),
    ("Hungarian", r"nem\s+sikerült\s+kézbesíteni|kézbesíthetetlen", "Exchange NDRs in Hungarian"),
)  # fmt: skip

# Where a person's own words end and a forwarded or quoted message starts; a notice's text
# is only searched above these, so a person forwarding a bounce inline is not a bounce.
FORWARD_MARKERS: tuple[tuple[str, str], ...] = (
    (r"-{2,}\s*(?:forwarded|original)\s+message\s*-{2,}", "Gmail, Thunderbird, Outlook"),
    (r"begin\s+forwarded\s+message\s*:", "Apple Mail"),
)  # fmt: skip

# Subjects of abuse and complaint reports that are read with an attached message (ARF
# without its report-type, Hotmail's and hosting providers' reports). Phrases a program
# writes are enough with the attachment; bare words (below) also need a reporting sender.
COMPLAINT_PHRASES: tuple[Row, ...] = (
    ("English", r"(?:abuse|spam|complaint|fbl)\s+(?:report|notification)"
                r"|e-?mail\s+feedback\s+report",
     "ARF feedback loops: 'Abuse Report', 'Email Feedback Report', 'Spam report'"),
    ("English", r"complaint\s+about\s+(?:a\s+)?message|(?:abuse|spam)\s+complaint"
                r"|feedback\s+loop|\bfbl\b|\btos\s+notification",
     "Hotmail 'complaint about message from', AOL 'Client TOS Notification'"),
    ("English", r"(?:dmarc\s+)?forensic\s+report|(?:dmarc|authentication)\s+failure\s+report",
     "RFC 6591 DMARC failure reports"),
    ("German", r"missbrauchs?(?:meldung|bericht)|spam[- ]?(?:meldung|beschwerde)",
     "German hosting providers' abuse desks"),
    ("French", r"(?:signalement|rapport)\s+d['’](?:abus|spam)|plainte\s+(?:pour\s+)?(?:abus|spam)",
     "French hosting providers' abuse desks"),
    ("Spanish, Portuguese", r"(?:informe|reporte|denuncia|relatório)\s+de\s+(?:abuso|spam)",
     "Spanish and Portuguese abuse desks"),
    ("Italian", r"segnalazione\s+di\s+(?:abuso|spam)", "Italian abuse desks"),
    ("Dutch", r"misbruik\s*melding|spam\s*melding", "Dutch abuse desks"),
    ("Polish", r"zgłoszenie\s+(?:nadużycia|spamu)", "Polish abuse desks"),
    ("Russian", r"жалоба\s+на\s+(?:спам|злоупотребление)", "Russian abuse desks"),
)  # fmt: skip

COMPLAINT_WORDS: tuple[Row, ...] = (
    ("English", r"\babuse\b|\bcomplaint\b|\bspam\b", "abuse desks' short subjects"),
    ("German", r"\bmissbrauch\b|\bbeschwerde\b", "German abuse desks"),
    ("French", r"\babus\b|\bplainte\b", "French abuse desks"),
    ("Spanish, Italian, Portuguese", r"\babuso\b|\bqueja\b|\bdenúncia\b|\breclamo\b",
     "Southern European abuse desks"),
    ("Dutch", r"\bmisbruik\b|\bklacht\b", "Dutch abuse desks"),
    ("Polish", r"\bnadużycie\b|\bskarga\b", "Polish abuse desks"),
    ("Russian", r"\bжалоба\b|\bспам\b", "Russian abuse desks"),
)  # fmt: skip

# Senders of complaint reports. Abuse desks and feedback loops (abuse@, fbl@,
# feedbackloop@, complaints@email-abuse..., Yahoo's return path "abuse=example.com@returns...",
# AOL's scomp@) are enough with the reported message attached, whatever the subject says.
ABUSE_DESK_LOCALS = r"abuse|fbl|complain|feedback[-_.]?loop|^(?:feedback|arf|scomp)$"
# Other robots' mailboxes (Hotmail's staff@, no-reply@) count with a complaint word.
OTHER_REPORTER_LOCALS = (
    r"^(?:staff|reports?|spam|noc|postmaster|mailer-?daemon|no-?reply|do-?not-?reply)$"
)

# Reply and forward prefixes mail clients write (Outlook's localised ones included): a
# subject that starts with one was most likely written by a person.
REPLY_PREFIXES = (
    r"re|fwd?|aw|wg|sv|vs|vl|tr|rv|res|enc|odp|pd|ynt|ilt|vá|antw|doorst|fs|rif"
    r"|ответ|отв|пересл|回复|转发|答复|回覆|轉寄|転送|返信"
)
