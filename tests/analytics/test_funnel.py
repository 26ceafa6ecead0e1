"""The lead-to-deal funnel on a small known pool: one person at each stage, per source."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from siyu.analytics.funnel import funnel
from siyu.cli.main import app as cli_app
from siyu.contacts import lifecycle, service
from siyu.contacts.models import Contact
from siyu.db.session import unit_of_work
from siyu.db.types import utcnow
from siyu.ingest.service import import_file
from siyu.kit.actor import Actor
from siyu.staff.service import create_staff

ORDERS = """order_id,platform,placed_at,status,total,currency,customer,refunded
C1,taobao,2024-05-10 10:00,completed,100,CNY,taobao_nick:once,
R1,taobao,2024-05-11 10:00,completed,50,CNY,taobao_nick:twice,
R2,taobao,2024-06-20 10:00,paid,80,CNY,taobao_nick:twice,
P1,jd,2024-06-01 10:00,pending,20,CNY,jd_pin:pending,
X1,jd,2024-06-02 10:00,cancelled,20,CNY,jd_pin:pending,
"""


def seed(session: Session, tmp_path: Path) -> dict[str, Contact]:
    """A visitor (anonymous id only), a lead (a phone, from a form), a customer with one paid
    order, a repeat customer with two, and a shop account that never paid (a lead)."""
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS, encoding="utf-8")
    import_file(session, path)
    visitor = service.create_contact(session, actor=Actor.cli(), identities=["anonymous_id:a-1"])
    visitor.source = "events"
    lead = service.create_contact(
        session, actor=Actor.cli(), identities=["anonymous_id:a-2", "phone:13800138001"]
    )
    lead.source = "form"
    session.flush()
    return {
        "visitor": visitor,
        "lead": lead,
        "once": service.get_by_ref(session, "taobao_nick:once"),
        "twice": service.get_by_ref(session, "taobao_nick:twice"),
        "pending": service.get_by_ref(session, "jd_pin:pending"),
    }


def test_funnel_counts_each_stage_per_source(session: Session, tmp_path: Path) -> None:
    seed(session, tmp_path)
    data = funnel(session, actor=Actor.cli())
    assert data["steps"] == ["visitors", "leads", "first_order", "repeat_order"]
    total = data["total"]
    assert [total[s] for s in data["steps"]] == [5, 4, 2, 1]
    assert total["conversion"] == {"leads": 0.8, "first_order": 0.5, "repeat_order": 0.5}
    assert total["overall"] == 0.2
    # The orders are of 2024: both buyers are long past the churn horizon, and still count.
    assert total["stages"] == {
        "visitor": 1,
        "lead": 2,
        "new_customer": 0,
        "repeat": 0,
        "loyal": 0,
        "at_risk": 0,
        "churned": 2,
    }
    rows = {r["source"]: [r[s] for s in data["steps"]] for r in data["by_source"]}
    assert rows == {
        "taobao": [2, 2, 2, 1],
        "jd": [1, 1, 0, 0],
        "events": [1, 0, 0, 0],
        "form": [1, 1, 0, 0],
    }
    # Largest source first, then by name.
    assert [r["source"] for r in data["by_source"]] == ["taobao", "events", "form", "jd"]
    assert data["by_source"][1]["conversion"]["leads"] == 0.0


def test_funnel_agrees_with_each_contacts_lifecycle_stage(session: Session, tmp_path: Path) -> None:
    people = seed(session, tmp_path)
    stages = {name: lifecycle.stage(session, c) for name, c in people.items()}
    assert stages == {
        "visitor": "visitor",
        "lead": "lead",
        "once": "churned",
        "twice": "churned",
        "pending": "lead",
    }
    counted = funnel(session, actor=Actor.cli())["total"]["stages"]
    contacts = session.execute(select(Contact)).scalars()
    every = [lifecycle.stage(session, c) for c in contacts]
    assert counted == {stage: every.count(stage) for stage in lifecycle.STAGES}


def test_since_and_staff_scope(session: Session, tmp_path: Path) -> None:
    people = seed(session, tmp_path)
    assert (
        funnel(session, actor=Actor.cli(), since=utcnow() + timedelta(hours=1))["total"]["visitors"]
        == 0
    )
    assert (
        funnel(session, actor=Actor.cli(), since=utcnow() - timedelta(days=1))["total"]["visitors"]
        == 5
    )
    mei = create_staff(session, login="mei", role="staff", actor=Actor.cli())
    service.update_contact(
        session, contact=people["twice"], actor=Actor.cli(), changes={"owner": "mei"}
    )
    own = funnel(session, actor=Actor("staff:mei", staff_id=mei.id, role="staff"))
    assert [own["total"][s] for s in own["steps"]] == [1, 1, 1, 1]
    assert [r["source"] for r in own["by_source"]] == ["taobao"]


def test_an_empty_pool_has_no_rates(session: Session) -> None:
    data = funnel(session, actor=Actor.cli())
    assert data["by_source"] == []
    assert data["total"]["visitors"] == 0
    assert data["total"]["overall"] is None
    assert set(data["total"]["conversion"].values()) == {None}


def test_cli_funnel(database_url: str, tmp_path: Path) -> None:
    with unit_of_work() as session:
        seed(session, tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli_app, ["report", "funnel", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"since", "steps", "total", "by_source"}
    assert data["total"]["repeat_order"] == 1
    assert {r["source"] for r in data["by_source"]} == {"taobao", "jd", "events", "form"}
    table = runner.invoke(cli_app, ["report", "funnel"])
    assert table.exit_code == 0
    assert "taobao" in table.stdout and "20.0%" in table.stdout
    bad = runner.invoke(cli_app, ["report", "funnel", "--since", "someday"])
    assert bad.exit_code == 1
    assert "--since" in bad.output
