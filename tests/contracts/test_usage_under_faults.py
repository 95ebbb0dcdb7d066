"""Usage under four workers and SIGKILL: each record on exactly one invoice, its period's."""

import os
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.faults.harness import (
    check_invariants,
    connect,
    expected_due,
    invoice_count,
    is_postgres,
    rows,
    seed,
    start_worker,
    stop,
    wait_until,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not is_postgres(), reason="workers share a run through PostgreSQL's SKIP LOCKED"
    ),
]

# Usage per period (periods without usage take the default quantity 1).
USED = {0: "3.5000", 1: "2.2500"}


def _add_usage(url: str) -> int:
    """Every line variable (default 1 when a period has no usage), and usage for periods 0 and
    1 of every line, written as contracts.usage would."""
    now = datetime.now(UTC)
    with connect(url) as c:
        c.execute("UPDATE contracts_contractline SET variable = TRUE, default_quantity = 1")
        c.execute("UPDATE contracts_contract SET missing_usage = 'default'")
        lines = c.execute("SELECT contract_id, position FROM contracts_contractline").fetchall()
        c.cursor().executemany(
            "INSERT INTO contracts_usagerecord (contract_id, line_position, period_index, "
            "quantity, key, source, recorded_at) VALUES (%s, %s, %s, %s, '', 'api', %s)",
            [(cid, pos, idx, q, now) for cid, pos in lines for idx, q in USED.items()],
        )
    return len(lines)


def test_usage_lands_once_on_its_periods_invoice_under_four_workers_and_sigkill(
    databases, tmp_path
):
    # Given 150 contracts due (every 3rd one 60 days behind), usage recorded for two periods
    url = databases.fresh()
    first = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    seed(url, "--contracts", "150", "--series", "2", "--first", first,
         "--backdate-every", "3", "--backdate-days", "60")  # fmt: skip
    n = _add_usage(url)
    target = sum(expected_due(url, datetime.now(UTC)).values())
    rnd = random.Random(int(os.environ.get("FAULTS_SEED", time.time_ns() % 10**6)))

    # When four workers run and one of them is SIGKILLed and restarted again and again
    logs = [tmp_path / f"worker{i}.log" for i in range(4)]
    workers = [start_worker(url, "--batch-size", "20", log=log) for log in logs]
    try:
        for _ in range(8):
            if invoice_count(url) >= target:
                break
            time.sleep(rnd.uniform(0.05, 0.4))
            workers[0].kill()
            workers[0].wait()
            workers[0] = start_worker(url, "--batch-size", "20", log=logs[0])
        done = wait_until(lambda: invoice_count(url) >= target, 150, 0.5, procs=workers)
    finally:
        stop(workers)
    assert done, f"{invoice_count(url)} of {target} invoices"
    check_invariants(url, as_of=datetime.now(UTC))

    # Then every record of an invoiced period is on exactly that period's invoice
    wrong = rows(
        url,
        "SELECT u.id FROM contracts_usagerecord u JOIN invoices_invoice i ON i.id = u.invoice_id "
        "WHERE i.contract_id <> u.contract_id OR i.period_index <> u.period_index",
    )
    assert wrong == []
    left = rows(
        url,
        "SELECT u.id FROM contracts_usagerecord u JOIN invoices_invoice i ON "
        "i.contract_id = u.contract_id AND i.period_index = u.period_index "
        "WHERE u.invoice_id IS NULL",
    )
    assert left == []
    # and priced once: one invoice line of the period's quantity per record, none lost
    for idx, q in USED.items():
        # idx and q are this test's own constants (rows() takes no parameters).
        marked = rows(url, "SELECT COUNT(*) FROM contracts_usagerecord WHERE "
                           f"period_index = {idx} AND invoice_id IS NOT NULL")  # fmt: skip
        on_lines = rows(
            url,
            "SELECT COUNT(*) FROM invoices_invoiceline l JOIN invoices_invoice i "
            f"ON i.id = l.invoice_id WHERE i.period_index = {idx} AND l.quantity = {q}",
        )
        assert on_lines[0][0] == marked[0][0] > 0
    assert rows(url, "SELECT COUNT(*) FROM contracts_usagerecord WHERE period_index = 0 "
                     "AND invoice_id IS NULL") == [(0,)]  # fmt: skip
    assert n > 0
