"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the mail tests, with scriptable faults."""

from __future__ import annotations

import asyncio
import collections
import email
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=default_policy)  # type: ignore[return-value]


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    # Replies given to the next DATA commands instead of 250 (e.g. "451 4.3.0 later").
    data_replies: collections.deque = field(default_factory=collections.deque)
    rcpt_replies: dict[str, str] = field(default_factory=dict)  # address -> reply
    delay: float = 0.0  # seconds before answering DATA
    hang_after: int | None = None  # accept message n (1-based) then never answer

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_replies:
            return self.data_replies.popleft()
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content or envelope.content,
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.hang_after is not None and len(self.received) >= self.hang_after:
            await asyncio.sleep(3600)
        return f"250 2.0.0 Ok: queued as Q{len(self.received)}"


class SmtpServer:
    def __init__(self) -> None:
        self.handler = Handler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        return self.handler.received


@pytest.fixture
def smtp_server():
    srv = SmtpServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def mail_world(world, smtp_server):
    """The world's company sending through the local SMTP server (plain SMTP, no login)."""
    from recurent.mail.services import smtp_settings_save

    smtp_settings_save(
        company=world.company,
        host="127.0.0.1",
        port=smtp_server.port,
        security="none",
        from_email="facturi@demo.ro",
        from_name="Recurent Demo",
    )
    world.smtp = smtp_server
    return world


class DroppingServer:
    """Speaks just enough SMTP to reach DATA, reads part of the message, then hangs up."""

    def __init__(self, read_bytes: int = 2000) -> None:
        self.port = free_port()
        self.read_bytes = read_bytes
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(5)
        self.dropped = 0
        self._t = threading.Thread(target=self._serve, daemon=True)
        self._t.start()

    def _serve(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c, c.makefile("rb") as f:
                c.sendall(b"220 drop.test ESMTP\r\n")
                while True:
                    line = f.readline()
                    if not line:
                        break
                    cmd = line[:4].upper()
                    if cmd in (b"EHLO", b"HELO"):
                        c.sendall(b"250 drop.test\r\n")
                    elif cmd == b"DATA":
                        c.sendall(b"354 go ahead\r\n")
                        f.read(self.read_bytes)
                        self.dropped += 1
                        c.shutdown(socket.SHUT_RDWR)  # hang up in the middle of the message
                        break
                    elif cmd == b"QUIT":
                        c.sendall(b"221 bye\r\n")
                        break
                    else:
                        c.sendall(b"250 OK\r\n")

    def close(self) -> None:
        self.sock.close()
