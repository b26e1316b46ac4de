"""A real SMTP server for the tests (aiosmtpd, in its own thread): it keeps what it accepts,
and can answer 4xx or 5xx, or be down, on demand."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Catcher:
    """The handler: `answer` None accepts; else it is the reply to DATA (e.g. "451 busy")."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mails: list[EmailMessage] = []
        self.accepted_at: list[float] = []
        self.answer: str | None = None
        self.refused = 0
        self.peers: list[Any] = []  # the client's address of each mail's connection
        self.quit_delay_s = 0.0  # how long QUIT waits for its answer (a slow server)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.peers.append(session.peer)
            if self.answer is not None:
                self.refused += 1
                return self.answer
            parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            self.mails.append(parsed)
            self.accepted_at.append(time.time())
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.quit_delay_s)
        return "221 Bye"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.mails if m["To"] == address]


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.catcher = Catcher()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.catcher, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
