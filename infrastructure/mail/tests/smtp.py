"""A real SMTP server for the tests (aiosmtpd): it accepts every message and keeps it."""

from __future__ import annotations

import email
import socket
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    """What the SMTP server received, as parsed messages."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.inbox = Inbox()
        self.port = port
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def parts(message: Message) -> dict[str, str]:
    """A received message's parts by content type, decoded."""
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for part in message.walk()
        if not part.is_multipart()
    }
