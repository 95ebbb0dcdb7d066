"""Four `recurent worker` processes share one run on PostgreSQL: each period once, no gap."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from .harness import (
    check_invariants,
    expected_due,
    invoice_count,
    is_postgres,
    seed,
    start_worker,
    stop,
    wait_until,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not is_postgres(),
        reason="workers share a run through PostgreSQL's SKIP LOCKED; on SQLite, "
        "test_concurrent_runs covers concurrent runs (SQLite has one writer at a time)",
    ),
]


def test_four_workers_bill_2000_contracts_each_period_once_gapless_in_date_order(
    databases, tmp_path
):
    # Given 2,000 contracts in three series, due an hour ago; every 4th one 60 days behind (catch-up)
    url = databases.fresh()
    first = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    seed(url, "--contracts", "2000", "--series", "3", "--first", first,
         "--backdate-every", "4", "--backdate-days", "60")  # fmt: skip
    target = sum(expected_due(url, datetime.now(UTC)).values())
    assert target > 2000

    # When four workers run against the same database until nothing is due
    logs = [tmp_path / f"worker{i}.log" for i in range(4)]
    workers = [start_worker(url, "--batch-size", "25", log=log) for log in logs]
    try:
        done = wait_until(lambda: invoice_count(url) >= target, 150, 0.5, procs=workers)
    finally:
        codes = stop(workers)

    # Then every due period is invoiced exactly once, numbered 1..n per series in date order
    assert done, f"{invoice_count(url)} of {target} invoices after 150 s"
    assert codes == [0, 0, 0, 0], "a worker did not stop cleanly on SIGTERM"
    state = check_invariants(url, as_of=datetime.now(UTC))
    assert state.invoices == target
    # and the work was shared: the workers' own counts add up, and more than one did some
    issued = [int(re.findall(r"issued (\d+) invoice", log.read_text())[-1]) for log in logs]
    assert sum(issued) == target
    assert sum(1 for n in issued if n > 0) >= 2, issued
