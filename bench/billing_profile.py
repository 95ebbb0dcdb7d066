"""Profile one billing run in this process (cProfile), on a copy of a bench template.

    .venv/bin/python bench/billing_profile.py --contracts 10000 [--db postgresql] [--top 30]

Uses the templates of bench/billing_run.py (run it once first to make them).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contracts", type=int, default=10000)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--suffix", default="", help="template name suffix, e.g. _s4")
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--top", type=int, default=35)
    ap.add_argument("--sort", default="cumulative")
    ap.add_argument("--out", default="/tmp/billing.prof")
    ap.add_argument("--pragma", action="append", default=[],
                    help="SQLite: run PRAGMA X first, e.g. --pragma cache_size=-65536")  # fmt: skip
    ap.add_argument("--no-profile", action="store_true", help="time only (no cProfile overhead)")
    ap.add_argument("--rss-every", type=int, default=0,
                    help="print RSS and the Python heap every N blocks (memory growth)")  # fmt: skip
    a = ap.parse_args()
    pid = os.getpid()
    if a.db == "sqlite":
        src = Path(f"/tmp/recurent_bench/tpl_{a.contracts}{a.suffix}.sqlite3")
        dst = Path(f"/tmp/recurent_bench/prof_{pid}.sqlite3")
        shutil.copyfile(src, dst)
        url = f"sqlite:///{dst}"
    else:
        import psycopg

        name = f"recurent_bench_prof_{pid}"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute(
                f'CREATE DATABASE "{name}" TEMPLATE "recurent_bench_tpl_{a.contracts}{a.suffix}"'
            )
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recurent.settings.test")
    import django

    django.setup()
    from django.core.management import call_command

    from recurent.engine.cycles import BUCHAREST
    from recurent.invoices.services import issue_due

    call_command("migrate", verbosity=0)
    from django.db import connection as conn

    with conn.cursor() as cur:
        for p in a.pragma:
            cur.execute(f"PRAGMA {p}")
    as_of = datetime(2026, 12, 1, 9, 0, tzinfo=BUCHAREST)
    from collections import defaultdict

    from django.db import connection

    sql_s: dict[str, float] = defaultdict(float)

    def timed(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_s[" ".join(sql.split()[:4])[:60]] += time.perf_counter() - t

    wrapper = connection.execute_wrapper(timed)
    wrapper.__enter__()
    prof = cProfile.Profile()
    progress = None
    if a.rss_every:
        import gc
        import resource

        blocks = [0]

        def progress(issued: int, held: int) -> None:
            blocks[0] += 1
            if blocks[0] % a.rss_every == 0:
                rss = int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(f"  {issued:7d} issued: RSS {rss:.0f} MB (peak {peak:.0f}), "
                      f"{len(gc.get_objects())} Python objects")  # fmt: skip

    t = time.perf_counter()
    if not a.no_profile:
        prof.enable()
    r = issue_due(as_of=as_of, batch_size=a.batch_size, progress=progress)
    prof.disable()
    wrapper.__exit__(None, None, None)
    wall = time.perf_counter() - t
    print(f"issued {r.issued} held {len(r.held)} in {wall:.2f} s: {r.issued / wall:.0f}/s")
    if not a.no_profile:
        prof.dump_stats(a.out)
        pstats.Stats(prof).sort_stats(a.sort).print_stats(a.top)
    print("SQL through Django's cursor (seconds; the engine's PostgreSQL inserts bypass it):")
    for k, v in sorted(sql_s.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {v:7.3f}  {k}")
    from django.db import connection

    connection.close()
    if a.db == "sqlite":
        for s in ("", "-wal", "-shm"):
            Path(str(dst) + s).unlink(missing_ok=True)
    else:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
