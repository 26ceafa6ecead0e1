"""Real SMTP servers (aiosmtpd) on loopback for the email channel's tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.engage.channels.fakes import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class Recorder:
    """Keeps every message; answers RCPT for the addresses in `refuse` with the given reply."""

    refuse: dict[str, str] = field(default_factory=dict)
    pipelining: bool = False
    received: list[Received] = field(default_factory=list)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        )
        return "250 2.0.0 queued"


@dataclass
class SmtpServer:
    host: str
    port: int
    recorder: Recorder
    controller: Controller
    users: dict[str, str] | None = None

    def restart(self) -> None:
        """Stop and start again on the same port: every client connection is dropped."""
        self.controller.stop()
        self.controller = _controller(self.recorder, self.port, self.users)
        self.controller.start()


def _controller(recorder: Recorder, port: int, users: dict[str, str] | None) -> Controller:
    if users is None:
        return Controller(recorder, hostname="127.0.0.1", port=port)

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and users.get(data.login.decode()) == (
            data.password.decode()
        )
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

    return Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=False,  # loopback only; a real provider takes AUTH after STARTTLS
        # smtplib falls back from a refused PLAIN to LOGIN, which aiosmtpd then leaves hanging.
        auth_exclude_mechanism=["LOGIN"],
    )


@contextmanager
def smtp_server(
    recorder: Recorder | None = None, users: dict[str, str] | None = None
) -> Iterator[SmtpServer]:
    recorder = recorder or Recorder()
    port = free_port()
    controller = _controller(recorder, port, users)
    controller.start()
    server = SmtpServer("127.0.0.1", port, recorder, controller, users)
    try:
        yield server
    finally:
        server.controller.stop()
