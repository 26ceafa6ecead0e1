"""Exports of a large contact table: rows per second and the peak RSS of each format's export.

    python -m benchmarks.exports [CONTACTS]      # this section alone, printed, not recorded

The contact table is filled in SQL (a recursive CTE, as benchmarks/rfm.py does): Chinese names,
NULL cities on a share of rows, JSON traits, money and times, so every writer's conversions are
exercised. Each format is exported by `siyu export contact --format F --out FILE` in a process
of its own, started by a small measuring process that reads the export's peak RSS with
getrusage(RUSAGE_CHILDREN): the figure is the whole command's, interpreter and imports included.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from siyu.db.session import make_engine

FORMATS = ("csv", "jsonl", "parquet")
TARGET_PEAK_RSS_MB = 300
SIYU = Path(sys.executable).with_name("siyu")

_CONTACTS = """
INSERT INTO contact (id, name, phone_hint, city, province, source, traits, created_at,
    updated_at, order_count, total_spent, refunded_amount, average_order_value, first_order_at,
    last_order_at, platforms, lifecycle_stage)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :contacts)
SELECT i,
    substr('王李张刘陈杨黄赵吴周', i % 10 + 1, 1) || substr('伟芳娜秀英敏静丽强磊', i % 7 + 1, 1)
        || CASE WHEN i % 3 = 0 THEN '明' ELSE '' END,
    '138****' || printf('%04d', i % 10000),
    CASE WHEN i % 7 = 0 THEN NULL ELSE substr('杭州上海北京广州深圳成都', (i % 6) * 2 + 1, 2) END,
    CASE WHEN i % 7 = 0 THEN NULL ELSE '浙江' END,
    CASE i % 3 WHEN 0 THEN 'taobao' WHEN 1 THEN 'jd' ELSE 'douyin' END,
    '{"肤质": "干性", "积分": ' || (i % 1000) || ', "会员": ' ||
        CASE WHEN i % 5 = 0 THEN 'true' ELSE 'false' END || '}',
    strftime('%Y-%m-%d %H:%M:%S', 1700000000 + i * 37, 'unixepoch') || '.000000',
    strftime('%Y-%m-%d %H:%M:%S', 1700000000 + i * 41, 'unixepoch') || '.000000',
    i % 5, (i % 5) * 12990, 0, CASE WHEN i % 5 = 0 THEN 0 ELSE 12990 END,
    CASE WHEN i % 5 = 0 THEN NULL
        ELSE strftime('%Y-%m-%d %H:%M:%S', 1690000000 + i * 29, 'unixepoch') || '.000000' END,
    CASE WHEN i % 5 = 0 THEN NULL
        ELSE strftime('%Y-%m-%d %H:%M:%S', 1710000000 + i * 13, 'unixepoch') || '.000000' END,
    CASE WHEN i % 5 = 0 THEN '' ELSE 'jd,taobao' END,
    CASE WHEN i % 5 = 0 THEN 'lead' ELSE 'repeat' END
FROM n
"""


def build(path: Path, contacts: int, fresh_database: Any) -> float:
    started = time.perf_counter()
    url = fresh_database(path)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(_CONTACTS), {"contacts": contacts})
    engine.dispose()
    return time.perf_counter() - started


def measure_one(url: str, fmt: str, out: Path) -> dict[str, Any]:
    """Run in the measuring process: one export as a child, its time and peak RSS."""
    env = {**os.environ, "SIYU_DATABASE_URL": url, "SIYU_SECRET_KEY": "bench"}
    command = [str(SIYU), "export", "contact", "--format", fmt, "--out", str(out)]
    started = time.perf_counter()
    child = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if child.returncode:
        raise RuntimeError(f"the {fmt} export failed:\n{child.stderr[-3000:]}")
    # Linux reports ru_maxrss in KiB.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "peak_rss_mb": peak, "bytes": out.stat().st_size}


def measure(data: Path, contacts: int, fresh_database: Any) -> dict[str, Any]:
    path = data / f"exports-{contacts}.db"
    url = f"sqlite:///{path}"
    build_seconds = None
    if not path.exists():
        build_seconds = build(path, contacts, fresh_database)
        print(f"  filled {contacts:,} contacts in {build_seconds:.0f} s (kept for later runs)")
    result: dict[str, Any] = {"contacts": contacts, "build_seconds": build_seconds, "formats": {}}
    for fmt in FORMATS:
        out = data / f"exports-out.{fmt}"
        try:
            # A measuring process per format, so each peak is that export's alone.
            child = subprocess.run(
                [sys.executable, "-m", "benchmarks.exports", "--one", url, fmt, str(out)],
                capture_output=True,
                text=True,
                cwd=Path(__file__).resolve().parents[1],
            )
            if child.returncode:
                raise RuntimeError(child.stderr[-3000:])
            figures = json.loads(child.stdout.strip().splitlines()[-1])
        finally:
            out.unlink(missing_ok=True)
        figures["rows_per_second"] = contacts / figures["seconds"]
        result["formats"][fmt] = figures
        print(
            f"  {fmt}: {figures['rows_per_second']:,.0f} rows/s, peak RSS "
            f"{figures['peak_rss_mb']:.0f} MB, {figures['bytes'] / 1e6:.0f} MB written"
        )
    return result


def lines(result: dict[str, Any] | None, verdict: Any) -> list[str]:
    head = ["## Exports", ""]
    if result is None:
        return [*head, "Not measured in this run.", ""]
    rows = [
        f"| {fmt} | {f['rows_per_second']:,.0f} | {f['seconds']:.1f} s "
        f"| {f['bytes'] / 1e6:,.0f} MB | {f['peak_rss_mb']:.0f} MB | ≤ {TARGET_PEAK_RSS_MB} MB | "
        f"{verdict(f['peak_rss_mb'] <= TARGET_PEAK_RSS_MB)} |"
        for fmt, f in result["formats"].items()
    ]
    return [
        *head,
        "`siyu export contact --format F --out FILE` on a SQLite database of",
        f"{result['contacts']:,} contacts (filled in SQL: Chinese names, NULLs, JSON traits,",
        "money, times), one process per format; the time is the whole command's, start-up",
        "included, and the peak RSS is the command's `ru_maxrss` as its parent sees it",
        "(RUSAGE_CHILDREN).",
        "",
        "| format | rows per second | time | file | peak RSS | target | |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        _, _, url, fmt, out = sys.argv
        print(json.dumps(measure_one(url, fmt, Path(out))))
        return
    from benchmarks.run import DATA, fresh_database, verdict

    DATA.mkdir(parents=True, exist_ok=True)
    contacts = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    result = measure(DATA, contacts, fresh_database)
    print("\n".join(lines(result, verdict)))


if __name__ == "__main__":
    main()
