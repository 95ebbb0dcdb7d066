"""A worker killed with SIGKILL at random moments, over and over: whole blocks or nothing."""

import os
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from .harness import (
    check_invariants,
    expected_due,
    invoice_count,
    seed,
    start_worker,
    stop,
    wait_until,
)

pytestmark = pytest.mark.slow

KILLS = 22


def test_a_worker_killed_22_times_mid_run_leaves_whole_invoices_and_no_gap(databases, tmp_path):
    # Given contracts with months of missed periods (a long catch-up run), in two series
    url = databases.fresh()
    first = (datetime.now(UTC) - timedelta(days=60, hours=1)).isoformat()
    # (3,000: the engine issues a 20-contract block in a few ms, 22 kills must not end the run)
    seed(url, "--contracts", "3000", "--series", "2", "--first", first, "--backdate-every", "3",
         "--backdate-days", "60")  # fmt: skip
    target = sum(expected_due(url, datetime.now(UTC)).values())
    rnd = random.Random(int(os.environ.get("FAULTS_SEED", time.time_ns() % 10**6)))
    log = tmp_path / "worker.log"

    # When a worker is SIGKILLed at a random moment once it is writing, then restarted, 22 times
    kills = 0
    while kills < KILLS:
        before = invoice_count(url)
        assert before < target, f"the run finished after {kills} kills; seed more contracts"
        w = start_worker(url, "--batch-size", "20", log=log)
        # "writing" = it has committed a block; then a random instant, usually inside the next one
        assert wait_until(lambda b=before: invoice_count(url) > b, 30, 0.02, procs=[w])
        time.sleep(rnd.uniform(0, 0.25))
        w.kill()
        w.wait()
        kills += 1
        # Then, right after each crash, nothing is half-written nor numbered out of turn
        check_invariants(url, as_of=datetime.now(UTC), complete=False)

    # And two restarted workers finish the run: every due period once, every series gapless
    workers = [start_worker(url, "--batch-size", "50", log=log) for _ in range(2)]
    try:
        done = wait_until(lambda: invoice_count(url) >= target, 120, 0.3, procs=workers)
    finally:
        codes = stop(workers)
    assert done and codes == [0, 0]
    assert check_invariants(url, as_of=datetime.now(UTC)).invoices == target
