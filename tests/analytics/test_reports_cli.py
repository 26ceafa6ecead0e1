"""`siyu report repurchase|dashboard|cohorts|acquisition|returns` and `siyu spend …`, on a
database the commands open themselves."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from siyu.cli.main import app as cli_app
from tests.analytics.test_reports import ORDERS

cli = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = cli.invoke(cli_app, list(args))
    return result.exit_code, result.output


def test_reports_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS, encoding="utf-8")
    assert run("import", str(orders))[0] == 0
    code, out = run("report", "repurchase", "--json", "-p", "jd,taobao", "--since", "2025-01-01")
    assert code == 0, out
    data = json.loads(out)
    assert data["summary"]["repeat_buyers"] == 2
    assert data["scope"]["platforms"] == ["jd", "taobao"]
    code, out = run("report", "repurchase")
    assert code == 0 and "50.0%" in out and "within" in out
    code, out = run("report", "cohorts", "--since", "2025-01-01")
    assert code == 0 and "2025-01" in out and "100%" in out
    code, out = run("report", "cohorts", "--json", "--revenue")
    assert json.loads(out)["cohorts"]
    code, out = run("report", "dashboard")
    assert code == 0 and "median 49.0 days" in out
    code, out = run("report", "returns", "--json")
    assert code == 0 and json.loads(out)["campaigns"] == []


def test_spend_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS, encoding="utf-8")
    run("import", str(orders))
    code, out = run("spend", "set", "2025-01", "taobao", "¥300", "--note", "直通车")
    assert code == 0 and "2025-01 taobao: ¥300.00" in out
    sheet = tmp_path / "spend.csv"
    sheet.write_text("月份,渠道,金额\n2025-02,jd,90\n2025-02,jd\n", encoding="gbk")
    code, out = run("spend", "import", str(sheet))
    assert code == 0
    assert "spend.csv line 3: expected month,channel,amount[,note]" in out
    assert "1 entries saved, 1 lines left out" in out
    code, out = run("spend", "list", "--json")
    assert [(e["month"], e["channel"], e["amount"]) for e in json.loads(out)] == [
        ("2025-02", "jd", 9000),
        ("2025-01", "taobao", 30000),
    ]
    code, out = run("report", "acquisition", "--json")
    jd = next(r for r in json.loads(out)["by_month"] if r["channel"] == "jd" and r["spend"])
    assert jd["cost_per_customer"] == 9000
    code, out = run("report", "acquisition")
    assert code == 0 and "again on a platform: ¥97.50 (from spend entered)" in out
    assert run("spend", "set", "2025-13", "jd", "1") == (
        1,
        "error: month: '2025-13' is not a month like 2026-11\n",
    )
    code, out = run("spend", "set", "2025-01", "jd", "plenty")
    assert code == 1 and "amount" in out
    code, out = run("report", "dashboard", "--until", "someday")
    assert code == 1 and "until" in out
    assert run("spend", "import", str(tmp_path / "missing.csv"))[0] == 1
    entry = json.loads(run("spend", "list", "--json")[1])[0]["id"]
    assert run("spend", "delete", str(entry))[0] == 0
    assert run("spend", "delete", str(entry))[0] == 1
