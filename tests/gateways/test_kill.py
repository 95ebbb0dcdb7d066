"""A worker SIGKILLed between the processor's answer and its commit, then started again: the
card is charged at most once per invoice, proven with the stand-in's own records."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.gateways.standins import FakeNetopia, FakeStripe

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _env(db: Path) -> dict:
    env = dict(os.environ)
    env.update(DATABASE_URL=f"sqlite:///{db}", PYTHONPATH=str(ROOT),
               DJANGO_SETTINGS_MODULE="tests.gateways.settings_subprocess")  # fmt: skip
    return env


@pytest.fixture(scope="module")
def prepared_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("gwkill") / "template.sqlite3"
    subprocess.run([sys.executable, "-m", "tests.gateways.kill_run", "prep"], cwd=ROOT,
                   env=_env(db), check=True, timeout=180)  # fmt: skip
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db


def _rows(db, sql, args=()):
    with sqlite3.connect(db) as c:
        return c.execute(sql, args).fetchall()


@pytest.mark.parametrize("provider", ["stripe", "netopia"])
def test_killed_after_the_answer_then_restarted_charges_once(prepared_db, tmp_path, provider):
    db = tmp_path / "kill.sqlite3"
    shutil.copy(prepared_db, db)
    fake = (FakeStripe() if provider == "stripe" else FakeNetopia()).start()
    try:
        if provider == "netopia":
            fake.behavior["tok_kill"] = "ok"
        with sqlite3.connect(db) as c:
            c.execute("update gateways_gatewayaccount set api_base = ?", (fake.base,))
            # Only this provider's charge is due in this test.
            c.execute("update gateways_chargeattempt set state = 'cancelled' where agreement_id in "
                      "(select a.id from gateways_cardagreement a join gateways_gatewayaccount g "
                      "on g.id = a.account_id where g.provider != ?)", (provider,))  # fmt: skip
        [(key, inv_id)] = _rows(
            db,
            "select idempotency_key, invoice_id from gateways_chargeattempt where state = 'ready'",
        )
        # The processor makes the charge, and its answer never reaches the worker...
        fake.hang.set()
        p = subprocess.Popen([sys.executable, "-m", "tests.gateways.kill_run", "charge"], cwd=ROOT,
                             env=_env(db), stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 60
        while not fake.charges:
            assert p.poll() is None, p.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the worker never reached the processor"
            time.sleep(0.05)
        # ...which is killed right then: between the processor's answer and its own commit.
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        assert _rows(
            db, "select state from gateways_chargeattempt where idempotency_key = ?", (key,)
        ) == [("started",)]
        assert _rows(db, "select count(*) from payments_payment") == [(0,)]
        # Started again: the same key asks for the same charge
        fake.hang.clear()
        r = subprocess.run([sys.executable, "-m", "tests.gateways.kill_run", "charge"], cwd=ROOT,
                           env=_env(db), capture_output=True, timeout=120)  # fmt: skip
        assert r.returncode == 0, r.stderr.decode()[-2000:]
        # Then the processor's records show one charge, the invoice one payment
        assert len(fake.charges) == 1
        calls = [
            c for c in fake.calls if c["path"] in ("/v1/payment_intents", "/payment/card/start")
        ]
        assert len(calls) == 2
        if provider == "stripe":
            assert {c["headers"]["Idempotency-Key"] for c in calls} == {key}
        assert _rows(
            db, "select state from gateways_chargeattempt where idempotency_key = ?", (key,)
        ) == [("succeeded",)]
        assert _rows(
            db, "select count(*) from payments_allocation where invoice_id = ?", (inv_id,)
        ) == [(1,)]
        assert _rows(
            db, "select outstanding from payments_invoicebalance where invoice_id = ?", (inv_id,)
        ) in ([(0,)], [("0",)], [("0.00",)], [(0.0,)])
    finally:
        fake.stop()
