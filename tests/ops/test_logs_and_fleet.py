"""A full run's logs carry no personal data or secret, and workers with their own connection
settings in their own process groups (as on separate machines) share one run exactly once, each
visible in the heartbeat table."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.faults.harness import (
    ROOT,
    check_invariants,
    env_for,
    expected_due,
    invoice_count,
    is_postgres,
    rows,
    seed,
    stop,
    wait_until,
)

pytestmark = pytest.mark.slow


def test_the_logs_of_a_full_run_hold_no_iban_cnp_or_secret(databases, tmp_path):
    url = databases.fresh()
    env = env_for(url) | {"RECURENT_LOG_FORMAT": "json", "RECURENT_LOG_LEVEL": "DEBUG"}
    demo = subprocess.run([sys.executable, "-m", "recurent.cli", "demo", "--no-billing"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    # A full run: billing, documents, mail (no SMTP server: errors logged), e-Factura, reminders.
    run = subprocess.run([sys.executable, "-m", "recurent.cli", "worker", "--once"], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    log = run.stderr + run.stdout
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert lines, "the run logged nothing: the test would prove nothing"
    for ln in lines:  # one JSON object per line
        assert isinstance(json.loads(ln), dict), ln
    assert invoice_count(url) > 0
    ibans = {r[0] for r in rows(url, "SELECT iban FROM clients_client WHERE iban <> ''")}
    ibans |= {r[0] for r in rows(url, "SELECT iban FROM companies_company WHERE iban <> ''")}
    cnps = {r[0] for r in rows(url, "SELECT tax_id FROM clients_client WHERE kind = 'individual' "
                                    "AND tax_id <> ''")}  # fmt: skip
    assert ibans and cnps
    for secret in ibans | cnps:
        assert secret not in log and secret[4:] not in log.replace(" ", ""), secret
    assert not re.search(r"rct_[A-Za-z0-9]{8}", log)


def test_workers_with_their_own_connection_settings_share_one_run(databases, tmp_path):
    url = databases.fresh()
    first = (datetime.now(UTC) - timedelta(days=30, hours=1)).isoformat()
    seed(url, "--contracts", "2000", "--series", "2", "--first", first)
    target = sum(expected_due(url, datetime.now(UTC)).values())
    # Two "machines": different host spellings and application names, separate sessions
    # (process groups), each its own log.
    if is_postgres(url):
        a = url.replace("127.0.0.1", "localhost") + "?application_name=machine-a"
        b = url + "?application_name=machine-b"
    else:
        a = b = url
    procs = []
    for name, u in (("a", a), ("b", b)):
        with (tmp_path / f"{name}.log").open("wb") as log:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "recurent.cli", "worker", "--skip-checks", "--no-tasks",
                 "--max-sleep", "0.2", "--batch-size", "50"],
                env=env_for(u), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            ))  # fmt: skip
    try:
        assert wait_until(lambda: invoice_count(url) >= target, 180, 0.3, procs=procs)
        # Each worker is seen alive, by its own name.
        assert wait_until(
            lambda: len(rows(url, "SELECT name FROM ops_workerheartbeat")) >= 2,
            60,
            0.3,
            procs=procs,
        )
    finally:
        codes = stop(procs)
    assert codes == [0, 0]
    assert check_invariants(url, as_of=datetime.now(UTC)).invoices == target
    beats = rows(url, "SELECT name, issued, stopped_at FROM ops_workerheartbeat")
    assert len(beats) == 2 and all(stopped for *_, stopped in beats)
    assert sum(issued for _, issued, _ in beats) == target
