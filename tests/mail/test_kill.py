"""The sender killed with SIGKILL mid-batch, then restarted: no message lost, none sent
twice beyond the documented window (a message in flight at the kill)."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.mail.conftest import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
RECURENT = ROOT / ".venv" / "bin" / "recurent"
N = 30
pytestmark = pytest.mark.slow


def _env(db: Path, **extra: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{db}",
        DJANGO_SETTINGS_MODULE="tests.mail.settings_subprocess",
        PYTHONPATH=str(ROOT),
    )
    env.pop("RECURENT_MAIL_ON_UNCERTAIN", None)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def prepared_db(tmp_path_factory):
    """One migrated database with N queued invoice emails, copied for each test."""
    db = tmp_path_factory.mktemp("kill") / "template.sqlite3"
    subprocess.run(
        [sys.executable, "-m", "tests.mail.kill_prep", "1", str(N)],
        cwd=ROOT,
        env=_env(db),
        check=True,
        timeout=120,
    )
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db


def _rows(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as c:
        return dict(
            c.execute("select message_id, state from mail_outboxmessage where message_id != ''")
        )


def _states(db: Path) -> Counter:
    with sqlite3.connect(db) as c:
        return Counter(s for (s,) in c.execute("select state from mail_outboxmessage"))


def _kill_mid_batch_then_restart(prepared_db, tmp_path, **env_extra):
    db = tmp_path / "kill.sqlite3"
    shutil.copy(prepared_db, db)
    srv = SmtpServer().start()
    try:
        with sqlite3.connect(db) as c:
            c.execute("update mail_smtpsettings set port = ?", (srv.port,))
        # The 10th message is accepted by the server, whose "250" never comes: the sender is
        # then exactly in the window between the end of DATA and its database update.
        srv.handler.hang_after = 10
        env = _env(db, **env_extra)
        p = subprocess.Popen(
            [str(RECURENT), "send-mail", "--batch", "5", "--no-progress"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while len(srv.received) < 10:
            assert p.poll() is None, p.stderr.read().decode()
            assert time.monotonic() < deadline, "the sender did not get to the 10th message"
            time.sleep(0.02)
        time.sleep(0.2)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        at_kill = _states(db)
        assert at_kill["sending"] == 1 and at_kill["sent"] == 9 and at_kill["pending"] == N - 10
        in_flight = [mid for mid, st in _rows(db).items() if st == "sending"][0]

        srv.handler.hang_after = None
        r = subprocess.run(
            [str(RECURENT), "send-mail", "--no-progress"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr.decode()
        return db, srv, in_flight
    finally:
        srv.stop()


def test_default_policy_no_message_lost_none_repeated_the_one_in_flight_flagged(
    prepared_db, tmp_path
):
    db, srv, in_flight = _kill_mid_batch_then_restart(prepared_db, tmp_path)
    received = Counter(r.message["Message-ID"] for r in srv.received)
    rows = _rows(db)
    assert max(received.values()) == 1  # nothing delivered twice
    assert len(rows) == N and set(received) == set(rows)  # every message reached the server once
    assert _states(db) == Counter(sent=N - 1, unknown=1)
    assert rows[in_flight] == "unknown"  # flagged for a person, not silently lost or resent


def test_resend_policy_delivers_everything_with_at_most_one_duplicate(prepared_db, tmp_path):
    db, srv, in_flight = _kill_mid_batch_then_restart(
        prepared_db, tmp_path, RECURENT_MAIL_ON_UNCERTAIN="resend"
    )
    received = Counter(r.message["Message-ID"] for r in srv.received)
    assert _states(db) == Counter(sent=N)
    assert set(received) == set(_rows(db))
    assert {mid: n for mid, n in received.items() if n > 1} == {in_flight: 2}  # same Message-ID
