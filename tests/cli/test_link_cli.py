"""`siyu link create|list`: short links from the command line, --json for scripts."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from siyu.cli.main import app

runner = CliRunner()


def siyu(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_link_create_and_list(database_url: str) -> None:
    code, out, _ = siyu(
        "link", "create", "双十一短信", "https://shop.example.cn/sale?sku=1",
        "--campaign", "双十一", "--utm-source", "sms", "--code", "d11", "--json",
    )  # fmt: skip
    assert code == 0, out
    created = json.loads(out)
    assert created["path"] == "/l/d11" and created["campaign"] == "双十一"
    assert created["redirect_url"].startswith("https://shop.example.cn/sale?sku=1&utm_source=sms&")
    code, out, _ = siyu("link", "create", "海报", "https://shop.example.cn/")
    assert code == 0 and "/l/" in out
    code, out, _ = siyu("link", "list", "--json")
    listed = json.loads(out)
    assert [row["name"] for row in listed] == ["海报", "双十一短信"]
    assert listed[1]["clicks"] == 0 and listed[1]["id"] == created["id"]
    code, out, _ = siyu("link", "list")
    assert code == 0 and "d11" in out


def test_link_errors_are_one_line(database_url: str) -> None:
    code, out, err = siyu("link", "create", "x", "javascript:alert(1)")
    assert code == 1 and "http" in err and "Traceback" not in out + err
    assert siyu("link", "create", "x", "https://a.cn", "--code", "a")[0] == 0
    code, _, err = siyu("link", "create", "y", "https://a.cn", "--code", "a")
    assert code == 1 and "taken" in err
