"""Timeouts on the workers' PostgreSQL sessions: a stuck worker cannot stop the others.

A worker whose connection goes silent (a network partition, a frozen VM) keeps its open
transaction on the server, and with it the series row locks every other worker waits for:
with default settings, 0 invoices for up to ~2 hours, until TCP gives up (issue 14). So the
processes that bill (``recurent worker``, ``recurent bill``) ask the server to end such a
session on its own:
- ``idle_in_transaction_session_timeout``: a transaction whose client sends nothing for that
  long is ended (rolled back, locks released) — the partitioned worker;
- ``lock_timeout``: waiting longer than that for a lock fails the statement (the block rolls
  back and the worker loop retries) instead of queueing behind a stuck session;
- ``statement_timeout``: no statement runs longer (a worker's take well under a second);
and TCP keepalives (with ``tcp_user_timeout``) on every connection, so that a peer that is
gone is noticed in about a minute, on both sides. Values: settings.RECURENT_DB_TIMEOUTS,
from the environment (docs/guide-owner.md, "Limits and timeouts"). SQLite: nothing to do.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connections


def _timeouts() -> list[tuple[str, int]]:
    """(PostgreSQL setting, milliseconds) of the worker's session timeouts that are on."""
    t = settings.RECURENT_DB_TIMEOUTS
    names = (
        ("lock_timeout", "LOCK"),
        ("idle_in_transaction_session_timeout", "IDLE_IN_TRANSACTION"),
        ("statement_timeout", "STATEMENT"),
    )
    return [(name, int(t[key] * 1000)) for name, key in names if t[key]]


def worker_session_options() -> str:
    """The libpq ``options`` string that sets them when a connection opens."""
    return " ".join(f"-c {name}={ms}" for name, ms in _timeouts())


def harden_worker_connections(alias: str = "default") -> None:
    """Every later (re)connection of this process gets the worker's session timeouts."""
    conn = connections[alias]
    if conn.vendor != "postgresql":
        return
    opts = conn.settings_dict.setdefault("OPTIONS", {})
    ours = worker_session_options()
    if ours and ours not in opts.get("options", ""):
        opts["options"] = f"{opts.get('options', '')} {ours}".strip()
        if conn.connection is not None:
            # Already open (a command's system checks, a test's transaction): set them on it.
            with conn.cursor() as cur:
                for name, ms in _timeouts():
                    cur.execute(f"SET {name} = {ms}")  # names ours, values integers
