"""Grouped clients (issue 18) under the fault tests: a worker SIGKILLed mid-run, then four."""

import os
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from .grouped import check_grouped, regroup
from .harness import expected_due, rows, seed, start_worker, stop, wait_until

pytestmark = pytest.mark.slow

KILLS = 4


def periods_invoiced(url: str) -> int:
    return rows(url, "SELECT COUNT(*) FROM invoices_invoiceperiod")[0][0]


def test_grouped_clients_survive_sigkills_and_four_workers_each_period_once(databases, tmp_path):
    # Given 1,200 contracts, four per client who wants one invoice; every 3rd one 60 days behind
    url = databases.fresh()
    first = (datetime.now(UTC) - timedelta(days=60, hours=1)).isoformat()
    seed(url, "--contracts", "1200", "--series", "2", "--first", first, "--backdate-every", "3",
         "--backdate-days", "60")  # fmt: skip
    assert regroup(url, 4) == 300
    target = sum(expected_due(url, datetime.now(UTC)).values())
    rnd = random.Random(int(os.environ.get("FAULTS_SEED", time.time_ns() % 10**6)))
    log = tmp_path / "worker.log"

    # When a worker is SIGKILLed at a random moment once it is writing, then restarted
    for _ in range(KILLS):
        before = periods_invoiced(url)
        assert before < target, "the run finished before the kills; seed more contracts"
        w = start_worker(url, "--batch-size", "20", log=log)
        assert wait_until(lambda b=before: periods_invoiced(url) > b, 30, 0.02, procs=[w])
        time.sleep(rnd.uniform(0, 0.25))
        w.kill()
        w.wait()
        # Then nothing is half-written, numbered out of turn nor invoiced twice
        check_grouped(url, as_of=datetime.now(UTC), complete=False)

    # And four workers finish the run: every due period on exactly one invoice, series gapless
    workers = [start_worker(url, "--batch-size", "25", log=log) for _ in range(4)]
    try:
        done = wait_until(lambda: periods_invoiced(url) >= target, 150, 0.3, procs=workers)
    finally:
        codes = stop(workers)
    assert done and codes == [0, 0, 0, 0]
    assert check_grouped(url, as_of=datetime.now(UTC)).invoices == target
