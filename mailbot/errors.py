"""The errors mailbot raises on purpose; each reaches the user as one clear line."""


class MailbotError(Exception):
    """Base of every expected error."""


class ConfigError(MailbotError):
    """The configuration is missing or invalid."""


class StoreError(MailbotError):
    """The database cannot be opened or is in an unexpected state."""


class InboxError(MailbotError):
    """The inbox (IMAP or local) cannot be read or updated."""


class OutboxError(MailbotError):
    """Outgoing mail cannot be handed to the SMTP server."""
