"""Bill N contracts with fixed lines, then the same N with every line variable (usage recorded,
tiers and a minimum charge): what variable quantities cost the billing run. Run by hand:

    .venv/bin/python bench/usage.py --contracts 5000 [--rounds 2]

SQLite files under /tmp/recurent_bench_usage/. One template (bench/generate.py) is copied per
run; runs alternate fixed / variable so that the machine's load falls on both alike. Each run is
``recurent bill --as-of FIRST`` in one process; reported: wall time and invoices/s, and, for the
variable runs, that every usage record is on its invoice. Results: docs/benchmarks/usage.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults.harness import connect, env_for, rows  # noqa: E402

RECURENT = [sys.executable, "-m", "recurent.cli"]
DIR = Path("/tmp/recurent_bench_usage")
TIERS = '[{"up_to": "100", "unit_price": "1.5"}, {"up_to": null, "unit_price": "1.2"}]'


def sh(url: str, *args: str) -> None:
    p = subprocess.run(list(args), env=env_for(url), cwd=ROOT, capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"{' '.join(args[:4])}: {p.stderr[-3000:]}")


def template(n: int, first: str) -> Path:
    DIR.mkdir(exist_ok=True)
    path = DIR / f"tpl_{n}.sqlite3"
    if not path.exists():
        url = f"sqlite:///{path}"
        sh(url, *RECURENT, "migrate", "-v0")
        sh(url, sys.executable, str(ROOT / "bench" / "generate.py"), "--no-migrate", "--quiet",
           "--contracts", str(n), "--first", first, "--auto-email", "0")  # fmt: skip
    return path


def make_variable(url: str) -> int:
    """Every line variable (tiers, a minimum) with usage for the first period."""
    now = datetime.now(UTC).isoformat()
    with connect(url) as c:
        c.execute(f"UPDATE contracts_contractline SET variable = 1, tiers = '{TIERS}', "
                  "minimum_charge = 20")  # fmt: skip
        lines = c.execute("SELECT contract_id, position FROM contracts_contractline").fetchall()
        c.executemany(
            "INSERT INTO contracts_usagerecord (contract_id, line_position, period_index, "
            "quantity, key, source, recorded_at) VALUES (?, ?, 0, ?, '', 'api', ?)",
            [(cid, pos, str(50 + (cid * 37 + pos) % 200), now) for cid, pos in lines],
        )
        c.commit()
    return len(lines)


def bill(url: str, first: str) -> float:
    t = time.perf_counter()
    sh(url, *RECURENT, "bill", "--as-of", first)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contracts", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--first", default="2026-12-01T09:00")
    a = ap.parse_args()
    tpl = template(a.contracts, a.first)
    times: dict[str, list[float]] = {"fixed": [], "variable": []}
    for r in range(a.rounds):
        for kind in ("fixed", "variable"):
            path = DIR / f"run_{kind}.sqlite3"
            shutil.copyfile(tpl, path)
            url = f"sqlite:///{path}"
            sh(url, *RECURENT, "migrate", "-v0")
            records = make_variable(url) if kind == "variable" else 0
            s = bill(url, a.first)
            n = rows(url, "SELECT COUNT(*) FROM invoices_invoice")[0][0]
            assert n == a.contracts, f"{kind}: {n} invoices of {a.contracts}"
            if records:
                on = rows(url, "SELECT COUNT(*) FROM contracts_usagerecord WHERE invoice_id > 0")
                assert on == [(records,)], f"{on[0][0]} of {records} usage records invoiced"
            times[kind].append(s)
            print(f"round {r + 1} {kind}: {s:.1f} s, {n / s:.0f} invoices/s"
                  + (f", {records} usage records" if records else ""))  # fmt: skip
    for kind, ts in times.items():
        print(f"{kind}: median {statistics.median(ts):.1f} s "
              f"({a.contracts / statistics.median(ts):.0f} invoices/s)")  # fmt: skip


if __name__ == "__main__":
    main()
