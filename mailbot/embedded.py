"""The embedded default's mail server: aiosmtpd on loopback, delivering into local Maildirs.

People (or ``swaks``, or any mail client) send to it; every recipient gets a Maildir under the
configured folder, and the bot reads its own one through ``MaildirInbox``.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from mailbot.errors import MailbotError
from mailbot.outbox import deliver_local

log = logging.getLogger(__name__)
# aiosmtpd logs every SMTP line at INFO; only its warnings matter to an organiser.
logging.getLogger("mail.log").setLevel(logging.WARNING)


class LocalDeliveryHandler:
    def __init__(self, root: Path):
        self.root = root

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if "@" not in address or "/" in address or address.startswith("."):
            return "550 not a local mailbox address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Each recipient's mailbox on its own: one that cannot be written to fails alone."""
        delivered = []
        for recipient in envelope.rcpt_tos:
            try:
                deliver_local(self.root, recipient, envelope.original_content or envelope.content)
                delivered.append(recipient)
            except OSError as exc:
                log.warning("embedded SMTP: cannot deliver to %r: %s", recipient, exc)
        if not delivered:
            return "451 cannot deliver to these mailboxes now"
        log.info("embedded SMTP: delivered mail from %s to %s", envelope.mail_from,
                 ", ".join(delivered))  # fmt: skip
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedSmtp:
    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 8025,
                 busy_hint: str = "set [local] smtp_port"):  # fmt: skip
        self.root = root
        self.busy_hint = busy_hint
        self.host = host
        self.port = port or free_port(host)
        self.controller = Controller(
            LocalDeliveryHandler(root), hostname=host, port=self.port, ready_timeout=10
        )

    def start(self) -> EmbeddedSmtp:
        try:
            self.controller.start()
        except (OSError, RuntimeError) as exc:
            raise MailbotError(
                f"cannot start the embedded SMTP server on {self.host}:{self.port}: {exc} "
                f"(is the port in use? {self.busy_hint})"
            ) from exc
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> EmbeddedSmtp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
