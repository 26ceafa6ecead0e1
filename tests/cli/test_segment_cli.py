"""`siyu segment …`: counts for scripts, one-line errors with a caret, lists kept current."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from siyu.cli.main import app
from siyu.contacts import service as contacts
from siyu.db.session import unit_of_work
from siyu.kit.actor import Actor

runner = CliRunner()


def siyu(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def people() -> None:
    with unit_of_work() as session:
        for number, (name, city) in enumerate(
            [("王芳", "杭州"), ("李伟", "上海"), ("赵敏", "杭州")]
        ):
            contacts.create_contact(
                session, actor=Actor.cli(), identities=[f"phone:1380013800{number}"],
                name=name, city=city, tags=["VIP"] if number else [],
            )  # fmt: skip


def test_count_prints_count_and_sql_ms(database_url: str) -> None:
    people()
    code, out, _ = siyu("segment", "count", 'city = "杭州"', "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["count"] == 2 and isinstance(data["sql_ms"], float)
    code, out, _ = siyu("segment", "count", 'tag("VIP") and city = "杭州"', "--sample", "5")
    assert code == 0 and "1 contacts" in out and "赵敏" in out


def test_a_wrong_query_is_one_line_and_a_caret(database_url: str) -> None:
    code, out, err = siyu("segment", "count", 'tag("VIP") and cty = "杭州"')
    assert code == 1 and "Traceback" not in out + err
    assert "line 1, column 16: unknown field 'cty'; did you mean 'city'?" in err
    lines = err.splitlines()
    caret = next(line for line in lines if line.strip() == "^")
    assert caret.index("^") == lines[lines.index(caret) - 1].index("cty")
    code, _, err = siyu("segment", "count")
    assert code == 1 and "give a query" in err


def test_create_list_show_members_export_and_lists(database_url: str, tmp_path: Path) -> None:
    people()
    code, out, _ = siyu(
        "segment", "create", "杭州VIP", "-q", 'city = "杭州" and tag("VIP")', "--json"
    )
    assert code == 0, out
    assert json.loads(out)["member_count"] == 1
    code, out, _ = siyu("segment", "list", "--json")
    assert [row["name"] for row in json.loads(out)] == ["杭州VIP"]
    code, out, _ = siyu("segment", "show", "杭州VIP")
    assert code == 0 and 'city = "杭州" and tag("VIP")' in out
    code, out, _ = siyu("segment", "members", "杭州VIP", "--json")
    assert [m["name"] for m in json.loads(out)["items"]] == ["赵敏"]
    target = tmp_path / "members.csv"
    code, _, err = siyu("segment", "export", "杭州VIP", "-o", str(target))
    assert code == 0 and "1 members written" in err
    assert "phone:+8613800138002" in target.read_text(encoding="utf-8")
    refs = tmp_path / "refs.txt"
    refs.write_text("phone:13800138000\nphone:13800138001\n", encoding="utf-8")
    code, out, _ = siyu("segment", "create", "投诉", "--static", "--members", str(refs))
    assert code == 0 and "2 members" in out
    code, out, _ = siyu("segment", "remove", "投诉", "phone:13800138000")
    assert code == 0 and "1 removed; 1 members" in out
    code, _, err = siyu("segment", "add", "投诉", "phone:13999999999")
    assert code == 1 and "name no contact" in err
    code, out, _ = siyu("segment", "history", "投诉", "--json")
    assert sorted(row["exit_reason"] or "" for row in json.loads(out)) == ["", "removed"]
    code, _, err = siyu("segment", "show", "杭州vip")
    assert code == 1 and "did you mean '杭州VIP'" in err
    code, out, _ = siyu("segment", "update", "杭州VIP", "-q", 'city = "杭州"', "--json")
    assert json.loads(out)["member_count"] == 2
    # The contact taken off the list waits to be looked at by segments built on lists.
    code, out, _ = siyu("segment", "refresh", "--json")
    assert code == 0 and json.loads(out) == {"contacts": 1}
    assert json.loads(siyu("segment", "refresh", "--json")[1]) == {"contacts": 0}
    code, out, _ = siyu("segment", "delete", "投诉")
    assert code == 0 and "deleted" in out
