"""The billing processes' PostgreSQL sessions carry timeouts, every connection keepalives
(issue 14, item 5; the partition itself is tests/faults/test_partition.py)."""

import pytest
from django.db import connection

from recurent.common.dbsession import harden_worker_connections, worker_session_options


@pytest.fixture
def restore_options():
    saved = dict(connection.settings_dict.get("OPTIONS", {}))
    yield
    connection.settings_dict["OPTIONS"] = saved


def test_a_worker_session_gets_the_timeouts_from_the_settings(db, settings, restore_options):
    settings.RECURENT_DB_TIMEOUTS = {"LOCK": 7, "IDLE_IN_TRANSACTION": 11, "STATEMENT": 0}
    assert worker_session_options() == (
        "-c lock_timeout=7000 -c idle_in_transaction_session_timeout=11000"
    )
    harden_worker_connections()
    opts = connection.settings_dict["OPTIONS"]
    if connection.vendor == "postgresql":
        # The open connection now, and every reconnection later.
        with connection.cursor() as c:
            got = {}
            for name in (
                "lock_timeout",
                "idle_in_transaction_session_timeout",
                "statement_timeout",
            ):
                c.execute(f"SHOW {name}")
                got[name] = c.fetchone()[0]
        assert got == {
            "lock_timeout": "7s",
            "idle_in_transaction_session_timeout": "11s",
            "statement_timeout": "0",  # 0: off
        }
        assert worker_session_options() in opts["options"]
        assert (opts["keepalives"], opts["keepalives_idle"], opts["tcp_user_timeout"]) == (
            1, 30, 60000,
        )  # fmt: skip
    else:  # SQLite: no server session, nothing to set
        assert "options" not in opts
