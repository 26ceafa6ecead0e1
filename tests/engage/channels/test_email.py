"""The email channel against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import base64
import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from siyu.engage.channels.base import Outgoing
from siyu.engage.channels.email import EmailChannel, EmailConfig, encode_header, refused
from tests.engage.channels.fakes import free_port
from tests.engage.channels.smtp import Recorder, SmtpServer, smtp_server

SUBJECT = "双十一会员专享：全场八折，仅限本周末"
# The login test's server takes AUTH without TLS, on loopback; aiosmtpd warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
BODY = "亲爱的会员，您好！\n本周末全场八折。\n.以点开头的一行也要原样到达\n"


def channel(server: SmtpServer, **config: object) -> EmailChannel:
    settings: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "tls": "none",
        "from_address": "shop@example.com",
        "from_name": "思语小店",
        "reply_to": "service@example.com",
        "timeout": 5,
    }
    settings.update(config)
    return EmailChannel(EmailConfig.model_validate(settings))


def outgoing(number: int = 1, **fields: object) -> Outgoing:
    values: dict[str, object] = {
        "message_id": number,
        "key": f"campaign:7:{number}",
        "category": "marketing",
        "contact_id": number,
        "address": f"customer{number}@example.com",
        "subject": SUBJECT,
        "body": BODY,
        "unsubscribe_url": f"https://siyu.example.com/u/token{number}",
    }
    values.update(fields)
    return Outgoing(**values)  # type: ignore[arg-type]


def parsed(content: bytes) -> EmailMessage:
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.fixture(params=["one command at a time", "pipelining"])
def server(request: pytest.FixtureRequest) -> Iterator[SmtpServer]:
    refuse = {
        "gone@example.com": "550 5.1.1 <gone@example.com>: Recipient address rejected",
        "unknown@example.com": "550 No such user here",
        "busy@example.com": "451 4.7.1 Greylisted, try again later",
        "full@example.com": "552 5.2.2 Mailbox full",
        "spam@example.com": "550 5.7.1 Message rejected as spam",
    }
    recorder = Recorder(refuse=refuse, pipelining=request.param == "pipelining")
    with smtp_server(recorder) as running:
        yield running


def test_message_arrives_with_its_headers_and_chinese_text(server: SmtpServer) -> None:
    with channel(server) as email_channel:
        delivery = email_channel.send(outgoing())
    assert delivery.status == "sent", delivery.reason
    [received] = server.recorder.received
    assert received.mail_from == "shop@example.com"
    assert received.rcpt_tos == ["customer1@example.com"]
    message = parsed(received.content)
    assert message["Subject"] == SUBJECT
    assert message["From"].addresses[0].display_name == "思语小店"
    assert message["From"].addresses[0].addr_spec == "shop@example.com"
    assert message["Reply-To"] == "service@example.com"
    assert message["To"] == "customer1@example.com"
    assert message["Message-ID"] == delivery.provider_id
    assert message["List-Unsubscribe"] == "<https://siyu.example.com/u/token1>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Date"].datetime is not None
    assert message.get_content_type() == "text/plain"
    assert message.get_content().replace("\r\n", "\n") == BODY
    # Every line is 7-bit and within the limit, as any relay accepts.
    assert received.content.isascii()
    assert max(len(line) for line in received.content.split(b"\r\n")) <= 998


def test_message_id_depends_on_the_key_alone(server: SmtpServer) -> None:
    first = channel(server).message_id("campaign:7:1")
    again = channel(server, from_name="Other").message_id("campaign:7:1")
    other = channel(server).message_id("campaign:7:2")
    assert first == again != other
    assert first.startswith("<") and first.endswith("@example.com>")
    with channel(server) as email_channel:
        assert email_channel.send(outgoing()).provider_id == first
        assert email_channel.send(outgoing()).provider_id == first


def test_html_goes_as_an_alternative_to_the_text(server: SmtpServer) -> None:
    html = "<p>亲爱的会员，<b>全场八折</b></p>"
    with channel(server) as email_channel:
        assert email_channel.send(outgoing(extra={"html": html})).status == "sent"
    message = parsed(server.recorder.received[0].content)
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("html",)).get_content().strip() == html  # type: ignore[union-attr]
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert plain.replace("\r\n", "\n") == BODY


def test_plain_ascii_and_no_unsubscribe_for_a_transactional_message(server: SmtpServer) -> None:
    message = outgoing(
        category="transactional",
        subject="Your order shipped",
        body="Tracking: SF123",
        unsubscribe_url=None,
    )
    with channel(server, from_name=None, reply_to=None) as email_channel:
        assert email_channel.check(message) == []
        assert email_channel.send(message).status == "sent"
    received = parsed(server.recorder.received[0].content)
    assert received["From"] == "shop@example.com"
    assert received["Subject"] == "Your order shipped"
    assert "List-Unsubscribe" not in received and "Reply-To" not in received
    assert received["Content-Transfer-Encoding"] == "7bit"
    assert received.get_content().strip() == "Tracking: SF123"


def test_long_subjects_are_folded_into_encoded_words_and_read_back_whole() -> None:
    subject = "会员日" * 40 + " and some English words"
    encoded = encode_header(subject)
    lines = encoded.split("\r\n ")
    assert len(lines) > 1 and all(len(line) <= 75 for line in lines)
    message = parsed(f"Subject: {encoded}\r\n\r\n".encode())
    assert message["Subject"] == subject
    assert encode_header("line one\r\nline two") == "line one line two"  # no header injection


def test_refusals_map_to_what_they_mean(server: SmtpServer) -> None:
    with channel(server) as email_channel:
        results = {
            name: email_channel.send(outgoing(address=f"{name}@example.com"))
            for name in ("gone", "unknown", "busy", "full", "spam", "fine")
        }
    assert (results["gone"].status, results["gone"].bad_address) == ("failed", True)
    assert results["gone"].reason.startswith("550 5.1.1")  # type: ignore[union-attr]
    assert (results["unknown"].status, results["unknown"].bad_address) == ("failed", True)
    assert (results["busy"].status, results["busy"].bad_address) == ("retry", False)
    assert (results["full"].status, results["full"].bad_address) == ("failed", False)
    assert (results["spam"].status, results["spam"].bad_address) == ("failed", False)
    # The session was reset after each refusal: the last message went on the same connection.
    assert results["fine"].status == "sent"
    assert [r.rcpt_tos for r in server.recorder.received] == [["fine@example.com"]]


def test_a_malformed_address_is_never_sent(server: SmtpServer) -> None:
    with channel(server) as email_channel:
        bad = outgoing(address="someone@example.com\r\nBcc: victim@example.com")
        assert email_channel.check(bad)
        delivery = email_channel.send(bad)
    assert (delivery.status, delivery.bad_address) == ("failed", True)
    assert server.recorder.received == []


def test_a_dropped_connection_is_opened_again(server: SmtpServer) -> None:
    with channel(server) as email_channel:
        assert email_channel.send(outgoing(1)).status == "sent"
        server.restart()  # the server forgets the connection, as after an idle timeout
        assert email_channel.send(outgoing(2)).status == "sent"
    assert len(server.recorder.received) == 2


def test_an_unreachable_server_means_retry_and_open_does_not_raise() -> None:
    config = EmailConfig(
        host="127.0.0.1", port=free_port(), tls="none", from_address="a@example.com"
    )
    with EmailChannel(config) as email_channel:
        delivery = email_channel.send(outgoing())
    assert delivery.status == "retry"
    assert "cannot connect" in (delivery.reason or "")


def test_login_with_the_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_SMTP_PASSWORD", "s3cret-pass")
    with smtp_server(users={"shop": "s3cret-pass"}) as server:
        with channel(server, user="shop", password_env="SHOP_SMTP_PASSWORD") as email_channel:
            assert email_channel.send(outgoing()).status == "sent"
        monkeypatch.setenv("SHOP_SMTP_PASSWORD", "wrong")
        with channel(server, user="shop", password_env="SHOP_SMTP_PASSWORD") as email_channel:
            refused = email_channel.send(outgoing(2))
        monkeypatch.delenv("SHOP_SMTP_PASSWORD")
        with channel(server, user="shop", password_env="SHOP_SMTP_PASSWORD") as email_channel:
            unset = email_channel.send(outgoing(3))
        # Without a login the server refuses MAIL.
        with channel(server) as email_channel:
            anonymous = email_channel.send(outgoing(4))
    assert len(server.recorder.received) == 1
    assert refused.status == "retry" and "login refused" in (refused.reason or "")
    assert "wrong" not in (refused.reason or "")
    assert unset.status == "retry" and "SHOP_SMTP_PASSWORD" in (unset.reason or "")
    assert anonymous.status == "failed"


def test_dkim_signature_verifies_and_covers_the_unsubscribe_headers(
    server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public_der)
    monkeypatch.setenv("SHOP_DKIM_KEY", private_pem.decode())

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"mail2024._domainkey.example.com." else None

    dkim_config = {"dkim_domain": "example.com", "dkim_selector": "mail2024"}
    with channel(server, dkim_private_key_env="SHOP_DKIM_KEY", **dkim_config) as email_channel:
        assert email_channel.send(outgoing(extra={"html": "<p>八折</p>"})).status == "sent"
    content = server.recorder.received[0].content
    assert dkim.verify(content, dnsfunc=dns)
    signature = parsed(content)["DKIM-Signature"].replace(" ", "").replace("\t", "")
    assert "list-unsubscribe:list-unsubscribe-post" in signature.lower()
    # A changed body no longer verifies: the test can fail.
    assert not dkim.verify(
        content.replace(b"Date:", b"Date: ").replace(b"5YWr", b"5YWs"), dnsfunc=dns
    )


def test_configuration_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="password_env"):
        EmailConfig(host="smtp.example.com", from_address="a@example.com", user="a")
    with pytest.raises(ValueError, match="dkim_selector"):
        EmailConfig(
            host="smtp.example.com", from_address="a@example.com", dkim_domain="example.com"
        )
    with pytest.raises(ValueError, match="from_address"):
        EmailConfig(host="smtp.example.com", from_address="not an address")


def test_a_refused_sender_never_marks_the_recipient_bad() -> None:
    sender = refused(553, b"5.1.7 Sender address rejected", stage="mail")
    recipient = refused(553, b"5.1.7 Sender address rejected", stage="rcpt")
    at_data = refused(550, b"5.1.1 No such user", stage="data")
    assert (sender.status, sender.bad_address) == ("failed", False)
    assert (recipient.status, recipient.bad_address) == ("failed", True)
    assert (at_data.status, at_data.bad_address) == ("failed", True)
    assert refused(421, b"4.3.2 shutting down", stage="mail").status == "retry"
