"""The channels pages: the list with secrets shown only as variable names, a form made from a
channel kind's settings schema with errors beside their fields, and switching on and off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import pytest
from fastapi.testclient import TestClient
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.engage.channels import registry
from siyu.engage.channels.base import Capabilities, Channel, ChannelConfig
from siyu.engage.models import EngageChannel
from tests.console.conftest import Browser, make_staff
from tests.engage.keeping import Keeping, keeping

__all__ = ["keeping"]  # the fixture, used by name


class PostConfig(ChannelConfig):
    host: str = Field(description="The SMTP server's host name.")
    port: int = 587
    tls: Literal["starttls", "ssl", "none"] = "starttls"
    password_env: str | None = Field(None, description="Holds the SMTP password.")
    verify: bool = True
    bcc: list[str] = Field(default_factory=list)


class Post(Channel):
    """A channel with a field of every kind a form shows; it never sends."""

    kind = "post"
    label = "Post office (tests)"
    Config = PostConfig
    capabilities = Capabilities(address_kind="email", consent_channel="email", subject=True)


@pytest.fixture
def post(keeping: type[Keeping], monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Post]]:
    known = dict(registry.channels())
    monkeypatch.setattr(registry, "channels", lambda: {**known, "post": Post})
    yield Post


@pytest.fixture(autouse=True)
def english(client: TestClient) -> None:
    """The pages in English, where the tests read their words (the last test reads Chinese)."""
    client.cookies.set("lang", "en")


def _form(**values: str) -> dict[str, str]:
    return {"kind": "post", "name": "店铺邮件", **{f"config.{k}": v for k, v in values.items()}}


def test_the_form_is_made_from_the_schema(signed_in: Browser, post: Any) -> None:
    page = signed_in.get("/channels/new")
    assert page.status_code == 200
    assert "Post office (tests)" in page.text and "Keeping (tests)" in page.text
    page = signed_in.get("/channels/new?kind=post")
    text = page.text
    assert 'name="config.host"' in text and "The SMTP server&#39;s host name." in text
    assert '<option value="ssl">ssl</option>' in text  # an enum is a select
    assert 'type="checkbox" id="field-config.verify" name="config.verify" value="1" checked' in text
    assert 'name="config.port" value="587"' in text  # the default is filled in
    assert "comma-separated list" in text and "environment variable" in text
    assert " required" not in text.split("<form", 1)[1]  # htmx halts on required fields


def test_a_bad_field_is_named_beside_it_and_a_good_form_adds_the_channel(
    signed_in: Browser, post: Any, session: Session
) -> None:
    signed_in.get("/channels/new?kind=post")
    refused = signed_in.post("/channels/new", _form(host="smtp.example.cn", port="lots"))
    assert refused.status_code == 422
    error = refused.text.split('id="error-port"', 1)[1].split("</p>", 1)[0]
    assert "valid integer" in error
    assert 'value="lots"' in refused.text  # what was typed stays
    assert session.scalar(select(EngageChannel).where(EngageChannel.kind == "post")) is None

    missing = signed_in.post("/channels/new", _form())
    assert missing.status_code == 422 and 'id="error-host"' in missing.text

    added = signed_in.post(
        "/channels/new",
        _form(host="smtp.example.cn", port="465", tls="ssl", password_env="SMTP_PASSWORD",
              bcc="a@example.cn， b@example.cn"),
    )  # fmt: skip
    assert added.status_code == 303 and added.headers["location"] == "/channels"
    channel = session.scalars(select(EngageChannel).where(EngageChannel.kind == "post")).one()
    assert channel.config == {
        "host": "smtp.example.cn",
        "port": 465,
        "tls": "ssl",
        "password_env": "SMTP_PASSWORD",
        "verify": False,  # an unticked box
        "bcc": ["a@example.cn", "b@example.cn"],
    }
    listed = signed_in.get("/channels").text
    assert "店铺邮件" in listed and "Post office (tests)" in listed
    assert "$SMTP_PASSWORD" in listed

    again = signed_in.post("/channels/new", _form(host="smtp.example.cn"))
    assert again.status_code == 422 and 'id="error-name"' in again.text


def test_switch_off_and_on(signed_in: Browser, keeping: Any, session: Session) -> None:
    signed_in.get("/channels/new?kind=keeping")
    signed_in.post("/channels/new", {"kind": "keeping", "name": "k"})
    channel = session.scalars(select(EngageChannel).where(EngageChannel.name == "k")).one()
    signed_in.get("/channels")
    assert signed_in.post(f"/channels/{channel.id}/switch", {"enabled": "0"}).status_code == 303
    session.refresh(channel)
    assert not channel.enabled
    assert "Switch on" in signed_in.get("/channels").text
    signed_in.post(f"/channels/{channel.id}/switch", {"enabled": "1"})
    session.refresh(channel)
    assert channel.enabled


def test_a_viewer_sees_channels_but_cannot_add_one(
    browser: Browser, keeping: Any, session: Session
) -> None:
    make_staff(session, "kan.kan", "viewer")
    browser.sign_in("kan.kan")
    page = browser.get("/channels")
    assert page.status_code == 200 and "/channels/new" not in page.text
    assert browser.get("/channels/new").status_code == 403
    refused = browser.post("/channels/new", {"kind": "keeping", "name": "k"})
    assert refused.status_code == 403


def test_channels_in_chinese(signed_in: Browser, post: Any) -> None:
    signed_in.client.cookies.set("lang", "zh_CN")
    page = signed_in.get("/channels")
    assert "渠道" in page.text and "添加渠道" in page.text
    assert "逗号分隔" in signed_in.get("/channels/new?kind=post").text
