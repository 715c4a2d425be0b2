"""The SQLite edge: every query mailbot makes, organised by aggregate, one class each.

`SqliteStore` is all of them over one connection: members, rounds, learnings (with
follow-ups and digests), mail (inbound and outbox) and privacy (export and `forget`). Times
are stored as ISO 8601 strings in UTC with second precision, so they sort as text.
"""

from __future__ import annotations

from mailbot.store.base import (
    OutgoingMail,
    QueuedMail,
    hash_token,
    replace_address,
    stamp,
)
from mailbot.store.learnings import DigestRow, DigestStatus, FollowupRow, LearningQueries
from mailbot.store.mail import MailQueries, OutboxRow, QueuedIntro
from mailbot.store.members import HeldChange, MemberQueries, TokenRow
from mailbot.store.privacy import PrivacyQueries
from mailbot.store.rounds import GroupRow, RoundQueries, RoundRow
from mailbot.store.schema import migrations


class SqliteStore(MemberQueries, RoundQueries, LearningQueries, MailQueries, PrivacyQueries):
    """One connection, every aggregate's queries."""


__all__ = [
    "DigestRow", "DigestStatus", "FollowupRow", "GroupRow", "HeldChange", "OutboxRow",
    "OutgoingMail", "QueuedIntro", "QueuedMail", "RoundRow", "SqliteStore", "TokenRow",
    "hash_token", "migrations", "replace_address", "stamp",
]  # fmt: skip
