"""One-off charges under four workers and SIGKILL: each charge on exactly one invoice, the first."""

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


def _add_charges(url: str) -> int:
    """A charge and a credit on every contract, written as the charges service would."""
    now = datetime.now(UTC)
    with connect(url) as c:
        ids = [r[0] for r in c.execute("SELECT id FROM contracts_contract").fetchall()]
        for kind, name, price in (("charge", "Setup", "7.0000"), ("credit", "Goodwill", "0.0100")):
            c.cursor().executemany(
                "INSERT INTO contracts_contractcharge (contract_id, kind, description, quantity, "
                "unit_code, unit_price, vat_category, vat_rate, created_at) "
                "VALUES (%s, %s, %s, 1, 'C62', %s, 'S', 'standard', %s)",
                [(cid, kind, f"{name} {cid}", price, now) for cid in ids],
            )
    return len(ids)


def test_charges_land_once_on_each_contracts_first_invoice_under_four_workers_and_sigkill(
    databases, tmp_path
):
    # Given 600 contracts due (every 3rd one 60 days behind), each with a charge and a credit
    url = databases.fresh()
    first = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    seed(url, "--contracts", "600", "--series", "2", "--first", first,
         "--backdate-every", "3", "--backdate-days", "60")  # fmt: skip
    n = _add_charges(url)
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

    # Then every charge is on exactly one invoice: its contract's first one, as one line
    pending = rows(url, "SELECT COUNT(*) FROM contracts_contractcharge WHERE invoice_id IS NULL")
    assert pending[0][0] == 0
    wrong = rows(
        url,
        "SELECT ch.id FROM contracts_contractcharge ch JOIN invoices_invoice i "
        "ON i.id = ch.invoice_id WHERE i.contract_id <> ch.contract_id OR i.period_index <> 0",
    )
    assert wrong == []
    lines = rows(
        url,
        "SELECT l.name, COUNT(*) FROM invoices_invoiceline l WHERE l.name LIKE 'Setup %%' "
        "OR l.name LIKE 'Goodwill %%' GROUP BY l.name",
    )
    assert len(lines) == 2 * n and {c for _, c in lines} == {1}
    # and each line is the one its charge points at (the invoice holding it, with its sign)
    mismatched = rows(
        url,
        "SELECT ch.id FROM contracts_contractcharge ch JOIN invoices_invoiceline l "
        "ON l.invoice_id = ch.invoice_id AND l.name = ch.description "
        "WHERE (ch.kind = 'credit') <> (l.quantity < 0)",
    )
    assert mismatched == []
