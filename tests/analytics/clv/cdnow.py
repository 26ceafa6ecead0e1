"""The CDNOW sample (Fader & Hardie's 2,357 customers of 1997–98) as a Siyu order CSV.

The transactions ship in the `lifetimes` wheel; only the file is read from there (its dataset
loader breaks with current setuptools). Each line is one purchase: master id, sample id
(1–2357), date (YYYYMMDD), CDs bought, dollars. Dollars become yuan one for one: the models do
not care about the currency, and the published spend estimates are then read in yuan.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

HEADER = ("order_id", "platform", "placed_at", "status", "total", "currency", "customer")
CALIBRATION_END = "1997-09-30"
HOLDOUT_END = "1998-06-30"


def sample_path() -> Path:
    spec = importlib.util.find_spec("lifetimes")
    assert spec and spec.submodule_search_locations, "lifetimes (a test dependency) is missing"
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_sample.txt"


def write_orders_csv(target: Path) -> int:
    """The sample as the canonical order CSV `siyu import` reads; returns the rows written."""
    lines = sample_path().read_text().split("\n")
    rows = [line.split() for line in lines if line.strip()]
    with target.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for number, (_, customer, day, _, dollars) in enumerate(rows, start=1):
            placed = f"{day[:4]}-{day[4:6]}-{day[6:]}"
            writer.writerow(
                (f"cdnow-{number}", "web", placed, "completed", dollars, "CNY",
                 f"external_id:cdnow-{customer}")
            )  # fmt: skip
    return len(rows)
