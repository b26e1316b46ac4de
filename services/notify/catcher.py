"""A local mail catcher for `make run` (aiosmtpd, the `dev` extra): the launcher starts it
when no `NOTIFY_SMTP_HOST` is given, and every mail the suite sends is kept as an `.eml`
file under `DATA_DIR/mail/` instead of leaving the machine. Not for production."""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path
from typing import Any


class _Keep:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        (self.directory / name).write_bytes(envelope.content)
        return "250 OK"


class MailCatcher:
    def __init__(self, directory: Path, port: int = 0) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or _free_port()
        self._controller: Any = None

    def start(self) -> MailCatcher:
        from aiosmtpd.controller import Controller  # the dev extra, imported when used

        self._controller = Controller(_Keep(self.directory), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
