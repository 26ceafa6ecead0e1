"""Templates: what they read is found before sending, and the sandbox holds."""

from __future__ import annotations

from typing import Any

import pytest

from siyu.db.session import unit_of_work
from siyu.engage import campaigns, templates
from siyu.engage.models import EngageChannel
from siyu.errors import Invalid
from siyu.kit.actor import Actor
from tests.engage.keeping import add_channel, add_people


def test_variables_are_read_from_the_syntax_tree() -> None:
    found = templates.variables(
        "{{ name }} {{ contact.traits.birthday }} {{ contact.traits.size.cm }} "
        "{{ owner.name | default('客服') }} {{ link('https://x') }}"
        "{% if contact.city %}{% endif %}"
    )
    assert [(v.path, v.guarded) for v in found] == [
        ("contact.name", False),
        ("contact.traits.birthday", False),
        ("contact.traits.size", False),
        ("owner.name", True),
        ("contact.city", False),
    ]
    assert templates.unknown_variables(templates.variables("{{ contact.nmae }}")) == [
        "contact.nmae"
    ]


def test_syntax_errors_name_the_line() -> None:
    with pytest.raises(Invalid, match=r"body, line 2: Unexpected end of template"):
        templates.variables("你好\n{% if name %}")


def test_the_sandbox_refuses_python_internals() -> None:
    with pytest.raises(Invalid, match="body"):
        templates.render("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})


def test_defaults_fill_what_a_contact_lacks() -> None:
    context = templates.contact_context(
        {"name": None, "traits": {}, "total_spent": 12345},
        owner=None,
        defaults={"contact.name": "朋友", "contact.traits.size": "M", "owner.name": "小美"},
        link=str,
        unsubscribe_url="u",
    )
    assert (
        templates.render(
            "{{ name }} {{ contact.traits.size }} {{ owner.name }} ¥{{ contact.total_spent }}",
            context,
        )
        == "朋友 M 小美 ¥123.45"
    )


def _draft(channel_id: int, body: str, **variant: Any) -> Any:
    with unit_of_work() as session:
        made = campaigns.create_campaign(
            session,
            actor=Actor.cli(),
            name="check",
            channel=session.get_one(EngageChannel, channel_id),
            query="order_count >= 0",
            variants=[{"subject": "s", "body": body, **variant}],
        )
        return campaigns.check(session, made), made.id


def test_check_lists_the_contacts_missing_a_variable(database_url: str, keeping: Any) -> None:
    add_people(2, birthday="1990-05-01")
    without = add_people(3)
    channel = add_channel()
    report, _ = _draft(channel, "{{ contact.traits.birthday }} {{ unsubscribe_url }}")
    assert not report["ok"]
    (missing,) = report["missing"]
    assert (missing["variable"], missing["contacts"]) == ("contact.traits.birthday", 3)
    assert [row["id"] for row in missing["sample"]] == sorted(without)
    assert "3 recipients have no contact.traits.birthday" in report["errors"][0]
    # A default, in the template or the variant, settles it.
    guarded, _ = _draft(
        channel, "{{ contact.traits.birthday | default('') }} {{ unsubscribe_url }}"
    )
    assert guarded["ok"], guarded["errors"]
    given, _ = _draft(
        channel,
        "{{ contact.traits.birthday }} {{ unsubscribe_url }}",
        defaults={"contact.traits.birthday": "生日"},
    )
    assert given["ok"], given["errors"]


def test_a_marketing_email_needs_an_unsubscribe_link(database_url: str, keeping: Any) -> None:
    add_people(1)
    channel = add_channel()
    report, campaign_id = _draft(channel, "你好 {{ name }}")
    assert any("unsubscribe link" in error for error in report["errors"])
    with unit_of_work() as session, pytest.raises(Invalid, match="cannot start"):
        found = campaigns.get_campaign(session, campaign_id)
        campaigns.start(session, actor=Actor.cli(), campaign=found)


def test_variant_percentages_must_add_up(database_url: str, keeping: Any) -> None:
    channel = add_channel()
    with unit_of_work() as session, pytest.raises(Invalid, match="add up to 100, not 60 \\+ 30"):
        campaigns.create_campaign(
            session,
            actor=Actor.cli(),
            name="ab",
            channel=session.get_one(EngageChannel, channel),
            query="order_count >= 0",
            variants=[{"percent": 60, "body": "a"}, {"percent": 30, "body": "b"}],
        )


def test_a_missing_value_takes_the_templates_default() -> None:
    context = templates.contact_context(
        {"name": "林一", "city": None, "traits": {}}, owner=None, defaults={}, link=str,
        unsubscribe_url="u",
    )  # fmt: skip
    assert (
        templates.render("{{ contact.city | default('您所在的城市') }}", context) == "您所在的城市"
    )
    assert templates.render("{{ city }}|{{ owner.name }}", context) == "|"
