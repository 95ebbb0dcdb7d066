"""How long each migration takes on a populated PostgreSQL, i.e. the longest it can lock a table.

Django runs each migration in its own transaction on PostgreSQL, so the locks a migration takes
are held at most as long as the migration runs. The benchmark fills a database (contracts billed
into invoices, lines, balances, e-Factura rows and outbox rows), then rolls every migration added
since ``--since`` back and applies them again one at a time, timing each forward step.

    .venv/bin/python bench/migrations.py --contracts 100000 --since 4d2c945 \\
        --db postgresql://postgres@127.0.0.1:5432/recurent_bench_mig

Results go to docs/operations.md ("Migrations on a populated database").
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def sh(env: dict[str, str], *args: str, timeout: float = 3600) -> str:
    p = subprocess.run([PY, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                       timeout=timeout)  # fmt: skip
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{p.stderr[-3000:]}")
    return p.stdout


def new_migrations(since: str) -> list[tuple[str, str]]:
    """(app label, migration name) of the migration files added since the commit, in file order."""
    out = subprocess.run(
        ["git", "diff", "--name-only", "--diff-filter=A", since, "--", "recurent/*/migrations/0*.py"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    found = []
    for path in sorted(out):
        parts = Path(path).parts  # recurent/<app>/migrations/<name>.py
        found.append((parts[1], Path(path).stem))
    return found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contracts", type=int, default=100_000)
    ap.add_argument("--since", required=True, help="a commit: time the migrations added after it")
    ap.add_argument("--db", required=True, help="a PostgreSQL URL; the database is recreated")
    ap.add_argument("--workers", type=int, default=2)
    o = ap.parse_args()
    import psycopg

    name = o.db.rsplit("/", 1)[1]
    with psycopg.connect(o.db.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    env = dict(os.environ, DATABASE_URL=o.db, DJANGO_SETTINGS_MODULE="recurent.settings.test")
    t0 = time.monotonic()
    sh(env, "bench/generate.py", "--contracts", str(o.contracts), "--first",
       "2026-11-01T09:00", "--quiet")  # fmt: skip
    workers = [
        subprocess.Popen([PY, "-m", "recurent.cli", "bill", "--as-of", "2026-11-01T10:00"],
                         env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(o.workers)
    ]  # fmt: skip
    for w in workers:
        w.wait()
    with psycopg.connect(o.db) as c:
        counts = {t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
                  for t in ("invoices_invoice", "invoices_invoiceline", "payments_invoicebalance",
                            "mail_outboxmessage")}  # fmt: skip
        c.execute("ANALYZE")
    print(f"filled in {time.monotonic() - t0:.0f} s: {counts}")
    todo = new_migrations(o.since)
    if not todo:
        raise SystemExit(f"no migration was added since {o.since}")
    # Back to the state before the first new migration of each app (latest apps first).
    firsts: dict[str, str] = {}
    for app, mig in todo:
        firsts.setdefault(app, mig)
    for app, mig in reversed(list(firsts.items())):
        number = int(mig.split("_", 1)[0])
        target = "zero" if number == 1 else f"{number - 1:04d}"
        sh(env, "-m", "recurent.cli", "migrate", app, target, "--skip-checks", "-v0")
    # Forward again in the order Django plans (dependencies first), one migration a step.
    plan = sh(env, "-m", "recurent.cli", "migrate", "--plan", "--skip-checks")
    ordered = [tuple(line.strip().split(".", 1)) for line in plan.splitlines()
               if line and not line[0].isspace() and "." in line and " " not in line.strip()]  # fmt: skip
    print(f"{'migration':60} {'seconds':>8}")
    worst = 0.0
    for app, mig in ordered:
        t = time.monotonic()
        sh(env, "-m", "recurent.cli", "migrate", app, mig, "--skip-checks", "-v0")
        dt = time.monotonic() - t
        worst = max(worst, dt)
        print(f"{app + '.' + mig:60} {dt:8.2f}")
    print(f"longest: {worst:.2f} s (includes ~1 s of process start per step)")


if __name__ == "__main__":
    main()
