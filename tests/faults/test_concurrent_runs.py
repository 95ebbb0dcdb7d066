"""Two `recurent bill` runs at once, and time travel: safe, serialised, never twice.

Runs on the configured database: on SQLite (a file in WAL mode, in a tmp dir) the two runs
take turns through the IMMEDIATE write lock; on PostgreSQL they share the contracts
through SKIP LOCKED.
"""

import json
import subprocess
from datetime import datetime

import pytest

from recurent.engine.cycles import BUCHAREST

from .harness import (
    RECURENT,
    ROOT,
    check_invariants,
    env_for,
    expected_due,
    is_postgres,
    rows,
    run,
    seed,
)

pytestmark = pytest.mark.slow

T1 = datetime(2026, 10, 1, 9, 0, tzinfo=BUCHAREST)
T2 = datetime(2026, 11, 15, 9, 0, tzinfo=BUCHAREST)


def bill_concurrently(url: str, as_of: datetime, n: int = 2) -> list[dict]:
    cmd = [
        *RECURENT,
        "bill",
        "--skip-checks",
        "--as-of",
        as_of.isoformat(),
        "--json",
        "--batch-size",
        "50",
    ]
    procs = [subprocess.Popen(cmd, env=env_for(url), cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(n)]  # fmt: skip
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    return [json.loads(out) for out, _ in outs]


def bill(url: str, as_of: datetime) -> dict:
    p = run(url, "bill", "--skip-checks", "--as-of", as_of.isoformat(), "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_two_concurrent_bill_runs_issue_each_period_once_gapless(databases):
    # Given 1,500 contracts due on 1 October, a third of them since August (catch-up)
    url = databases.fresh()
    seed(url, "--contracts", "1500", "--series", "2", "--first", T1.isoformat(),
         "--backdate-every", "3", "--backdate-days", "60")  # fmt: skip
    due = sum(expected_due(url, T1).values())

    # When two runs as of the same instant start together
    a, b = bill_concurrently(url, T1)

    # Then together they issued every due period once, numbered without gaps
    assert a["issued"] + b["issued"] == due
    assert a["held"] == b["held"] == []
    assert check_invariants(url, as_of=T1).invoices == due
    if not is_postgres(url):
        ok = rows(url, "PRAGMA integrity_check")
        assert ok == [("ok",)]


def test_move_the_clock_run_twice_the_second_run_creates_nothing(databases):
    url = databases.fresh()
    seed(url, "--contracts", "300", "--series", "2", "--first", T1.isoformat(),
         "--backdate-every", "3", "--backdate-days", "60")  # fmt: skip

    # As of T1, twice in a row: the second run issues nothing
    first = bill(url, T1)
    assert first["issued"] == sum(expected_due(url, T1).values()) > 300
    assert bill(url, T1)["issued"] == 0
    # Move the clock six weeks on, two runs at once, then once more: only the new periods, once
    a, b = bill_concurrently(url, T2)
    assert a["issued"] + b["issued"] == sum(expected_due(url, T2).values()) - first["issued"] > 0
    assert bill(url, T2)["issued"] == 0
    # Back in time: nothing is due any more, nothing is issued, nothing breaks
    assert bill(url, T1)["issued"] == 0
    check_invariants(url, as_of=T2)
