"""A worker cut off from the database mid-block does not stop the others (issue 14, item 5).

Worker A reaches PostgreSQL through a TCP proxy in this process; the proxy forwards A's
series lock (``... ORDER BY companies_invoiceseries.id ASC FOR UPDATE``) of its third block
and then freezes: nothing more is forwarded either way, every socket stays open, as in a
network partition. A now holds the series row locks in an open transaction and says nothing.
Worker B, connected directly, needs the same series lock. Before the fix B waited for as long
as the partition lasted (0 invoices in 60 s, up to ~2 hours with default keepalives); now the
server ends A's idle transaction after RECURENT_DB_IDLE_IN_TRANSACTION_TIMEOUT (3 s here) and
B goes on within seconds. The run is exactly-once and gapless (the harness' SQL checks).

PostgreSQL only: the timeouts are PostgreSQL session settings, and on SQLite there is no
network between a worker and its database to partition (skipped there for that reason).
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from recurent.common import clock
from recurent.engine.cycles import BUCHAREST

from .harness import (
    check_invariants,
    configured_url,
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
        not is_postgres(configured_url()),
        reason="session timeouts are PostgreSQL's; SQLite has no network to partition",
    ),
]

SERIES_LOCK = re.compile(rb'ORDER BY "companies_invoiceseries"\."id" ASC FOR UPDATE')
IDLE_TIMEOUT = 3  # seconds, for this test (default 30)


class FreezingProxy:
    """127.0.0.1:<port> -> PostgreSQL; freezes after forwarding the n-th series lock."""

    def __init__(self, upstream: tuple[str, int], freeze_on: int) -> None:
        self.upstream, self.freeze_on = upstream, freeze_on
        self.seen = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.frozen = threading.Event()
        self.frozen_at = 0.0
        self.loop = asyncio.new_event_loop()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", self.port)
        )
        ready.set()
        self.loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self.writers += [writer, up_writer]
        await asyncio.gather(
            self._pipe(reader, up_writer, watch=True), self._pipe(up_reader, writer, watch=False)
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, watch: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                if self.frozen.is_set():
                    await asyncio.sleep(3600)  # silent: nothing read, nothing forwarded, open
                writer.write(data)
                await writer.drain()
                if watch and SERIES_LOCK.search(data):
                    self.seen += 1
                    if self.seen == self.freeze_on:
                        # Let the lock's answer reach the client, then cut the line.
                        await asyncio.sleep(0.2)
                        self.frozen_at = time.monotonic()
                        self.frozen.set()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        def shutdown() -> None:
            # The partition ends the hard way: every socket reset, as a dead link would be.
            self.server.close()
            for w in self.writers:
                w.transport.abort()
            for task in asyncio.all_tasks(self.loop):
                task.cancel()
            self.loop.call_later(0.2, self.loop.stop)

        self.loop.call_soon_threadsafe(shutdown)
        self.thread.join(10)


def _via(url: str, port: int) -> str:
    # Same database, through the proxy; no TLS, so that the proxy can see the statements.
    head, _, tail = url.rpartition("@")
    name = tail.split("/", 1)[1]
    return f"{head}@127.0.0.1:{port}/{name}?sslmode=disable"


def _blocked_on_lock(url: str) -> list[Any]:
    return rows(
        url,
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'",
    )


def test_a_partitioned_worker_does_not_stop_the_others(databases, tmp_path, monkeypatch):
    # Given 600 contracts due now in one series (every block needs its lock)
    url = databases.fresh()
    first = (clock.now() - timedelta(hours=1)).astimezone(BUCHAREST).replace(tzinfo=None)
    seed(url, "--contracts", "600", "--series", "1", "--first", first.isoformat(timespec="minutes"))
    host_port = re.search(r"@([^:/]+):(\d+)/", url)
    upstream = (host_port.group(1), int(host_port.group(2))) if host_port else ("127.0.0.1", 5432)
    monkeypatch.setenv("RECURENT_DB_IDLE_IN_TRANSACTION_TIMEOUT", str(IDLE_TIMEOUT))
    monkeypatch.setenv("RECURENT_DB_LOCK_TIMEOUT", "10")
    proxy = FreezingProxy(upstream, freeze_on=3)
    procs = []
    try:
        # When worker A, through the proxy, is cut off holding the series lock of its third block
        a = start_worker(_via(url, proxy.port), "--batch-size", "50", log=tmp_path / "a.log")
        procs.append(a)
        assert wait_until(proxy.frozen.is_set, 60, procs=procs), (tmp_path / "a.log").read_text()
        before = invoice_count(url)
        assert 0 < before < 600  # mid-run: two blocks committed, the third one's lock held
        # and worker B starts, connected directly
        b = start_worker(url, "--batch-size", "50", log=tmp_path / "b.log")
        procs.append(b)
        # Then B issues within seconds of the cut (A's transaction ends after 3 s idle)
        assert wait_until(lambda: invoice_count(url) > before, 20, procs=procs), (
            f"no invoice in 20 s after the partition; B: {(tmp_path / 'b.log').read_text()[-2000:]}"
        )
        resumed = time.monotonic() - proxy.frozen_at
        assert resumed < IDLE_TIMEOUT + 10, resumed
        # and finishes the run while A is still cut off
        assert wait_until(lambda: invoice_count(url) == 600, 60, procs=procs)
        assert proxy.frozen.is_set() and a.poll() is None  # A is still there, silent
        assert not _blocked_on_lock(url)
    finally:
        proxy.close()  # A's sockets close: its pass fails, it retries, and SIGTERM ends it
        stop(procs, timeout=30)
    # Exactly once, gapless, every due period invoiced
    state = check_invariants(url, as_of=clock.now())
    assert state.invoices == state.expected == 600
    print(f"\nB resumed {resumed:.1f} s after the partition; {before} invoices before it")
