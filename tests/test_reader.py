"""The one reader (mailbot.core.reader): shape before words, one classification for commands
and learnings, closings, and the privacy gate (mailbot.core.privacy)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.core import markers
from mailbot.core.privacy import check_learning
from mailbot.core.reader import command_lines, new_text, strip_closing

QUOTE = "> How did your coffee with Bob go?\n> Reply to this email.\n"


# --------------------------------------------------------------------------- both readers agree

HISTORY_AFTER_TEXT = [
    # (id, the history under the typed text) - each once unknown to one of the two readers
    ("russian-pishet", "3 июня 2024 г., в 10:00, Coffee Bot <coffee@example.org> пишет:\n"),
    ("chinese-outlook", "发件人: Coffee Bot <coffee@example.org>\n发送时间: 2024年6月3日 10:00\n"
                        "收件人: anne@example.org\n主题: How did it go?\n"),
    ("unknown-verb", "ma 3.6.2024 klo 10.00 Coffee Bot <coffee@example.org> naputsutti:\n"),
    ("quoted-attribution", "> On 3 Jun 2024, at 10:00, Coffee Bot <coffee@example.org> wrote:\n"),
    ("arabic-headers", "من: Coffee Bot <coffee@example.org>\nالتاريخ: 2024-06-03 10:00\n"
                       "إلى: anne@example.org\n"),
    ("unknown-labels", "Lähettäjä: Coffee Bot <coffee@example.org>\nAjankohta: 3.6.2024 10.00\n"
                       "Saaja: anne@example.org\n"),
]  # fmt: skip


@pytest.mark.parametrize("history", [h for _, h in HISTORY_AFTER_TEXT],
                         ids=[i for i, _ in HISTORY_AFTER_TEXT])  # fmt: skip
def test_commands_and_learnings_stop_at_the_same_history(history):
    typed = "pause\nuntil July"
    text = f"{typed}\n\n{history}\n{QUOTE}"
    assert command_lines(text) == ["pause", "until July"]
    assert new_text(text).text == typed


@pytest.mark.parametrize("history", [h for i, h in HISTORY_AFTER_TEXT if "unknown" not in i
                                     and "quoted" not in i])  # fmt: skip
def test_unquoted_history_under_a_known_marker_is_never_read(history):
    """Clients that do not quote: the old text under the marker holds commands of its own."""
    text = f"pause\n\n{history}\nleave\nold text\n"
    assert command_lines(text) == ["pause"]
    assert new_text(text).text == "pause"


def test_shape_attribution_needs_history_below():
    """Date, time, address and a colon, but new text below: a sentence, not an attribution."""
    text = "On 3 June at 10:00 I emailed bob@example.org and listed:\n- maps\n- retros"
    assert new_text(text).text == text


def test_wrapped_shape_attribution_in_unknown_language():
    attribution = "ma 3.6.2024 klo 10.00 Coffee Bot <\ncoffee@example.org> naputsutti:"
    text = f"We met.\n\n{attribution}\n{QUOTE}"
    assert new_text(text).text == "We met."


def test_header_block_needs_an_address_and_a_date():
    agenda = "The plan:\nWhen: Tuesday\nWhere: the library\nWho: everyone"
    assert new_text(agenda).text == agenda


# --------------------------------------------------------------------------- footers, banners

@pytest.mark.parametrize("footer", [
    "Lähetetty iPhonesta", "Wysłane z iPhone'a", "iPhoneから送信", "נשלח מה-iPhone שלי",
    "Enviado desde mi Galaxy", "Envoyé de mon iPad", "Outlook for iOS",
    "Sent from Yahoo Mail for Android", "Sendt fra Outlook for Android",
])  # fmt: skip
def test_device_footers_in_any_language(footer):
    assert new_text(f"We talked about maps.\n\n{footer}").text == "We talked about maps."


def test_a_device_named_in_new_text_is_kept():
    for text in ("We both use Outlook", "Bob showed me his iPhone setup.\nIt was neat."):
        assert new_text(text).text == text


BANNERS = [
    "CAUTION: This email originated from outside of the organisation. Do not click links or "
    "open attachments unless you recognise the sender and know the content is safe.",
    "You don't often get email from coffee@example.org. Learn why this is important",
    "[EXTERNAL]",
]


@pytest.mark.parametrize("banner", BANNERS)
def test_banners_above_the_text_are_skipped(banner):
    assert new_text(f"{banner}\n\nWe met on Tuesday.").text == "We met on Tuesday."
    assert command_lines(f"{banner}\n\npause") == ["pause"]


def test_disclaimers_end_the_text_in_two_languages():
    text = (
        "Service maps helped.\n\n"
        "This email and any attachments are confidential and intended solely for the addressee. "
        "If you have received this email in error please notify the sender.\n\n"
        "Mae'r e-bost hwn yn gyfrinachol ac at sylw'r derbynnydd yn unig. Rydym yn croesawu "
        "gohebiaeth yn Gymraeg."
    )
    assert new_text(text).text == "Service maps helped."


def test_a_learning_about_confidentiality_is_kept():
    text = "We talked about how confidential data should be shared between councils."
    assert new_text(text).text == text


# --------------------------------------------------------------------------- signatures

SIGNED = [
    ("name-title-phone", "Thanks,\nSam\n\nSam Smith\nService Designer | Example Council\n"
                         "Tel: 01632 960 123"),
    ("no-signoff", "Sam Smith (she/her)\nDigital Lead\nMobile: 07700 900123"),
    ("cid-and-rule", "Best wishes\n\n____________\n[cid:image001.png@01DA2B3C.4D5E6F70]\n"
                     "www.example.gov.uk"),
    ("handles", "Cheers,\nSam\n@samsmith | linkedin.com/in/samsmith"),
    ("working-days", "Sam Smith\nI work Monday to Wednesday"),
]  # fmt: skip


@pytest.mark.parametrize("signature", [s for _, s in SIGNED], ids=[i for i, _ in SIGNED])
def test_signature_blocks_without_a_delimiter(signature):
    learning = "Pairing across councils works.\nWe swapped service maps."
    outcome = new_text(f"{learning}\n\n{signature}", names=["Sam Smith"])
    closed, _ = strip_closing(outcome.text, ["Sam Smith"])
    assert closed == learning
    assert outcome.removed  # kept for the privacy gate


@pytest.mark.parametrize("closing", [
    "Thanks, Sam", "Cheers,\nSam", "Best wishes\nSam", "Diolch yn fawr", "Sam",
    "Mit freundlichen Grüßen\nSam", "Many thanks!", "Cofion,\nSam x",
])  # fmt: skip
def test_closings_are_stripped_for_the_digest(closing):
    text = f"Maps help.\n\n{closing}"
    assert new_text(text, ["Sam Smith"]).text == text  # what the person wrote...
    assert strip_closing(text, ["Sam Smith"])[0] == "Maps help."  # ...and what is published


@pytest.mark.parametrize("text", [
    "Thanks for setting this up, it was great.",
    "Maps help.\nThanks to Bob for the idea",
    "Three things:\n- maps\n- best practice\n- cheers for small wins",
    "Sam and I met twice.",
])  # fmt: skip
def test_thanks_in_a_sentence_stays(text):
    assert strip_closing(text, ["Sam Smith"])[0] == text


# --------------------------------------------------------------------------- privacy gate


def test_gate_strips_clear_contact_lines():
    gate = check_learning("Maps help.\nTel: 01632 960 123\nwww.example.gov.uk/sam",
                          names=["Sam"], signature=["www.example.gov.uk/sam"])
    assert (gate.text, gate.held) == ("Maps help.", "")
    assert gate.stripped == ("Tel: 01632 960 123", "www.example.gov.uk/sam")


@pytest.mark.parametrize("text, reason", [
    ("Call me on 07700 900123 to talk maps.", "phone number"),
    ("Bob (bob@example.net) has the slides.", "email address"),
    ("Anne showed me how Sam runs retros.", "anonymous"),
])  # fmt: skip
def test_gate_holds_what_it_cannot_strip(text, reason):
    gate = check_learning(text, names=["Sam Smith"], anonymous=True)
    assert gate.text == text and reason in gate.held


def test_gate_holds_a_link_from_the_signature_but_not_a_shared_one():
    shared = "The service manual at https://www.gov.uk/service-manual helped."
    assert check_learning(shared, signature=["Sam Smith"]).held == ""
    from_signature = "Read more at https://example.gov.uk/sam too."
    gate = check_learning(from_signature, signature=["https://example.gov.uk/sam"])
    assert "signature" in gate.held


def test_gate_allows_the_bots_own_address_and_dates():
    text = "Email coffee@example.org to join. We met on 2024-06-03 and 03/06/2024."
    assert check_learning(text, allowed=["coffee@example.org"]).held == ""


def test_gate_names_only_matter_when_anonymous():
    assert check_learning("Sam showed me maps.", names=["Sam Smith"]).held == ""


# --------------------------------------------------------------------------- tables are data


@pytest.mark.parametrize("table", [markers.WROTE, markers.FROM_LABELS, markers.HEADER_LABELS,
                                   markers.SEPARATORS, markers.FORWARDS, markers.FOOTERS,
                                   markers.SIGNOFFS, markers.DISCLAIMERS])  # fmt: skip
def test_every_marker_row_has_a_language_and_a_source(table):
    assert all(row.lang and row.source and row.pattern for row in table)


def test_the_tables_cover_twenty_languages():
    assert len({row.lang for row in markers.FOOTERS}) >= 20
    assert len({row.lang for row in markers.SIGNOFFS}) >= 20
    assert len({row.lang for row in markers.WROTE + markers.WROTE_CJK}) >= 20


@pytest.mark.parametrize("table", [markers.BANNERS, markers.DISCLAIMERS,
                                   markers.DISCLAIMER_HINTS])  # fmt: skip
def test_tables_searched_without_ignorecase_are_lower_case(table):
    """word_search() matches lower-cased text case-sensitively (ten times faster)."""
    for row in table:
        letters = re.sub(r"\\[A-Za-z]", "", row.pattern)
        assert letters == letters.lower(), row


# --------------------------------------------------------------------------- review findings
# Each once cut new text, misread a command or let something private through.

KEPT_WHOLE = [
    "Top tip: Bob's team flags every external email in red, and staff report phishing to IT.",
    "Big lesson: be cautious when a supplier demos AI to you.",
    "We met.\n\nBob's team handles confidential case files and said unauthorised access is their "
    "biggest risk, so access is reviewed monthly.\n\nWe will start a monthly audit too.",
    "They moved to a four-day week, Monday to Thursday.",
    "Met Bob in Cardiff, near CF10 1AA.\nWe are going to share notes.",
    "Lähetetty raportti tiimille eilen\nja se meni hyvin.",
    "Bob showed me their panel.\n\nHighly recommended!",
    "Three things.\n\nMore soon",
]


@pytest.mark.parametrize("text", KEPT_WHOLE)
def test_prose_that_looks_like_a_marker_is_kept(text):
    kept = new_text(text, ["Anne Person"]).text
    assert strip_closing(kept, ["Anne Person"])[0] == text


@pytest.mark.parametrize("text, expected", [
    ("join\nname: Anne Person\ngoogle: anne.person@gmail.com\nabout: free for coffee after 15:30",
     4),
    ("update\nphone: 029 2000 1234\nskype: live:anne_1985", 3),
    ("join\nname: Anne Person\norg: Example Council\nThis email originated from outside the "
     "organisation. Do not click links unless you recognise the sender.", 3),
])  # fmt: skip
def test_profile_lines_and_a_banner_below_do_not_hide_a_command(text, expected):
    assert command_lines(text) == text.split("\n")[:expected]


@pytest.mark.parametrize("text", [
    "Call him on 0221/1234567 about it.", "Bob: +49 30/1234 5678 is his desk.",
    "Ring til Bob på 20 12 34 56 i morgen.", "Ring Bob on 077 00 90 01 23 about maps.",
    "WhatsApp Bob: +44 7700 900123 for the slides.",
])  # fmt: skip
def test_gate_holds_phone_numbers_in_any_format_and_deletes_no_prose(text):
    gate = check_learning(text)
    assert gate.text == text and "phone number" in gate.held


@pytest.mark.parametrize("tail", [
    "Annie (Example Council data team)", "-- Annie", "Sian :)", "see annepersonwrites.com",
    "@anneperson",
])  # fmt: skip
def test_gate_holds_nicknames_and_handles_of_an_anonymous_writer(tail):
    text = f"Bob's open data work was really useful.\n{tail}"
    gate = check_learning(text, names=["Anne Person", "Siân Jones"], anonymous=True)
    assert gate.held or tail not in gate.text  # held for an organiser, or taken out


def test_gate_allows_dates_and_year_ranges():
    text = "We met on 03.06.2024 and compared 2019-2024 budgets."
    assert check_learning(text).held == ""


@pytest.mark.parametrize("closing", ["J.", "—AB", "Bernie x"])
def test_initials_and_kisses_are_closings(closing):
    assert strip_closing(f"Maps help a lot.\n\n{closing}")[0] == "Maps help a lot."


@pytest.mark.parametrize("code", [
    "lmvz2vyauj4dazp5qq5ll2o4", "llaqjh2zrflv2qq6toaqetnr", "qqaqjh2zrflv2qq6toaqetnr",
    "heyaqjh2zrflv2qq6toaqetn", "abchtc2zrflv2aol6toaqetn", "pixelaqjh2zrflv2edison2a",
])  # fmt: skip
def test_a_confirmation_code_is_never_read_as_a_device_footer(code):
    """A code holding "qq", "hey" or "htc" (mail apps and phone makers) stays a command."""
    assert command_lines(f"confirm {code}") == [f"confirm {code}"]
    assert command_lines(f"Confirm {code}\n\nSent from my iPhone") == [f"Confirm {code}"]


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567", min_size=24, max_size=24))
@settings(max_examples=300, derandomize=True)
def test_no_code_is_a_footer(code):
    assert command_lines(f"confirm {code}") == [f"confirm {code}"]
