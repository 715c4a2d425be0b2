"""mailbot: an email-only service for random coffee / unmentoring schemes."""

__version__ = "0.1.0"
