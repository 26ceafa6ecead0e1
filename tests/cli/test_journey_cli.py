"""`siyu journey …`: create from a file, validate with paths, switch on, stats, ready."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from siyu.cli.main import app
from siyu.db.session import unit_of_work
from siyu.engage.models import EngageChannel

runner = CliRunner()


def siyu(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def channel() -> int:
    with unit_of_work() as session:
        row = EngageChannel(name="短信", kind="sms", config={})
        session.add(row)
        session.flush()
        return row.id


def test_create_validate_activate_and_stats(database_url: str, tmp_path: Path) -> None:
    sms = channel()
    path = tmp_path / "j.json"
    bad = {"name": "试试", "definition": {"trigger": {"type": "order_placed"},
           "steps": [{"id": "w", "type": "wait", "duration": "2x"}]}}  # fmt: skip
    path.write_text(json.dumps(bad), encoding="utf-8")
    code, _out, err = siyu("journey", "validate", "--file", str(path))
    assert code == 1 and "steps[0].duration" in err and "Traceback" not in err
    bad["definition"]["steps"][0]["duration"] = "2d"
    bad["definition"]["steps"].append({"id": "s", "type": "send", "channel_id": sms, "body": "hi"})
    path.write_text(json.dumps(bad), encoding="utf-8")
    code, out, _ = siyu("journey", "create", "--file", str(path), "--json")
    assert code == 0, out
    made = json.loads(out)
    code, out, _ = siyu("journey", "activate", str(made["id"]))
    assert code == 0 and "is active" in out
    code, out, _ = siyu("journey", "list", "--json")
    assert [j["state"] for j in json.loads(out)] == ["active"]
    code, out, _ = siyu("journey", "stats", "试试", "--json")
    assert [s["step"] for s in json.loads(out)["steps"]] == ["w", "s"]
    code, out, _ = siyu("journey", "stats", "试试")
    assert code == 0 and "entered" in out
    code, out, _ = siyu("journey", "pause", "试试")
    assert code == 0 and "paused" in out
    code, out, _ = siyu("journey", "show", "试试")
    assert code == 0 and "version 1" in out


def test_ready_makes_a_draft(database_url: str) -> None:
    sms = channel()
    code, out, _ = siyu("journey", "ready", "welcome", "--channel", str(sms), "--json")
    assert code == 0, out
    made = json.loads(out)
    assert made["state"] == "draft" and made["name"] == "新线索欢迎旅程"
    code, out, _ = siyu("journey", "validate", str(made["id"]), "--json")
    assert code == 0 and json.loads(out)["valid"] is True
    code, _out, err = siyu("journey", "ready", "nope", "--channel", str(sms))
    assert code == 1 and "no ready journey" in err
