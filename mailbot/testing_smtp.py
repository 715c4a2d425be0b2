"""A real SMTP server on loopback that keeps every message it receives.

For tests and local experiments only: it accepts any sender and recipient
without authentication and never relays anything.

    with SmtpSink() as sink:
        smtplib.SMTP(sink.host, sink.port).send_message(msg)
        assert sink.messages[0]["Subject"] == "Hello"
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import Awaitable
from email.message import EmailMessage
from typing import Any, NamedTuple

from aiosmtpd.controller import Controller

__all__ = ["Envelope", "SmtpSink"]

HOST = "127.0.0.1"


class Envelope(NamedTuple):
    """One SMTP transaction as the sink saw it."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content = envelope.original_content
        if content is None:
            content = envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        self._sink._record(
            Envelope(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content))
        )
        return "250 OK"


class _BoundController(Controller):
    """A Controller serving on a socket that is already bound.

    Binding first (to port 0) avoids the race of "find a free port, close it,
    hope nobody takes it before aiosmtpd binds it".
    """

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock

    def _create_server(self) -> Awaitable[Any]:
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


class SmtpSink:
    """aiosmtpd on 127.0.0.1 at a free port, collecting what it receives.

    ``messages`` are parsed with ``email.policy.default`` (line ends turned into
    ``"\n"``); ``envelopes`` keep the SMTP envelope and the raw bytes as
    received.  Both are snapshots (copies).
    """

    def __init__(self, host: str = HOST, *, ready_timeout: float = 10.0) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("SmtpSink only listens on loopback")
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = 0
        self.ready_timeout = ready_timeout
        self._envelopes: list[Envelope] = []
        self._cond = threading.Condition()
        self._controller: _BoundController | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> SmtpSink:
        if self._controller is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # Restarting keeps the port, so clients configured earlier still work.
            sock.bind((self.host, self.port))
            sock.listen(100)
            sock.setblocking(False)
            controller = _BoundController(
                _Handler(self),
                sock,
                ready_timeout=self.ready_timeout,
                # Avoid socket.getfqdn(): it can block on DNS for seconds.
                server_hostname="sink.test",
            )
            self.port = int(sock.getsockname()[1])
            controller.start()
        except BaseException:
            sock.close()
            raise
        self._controller = controller
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- received mail -----------------------------------------------------

    def _record(self, envelope: Envelope) -> None:
        with self._cond:
            self._envelopes.append(envelope)
            self._cond.notify_all()

    @property
    def envelopes(self) -> list[Envelope]:
        with self._cond:
            return list(self._envelopes)

    @property
    def messages(self) -> list[EmailMessage]:
        return [_parse(env.content) for env in self.envelopes]

    def clear(self) -> None:
        with self._cond:
            self._envelopes.clear()

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived; return all of them.

        Raises TimeoutError if they do not arrive within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._envelopes) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"expected {count} message(s) at the SMTP sink, "
                        f"got {len(self._envelopes)} within {timeout}s"
                    )
                self._cond.wait(left)
        return self.messages

    def __len__(self) -> int:
        with self._cond:
            return len(self._envelopes)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<SmtpSink {self.host}:{self.port} {state}, {len(self)} message(s)>"


def _parse(raw: bytes) -> EmailMessage:
    # SMTP data uses CRLF line ends; turn them into "\n" so that text parts
    # read back as ordinary Python strings.  ``envelopes`` keep the raw bytes.
    msg = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg
