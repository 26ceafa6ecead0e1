"""`siyu channel …` and `siyu campaign …` for scripts: JSON out, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from siyu.cli.main import app
from siyu.db.session import get_engine
from siyu.worker import runner as worker
from tests.engage.keeping import add_people

runner = CliRunner()


def siyu(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_campaign_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    add_people(3)
    add_people(1, consent=False)
    code, out, err = siyu(
        "channel", "add", "email", "--smtp-host", "127.0.0.1", "--smtp-port", "2525",
        "--tls", "none", "--from", "shop@example.com", "--password-env", "SMTP_PASSWORD",
        "--user", "shop", "--json",
    )  # fmt: skip
    assert code == 0, err
    channel = json.loads(out)
    assert channel["config"]["password_env"] == "SMTP_PASSWORD" and "password" not in channel
    body = tmp_path / "body.txt"
    body.write_text("{{ name }}，上新了 {{ unsubscribe_url }}", encoding="utf-8")
    code, out, err = siyu(
        "campaign", "send", "--segment", "order_count >= 0", "--channel", "email",
        "--subject", "上新", "--body-file", str(body), "--json",
    )  # fmt: skip
    assert code == 0, err
    sent = json.loads(out)
    assert sent["recipients"] == 4 and sent["state"] == "scheduled"
    assert worker.run_once(get_engine())  # the start job writes the messages
    code, out, _ = siyu("campaign", "stats", str(sent["id"]), "--json")
    stats = json.loads(out)
    keys = {"queued", "sent", "failed", "suppressed", "unknown", "clicked", "converted"}
    assert keys <= set(stats)
    assert (stats["recipients"], stats["queued"], stats["sent"]) == (4, 4, 0)


def test_mistakes_are_one_line_errors(database_url: str) -> None:
    code, _, err = siyu("channel", "add", "email", "--smtp-host", "h", "--from", "not-an-address")
    assert code == 1 and "from_address" in err and "Traceback" not in err
    code, _, err = siyu("channel", "add", "webhook", "--smtp-host", "h")
    assert code == 1 and "for email channels" in err
    code, _, err = siyu(
        "campaign", "send", "--segment", "cty = 1", "--channel", "email", "--body", "x"
    )
    assert code == 1 and "no channel 'email'" in err
    siyu("channel", "add", "email", "--smtp-host", "h", "--from", "shop@example.com")
    code, _, err = siyu(
        "campaign", "send", "--segment", "cty = 1", "--channel", "email", "--body", "x"
    )
    assert code == 1 and "unknown field 'cty'" in err
    code, _, err = siyu("campaign", "stats", "999")
    assert code == 1 and "no campaign 999" in err
