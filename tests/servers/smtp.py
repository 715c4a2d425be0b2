"""A real SMTP server on loopback that keeps every message it receives.

For tests and local experiments only: it accepts any sender and recipient
and never relays anything.  By default it speaks plaintext and needs no login.

    with SmtpSink() as sink:
        smtplib.SMTP(sink.host, sink.port).send_message(msg)
        assert sink.messages[0]["Subject"] == "Hello"

Optionally it serves implicit TLS (``ssl_context=``) or STARTTLS
(``tls_context=``, ``require_starttls=True``), and requires a login
(``authenticator=``, an aiosmtpd authenticator).  Besides aiosmtpd's PLAIN and
LOGIN it then offers XOAUTH2, whose user and bearer token reach the
authenticator as ``LoginPassword(login=user, password=token)`` with mechanism
``"XOAUTH2"``; a refused token gets Google's answer (a 334 challenge holding a
JSON error, then 535 once the client replies).
"""

from __future__ import annotations

import binascii
import email
import email.policy
import json
import socket
import ssl
import threading
import time
from base64 import b64decode
from collections.abc import Awaitable
from email.message import EmailMessage
from typing import Any, NamedTuple

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, AuthenticatorType, AuthResult, LoginPassword

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

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        refusal = self._sink.refuse.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        sink = self._sink
        sink.data_count += 1
        if sink.drop_at == sink.data_count:  # the line goes dead before the message is taken
            server.transport.close()
            return "421 4.4.2 connection dropped (test)"
        if sink.data_reply:
            return sink.data_reply
        content = envelope.original_content
        if content is None:
            content = envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        self._sink._record(
            Envelope(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content))
        )
        return "250 OK"


class _AuthHandler(_Handler):
    """Adds the XOAUTH2 mechanism (aiosmtpd collects ``auth_*`` methods of the handler)."""

    def __init__(self, sink: SmtpSink, authenticator: AuthenticatorType) -> None:
        super().__init__(sink)
        self._authenticator = authenticator

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:  # noqa: N802
        if len(args) == 1:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        else:
            try:
                blob = b64decode(args[1], validate=True)
            except (binascii.Error, ValueError):
                return AuthResult(
                    success=False, handled=False, message="501 5.5.2 Can't decode base64"
                )
        fields = dict(
            part.split(b"=", 1) for part in blob.split(b"\x01") if b"=" in part
        )  # user=<user> ^A auth=Bearer <token> ^A ^A
        user, auth = fields.get(b"user", b""), fields.get(b"auth", b"")
        if not user or not auth.startswith(b"Bearer "):
            return AuthResult(
                success=False, handled=False, message="501 5.5.2 Malformed XOAUTH2 response"
            )
        data = LoginPassword(login=user, password=auth[len(b"Bearer ") :])
        result = self._authenticator(server, server.session, server.envelope, "XOAUTH2", data)
        if result.success:
            return result
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "smtp"})
        await server.challenge_auth(error)  # the client answers with an empty line
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and token not accepted"
        )


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
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class SmtpSink:
    """aiosmtpd on 127.0.0.1 at a free port, collecting what it receives.

    ``messages`` are parsed with ``email.policy.default`` (line ends turned into
    ``"\n"``); ``envelopes`` keep the SMTP envelope and the raw bytes as
    received.  Both are snapshots (copies).

    ``ssl_context`` (a server context) makes every connection TLS from the
    start; ``tls_context`` offers STARTTLS, and ``require_starttls`` refuses
    mail before it.  ``authenticator`` requires a login before MAIL FROM,
    offered only over TLS unless ``auth_require_tls=False``.

    Faults to inject, changeable while it runs: ``refuse`` maps a recipient to the
    reply for its RCPT (``"550 5.1.1 no such user"``); ``data_reply`` answers every
    DATA with that reply instead of taking the message; ``drop_at = N`` closes the
    connection at the Nth DATA (counted in ``data_count``) without taking it.
    """

    def __init__(
        self,
        host: str = HOST,
        *,
        ready_timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        tls_context: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        authenticator: AuthenticatorType | None = None,
        auth_require_tls: bool = True,
    ) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("SmtpSink only listens on loopback")
        if ssl_context is not None and tls_context is not None:
            raise ValueError("give ssl_context (implicit TLS) or tls_context (STARTTLS), not both")
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = 0
        self.ready_timeout = ready_timeout
        self.ssl_context = ssl_context
        self.tls_context = tls_context
        self.require_starttls = require_starttls
        self.authenticator = authenticator
        self.auth_require_tls = auth_require_tls
        self._envelopes: list[Envelope] = []
        self.refuse: dict[str, str] = {}
        self.data_reply: str | None = None
        self.drop_at: int | None = None
        self.data_count = 0
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
            options: dict[str, Any] = {}
            handler: _Handler = _Handler(self)
            if self.tls_context is not None:
                options.update(tls_context=self.tls_context, require_starttls=self.require_starttls)
            if self.authenticator is not None:
                handler = _AuthHandler(self, self.authenticator)
                options.update(
                    authenticator=self.authenticator,
                    auth_required=True,
                    auth_require_tls=self.auth_require_tls,
                )
            controller = _BoundController(
                handler,
                sock,
                ready_timeout=self.ready_timeout,
                ssl_context=self.ssl_context,
                # Avoid socket.getfqdn(): it can block on DNS for seconds.
                server_hostname="sink.test",
                **options,
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
