"""`siyu clv fit`, `siyu clv show CONTACT` and `siyu clv holdout`."""

from __future__ import annotations

from datetime import date

import typer
from rich.table import Table

from siyu.analytics.clv import service
from siyu.analytics.clv.holdout import holdout
from siyu.cli.output import console, print_json
from siyu.db.session import unit_of_work
from siyu.errors import Invalid
from siyu.kit.actor import Actor
from siyu.kit.normalize import fen_to_yuan

app = typer.Typer(help="Customer lifetime value (BG/NBD + Gamma-Gamma).", no_args_is_help=True)

FIT_KEYS = ("customers", "repeat_buyers", "unit", "seconds", "bgnbd", "gamma_gamma")


def _date(text: str, option: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


@app.command("fit")
def fit_command(
    until: str = typer.Option(
        "", "--until", help="Calibration end: fit on the orders placed up to this date (today)."
    ),
    unit: str = typer.Option("", "--unit", help="Time unit of the fit: day or week."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Fit both models on the orders, score every buyer and store the predictions."""
    end = _date(until, "--until")
    with unit_of_work() as session:
        result = service.fit_for(session, actor=Actor.cli(), until=end, unit=unit or None)
    if json_output:
        print_json({key: result[key] for key in FIT_KEYS})
        return
    bg, gg = result["bgnbd"], result["gamma_gamma"]
    console.print(
        f"fitted {result['customers']:,} buyers ({result['repeat_buyers']:,} repeat) up to "
        f"{result['calibration_end']} in {result['seconds']} s, unit {result['unit']}",
        highlight=False,
    )
    console.print(
        f"BG/NBD r={bg['r']:.4f} alpha={bg['alpha']:.4f} a={bg['a']:.4f} b={bg['b']:.4f} "
        f"log-likelihood {bg['log_likelihood']:.2f}",
        highlight=False,
    )
    console.print(
        f"Gamma-Gamma p={gg['p']:.4f} q={gg['q']:.4f} gamma={gg['gamma']:.4f} "
        f"log-likelihood {gg['log_likelihood']:.2f}",
        highlight=False,
    )


@app.command("show")
def show_command(
    contact: str = typer.Argument(..., help="Contact id or identity (phone:138…)"),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """One buyer's stored predictions from the last fit."""
    with unit_of_work() as session:
        data = service.prediction_for(session, actor=Actor.cli(), ref=contact)
    if json_output:
        print_json(data)
        return
    table = Table("", "", show_header=False)
    table.add_row("P(alive)", f"{data['p_alive']:.1%}")
    table.add_row(
        f"expected purchases ({data['horizon_days']} days)", f"{data['expected_purchases']:.2f}"
    )
    table.add_row("expected spend ¥", fen_to_yuan(data["expected_spend"]))
    table.add_row(f"CLV ({data['months']} months) ¥", fen_to_yuan(data["clv"]))
    table.add_row(
        f"repeat purchases / recency / age ({data['unit']})",
        f"{data['frequency']} / {data['recency']:.2f} / {data['age']:.2f}",
    )
    table.add_row("fitted at", str(data["fitted_at"]))
    console.print(table)


@app.command("holdout")
def holdout_command(
    until: str = typer.Option(..., "--until", help="Calibration end (YYYY-MM-DD)."),
    holdout_end: str = typer.Option("", "--holdout-end", help="End of the holdout period (today)."),
    unit: str = typer.Option("", "--unit", help="Time unit of the fit: day or week."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Fit up to --until; predicted against actual purchases after it, per calibration
    frequency."""
    with unit_of_work() as session:
        data = holdout(
            session,
            actor=Actor.cli(),
            until=_date(until, "--until"),
            holdout_end=_date(holdout_end, "--holdout-end"),
            unit=unit or None,
        )
    if json_output:
        print_json(data)
        return
    console.print(
        f"calibration to {data['calibration_end']}, holdout to {data['holdout_end']}: "
        f"{data['actual_total']:,} purchases, {data['predicted_total']:,.1f} predicted",
        highlight=False,
    )
    table = Table("repeat purchases", "buyers", "actual (mean)", "predicted (mean)")
    for row in data["rows"]:
        actual, predicted = row["actual"], row["predicted"]
        table.add_row(
            row["frequency"],
            f"{row['customers']:,}",
            "-" if actual is None else f"{actual:.3f}",
            "-" if predicted is None else f"{predicted:.3f}",
        )
    console.print(table)
