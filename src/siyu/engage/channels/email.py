"""Email over SMTP, to any provider.

A message is assembled as bytes rather than through `email.message` and `email.policy`, which
cost several times the whole budget of a fast campaign: the headers that never change are built
once, and each message only adds its own (To, Subject, Date, Message-ID, unsubscribe) and its
body, base64 when it is not plain ASCII. One SMTP connection serves a whole run of sends.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import smtplib
import ssl
import time
from email.utils import formatdate
from pathlib import Path
from typing import Literal

import dkim
from pydantic import Field, field_validator, model_validator

from siyu.engage.channels.base import (
    ENV_NAME,
    Capabilities,
    Channel,
    ChannelConfig,
    Delivery,
    Outgoing,
)

DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
# What may stand on either side of the @ of an address we hand to a server: no spaces, no
# header syntax, nothing a header could be split or injected with.
ADDRESS = re.compile(r"^[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\]+\.[^\s@<>()\[\],;:\"\\.]+$")
# An enhanced status code (RFC 3463) at the start of a reply: 5.1.x is a bad destination.
BAD_MAILBOX = re.compile(r"^\s*5\.1\.\d{1,3}\b")
ENHANCED = re.compile(r"^\s*[245]\.\d{1,3}\.\d{1,3}\b")
# Headers the DKIM signature covers; RFC 8058 requires List-Unsubscribe(-Post) among them.
# Absent ones are signed too, so nobody can add them on the way.
DKIM_HEADERS = [
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
]
# Dot-stuffing (RFC 5321 §4.5.2): a line that starts with a dot gets another.
DOT_LINE = re.compile(rb"(?m)^\.")
# An RFC 2047 encoded word may be 75 characters: 45 bytes of UTF-8 make 60 of base64 plus 12.
WORD_BYTES = 45


class EmailConfig(ChannelConfig):
    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535, description="25, 587 or 465 by tls")
    tls: Literal["none", "starttls", "ssl"] = "starttls"
    user: str | None = None
    password_env: str | None = Field(default=None, pattern=ENV_NAME)
    from_address: str
    from_name: str | None = None
    reply_to: str | None = None
    timeout: float = Field(default=30.0, gt=0)
    dkim_domain: str | None = None
    dkim_selector: str | None = None
    dkim_private_key_path: str | None = None
    dkim_private_key_env: str | None = Field(default=None, pattern=ENV_NAME)

    @field_validator("from_address", "reply_to")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and not ADDRESS.match(value):
            raise ValueError(f"{value!r} is not an email address")
        return value

    @field_validator("from_name")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and ("\r" in value or "\n" in value):
            raise ValueError("must be one line")
        return value

    @model_validator(mode="after")
    def _pairs(self) -> EmailConfig:
        if self.user and not self.password_env:
            raise ValueError("user needs password_env, the environment variable with the password")
        dkim = (self.dkim_domain, self.dkim_selector)
        keys = [k for k in (self.dkim_private_key_path, self.dkim_private_key_env) if k]
        if any(dkim) or keys:
            if not all(dkim):
                raise ValueError("DKIM signing needs both dkim_domain and dkim_selector")
            if len(keys) != 1:
                raise ValueError(
                    "DKIM signing needs one of dkim_private_key_path or dkim_private_key_env"
                )
        return self


class EmailChannel(Channel):
    kind = "email"
    label = "Email (SMTP)"
    Config = EmailConfig
    capabilities = Capabilities(
        address_kind="email", consent_channel="email", subject=True, unsubscribe_link=True
    )

    def __init__(self, config: ChannelConfig) -> None:
        assert isinstance(config, EmailConfig)
        super().__init__(config)
        self.config: EmailConfig = config
        self._smtp: smtplib.SMTP | None = None
        self._dkim_key: bytes | None = None
        self._problem: str | None = None
        self._domain = config.from_address.rpartition("@")[2]
        head = [f"From: {_mailbox(config.from_address, config.from_name)}"]
        if config.reply_to:
            head.append(f"Reply-To: {config.reply_to}")
        head.append("MIME-Version: 1.0")
        self._head = ("\r\n".join(head) + "\r\n").encode()
        self._date_second = -1
        self._date = ""

    # -- connection ---------------------------------------------------------------------------

    def open(self) -> None:
        self._problem = self._load_dkim_key()
        if self._problem is None:
            self._problem = self._connect()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _connect(self) -> str | None:
        """Connect and log in; the reason when that failed."""
        config = self.config
        port = config.port or DEFAULT_PORTS[config.tls]
        password = None
        if config.user:
            assert config.password_env
            password = os.environ.get(config.password_env)
            if password is None:
                return f"environment variable {config.password_env} (SMTP password) is not set"
        try:
            if config.tls == "ssl":
                context = ssl.create_default_context()
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    config.host, port, timeout=config.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(config.host, port, timeout=config.timeout)
            smtp.ehlo()
            if config.tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if config.user:
                assert password is not None
                smtp.login(config.user, password)
        except UnicodeEncodeError:
            return "smtplib sends user and password as ASCII only"
        except smtplib.SMTPAuthenticationError as error:
            return f"SMTP login refused: {error.smtp_code} {_text(error.smtp_error)}"
        except (smtplib.SMTPException, OSError) as error:
            return f"cannot connect to {config.host}:{port}: {error}"
        self._smtp = smtp
        return None

    def _load_dkim_key(self) -> str | None:
        config = self.config
        if config.dkim_private_key_path:
            try:
                self._dkim_key = Path(config.dkim_private_key_path).read_bytes()
            except OSError as error:
                return f"cannot read the DKIM key: {error}"
        elif config.dkim_private_key_env:
            key = os.environ.get(config.dkim_private_key_env)
            if not key:
                return f"environment variable {config.dkim_private_key_env} (DKIM key) is not set"
            self._dkim_key = key.encode()
        return None

    # -- sending ------------------------------------------------------------------------------

    def check(self, message: Outgoing) -> list[str]:
        problems = []
        if not message.address or not ADDRESS.match(message.address):
            problems.append(f"{message.address!r} is not an email address")
        if not (message.subject or "").strip():
            problems.append("an email needs a subject")
        if message.category == "marketing" and not message.unsubscribe_url:
            problems.append("a marketing email needs an unsubscribe link")
        return problems

    def send(self, message: Outgoing) -> Delivery:
        address = message.address or ""
        if not ADDRESS.match(address):
            return Delivery("failed", reason=f"not an email address: {address!r}", bad_address=True)
        recipient, needs_utf8 = _smtp_address(address)
        # A run whose open() could not connect answers at once rather than waiting out a
        # connect timeout per message; the dispatcher's next run tries the server again.
        if self._problem:
            return Delivery("retry", reason=self._problem)
        message_id = self.message_id(message.key)
        raw = self.build(message, message_id, to=recipient)
        # A server may drop an idle connection between runs: reconnect once, then give up.
        for attempt in (1, 2):
            if self._smtp is None:
                problem = self._connect()
                if problem:
                    return Delivery("retry", reason=problem)
            assert self._smtp is not None
            try:
                if needs_utf8 and not self._smtp.has_extn("smtputf8"):
                    return Delivery("failed", reason="the server cannot take a non-ASCII address")
                return self._transaction(self._smtp, recipient, raw, needs_utf8, message_id)
            except smtplib.SMTPServerDisconnected as error:
                self._drop()
                if attempt == 2:
                    return Delivery("retry", reason=f"server disconnected: {error}")
            except (smtplib.SMTPException, OSError) as error:
                # A timeout or a broken pipe leaves the session in an unknown state.
                self._drop()
                return Delivery("retry", reason=f"SMTP error: {error}")
        raise AssertionError("unreachable")

    def _transaction(
        self, smtp: smtplib.SMTP, recipient: str, raw: bytes, utf8: bool, message_id: str
    ) -> Delivery:
        """MAIL, RCPT, DATA and the content, read reply by reply.

        smtplib's `sendmail` parses both addresses again with `email.utils` (more CPU than building
        the message) and waits for each reply in turn; when the server offers PIPELINING
        (RFC 2920) the three commands go in one packet, two round trips a message instead of four.
        """
        mail = f"MAIL FROM:<{self.config.from_address}>{' SMTPUTF8' if utf8 else ''}\r\n"
        commands = [mail.encode(), f"RCPT TO:<{recipient}>\r\n".encode(), b"DATA\r\n"]
        replies: list[tuple[int, bytes]] = []
        if smtp.does_esmtp and "pipelining" in smtp.esmtp_features:
            smtp.send(b"".join(commands))
            replies = [smtp.getreply() for _ in commands]
        else:
            for command in commands:
                smtp.send(command)
                replies.append(smtp.getreply())
                if replies[-1][0] not in (250, 251, 354):
                    break
        for stage, (code, text) in zip(("mail", "rcpt", "data"), replies, strict=False):
            if code in (250, 251) or (stage == "data" and code == 354):
                continue
            if replies[-1][0] == 354:  # a server that opened DATA anyway gets an empty one
                smtp.send(b".\r\n")
                smtp.getreply()
            self._reset(smtp, code)
            return refused(code, text, stage=stage)
        smtp.send(DOT_LINE.sub(b"..", raw) + b".\r\n")
        code, text = smtp.getreply()
        if code != 250:
            self._reset(smtp, code)
            return refused(code, text, stage="data")
        return Delivery("sent", provider_id=message_id)

    def _reset(self, smtp: smtplib.SMTP, code: int) -> None:
        """Leave the session ready for the next message, or drop it when the server is going."""
        if code == 421:
            self._drop()
            return
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    # -- building -----------------------------------------------------------------------------

    def message_id(self, key: str) -> str:
        """The same key gives the same Message-ID, so a resent message can be recognised."""
        return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{self._domain}>"

    def build(self, message: Outgoing, message_id: str, *, to: str | None = None) -> bytes:
        """The message as it goes over the wire: CRLF lines, 7-bit clean (but for a non-ASCII
        mailbox name, RFC 6532), DKIM-signed when configured."""
        now = int(time.time())
        if now != self._date_second:  # formatdate is the dearest header; one a second is enough
            self._date_second, self._date = now, formatdate(now, usegmt=True)
        headers = [
            f"To: {to or message.address}",
            f"Subject: {encode_header(message.subject or '')}",
            f"Date: {self._date}",
            f"Message-ID: {message_id}",
        ]
        url = message.unsubscribe_url
        if url and _clean_url(url):
            headers.append(f"List-Unsubscribe: <{url}>")
            headers.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
        html = message.extra.get("html")
        if html:
            boundary = f"=_{message_id[1:17]}"
            headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
            text_part = _part("plain", message.body)
            html_part = _part("html", str(html))
            body = (
                f"--{boundary}\r\n".encode()
                + text_part
                + f"--{boundary}\r\n".encode()
                + html_part
                + f"--{boundary}--\r\n".encode()
            )
        else:
            part = _part("plain", message.body)
            header_end = part.index(b"\r\n\r\n")
            headers.append(part[:header_end].decode())
            body = part[header_end + 4 :]
        raw = self._head + ("\r\n".join(headers) + "\r\n\r\n").encode() + body
        if self._dkim_key is not None:
            raw = self._sign(raw)
        return raw

    def _sign(self, raw: bytes) -> bytes:
        config = self.config
        assert config.dkim_selector and config.dkim_domain and self._dkim_key
        signature = dkim.sign(
            raw,
            config.dkim_selector.encode(),
            config.dkim_domain.encode(),
            self._dkim_key,
            include_headers=DKIM_HEADERS,
        )
        return signature + raw


def refused(code: int, text: bytes | str, *, stage: str) -> Delivery:
    """What an SMTP refusal means for the message: try later, never, or never this address."""
    reply = _text(text)
    reason = f"{code} {reply}"
    if 400 <= code < 500:
        return Delivery("retry", reason=reason)
    # "550 5.7.1 spam policy" refuses the message, not the mailbox: only a 5.1.x code, or a bare
    # 550/551/553 to RCPT, says the address itself is bad.
    if stage == "mail":  # the sender was refused (5.1.7 and the like): not the recipient's fault
        return Delivery("failed", reason=reason)
    if BAD_MAILBOX.match(reply):
        return Delivery("failed", reason=reason, bad_address=True)
    if stage == "rcpt" and code in (550, 551, 553) and not ENHANCED.match(reply):
        return Delivery("failed", reason=reason, bad_address=True)
    if 500 <= code < 600:
        return Delivery("failed", reason=reason)
    return Delivery("retry", reason=reason)


def encode_header(value: str) -> str:
    """A header value on one line; RFC 2047 encoded words when it is not plain ASCII."""
    if "\r" in value or "\n" in value:
        value = " ".join(value.splitlines())
    if value.isascii() and "=?" not in value:
        return value
    data = value.encode()
    words = []
    start = 0
    while start < len(data):
        end = min(start + WORD_BYTES, len(data))
        while end < len(data) and 0x80 <= data[end] < 0xC0:  # never split a character
            end -= 1
        words.append("=?utf-8?b?" + base64.b64encode(data[start:end]).decode() + "?=")
        start = end
    # Folding whitespace between encoded words is not part of the decoded text (RFC 2047 §6.2).
    return "\r\n ".join(words)


def _part(subtype: str, text: str) -> bytes:
    """Content headers, a blank line and the body, as one MIME part."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii() and max(map(len, text.split("\n")), default=0) <= 998:
        return (
            f"Content-Type: text/{subtype}; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 7bit\r\n\r\n" + text.replace("\n", "\r\n")
        ).encode() + (b"" if text.endswith("\n") else b"\r\n")
    encoded = base64.encodebytes(text.replace("\n", "\r\n").encode()).replace(b"\n", b"\r\n")
    return (
        f"Content-Type: text/{subtype}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + encoded


def _mailbox(address: str, name: str | None) -> str:
    if not name:
        return address
    if name.isascii():
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}" <{address}>'
    return f"{encode_header(name)} <{address}>"


def _smtp_address(address: str) -> tuple[str, bool]:
    """The address for RCPT TO, and whether it needs SMTPUTF8 (a non-ASCII local part)."""
    if address.isascii():
        return address, False
    local, _, domain = address.rpartition("@")
    try:
        domain = domain.encode("idna").decode()
    except UnicodeError:
        return address, True
    return f"{local}@{domain}", not local.isascii()


def _clean_url(url: str) -> bool:
    return url.isascii() and not any(c in url for c in " <>\r\n\t")


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
