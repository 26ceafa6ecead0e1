"""One import in a process of its own, so its peak memory is its own: prints a JSON line.

python -m benchmarks.import_child DATABASE_URL FILE [--profile OUT.prof]
"""

from __future__ import annotations

import cProfile
import json
import resource
import sys
import time
from pathlib import Path

from sqlalchemy.orm import Session

from siyu.db.session import make_engine
from siyu.ingest.service import import_file


def main(argv: list[str]) -> None:
    url, path = argv[0], Path(argv[1])
    profile_to = argv[argv.index("--profile") + 1] if "--profile" in argv else None
    engine = make_engine(url)
    profiler = cProfile.Profile() if profile_to else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    with Session(engine) as session:
        summary = import_file(session, path, fmt="taobao", actor="benchmark")
        session.commit()
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile_to)
    seconds = time.perf_counter() - started
    engine.dispose()
    print(
        json.dumps(
            {
                "seconds": seconds,
                # Linux reports ru_maxrss in KiB. A large file is parsed by a process of its
                # own: both peaks are added, as if they had coincided.
                "peak_rss_mb": (
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                    + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                )
                / 1024,
                "importer_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "parser_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                "rows_read": summary.rows_read,
                "orders_created": summary.orders_created,
                "contacts_created": summary.contacts_created,
                "contacts_merged": summary.contacts_merged,
                "rows_rejected": summary.rows_rejected,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
