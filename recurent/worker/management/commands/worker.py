"""recurent worker: bill continuously, then run the registered background tasks.

One loop: issue every due block (``issue_batch`` claims a block at a time), run the
apps' tasks (documents, mail, e-Factura, webhooks), then sleep until the next due
instant, bounded by RECURENT_WORKER_MAX_SLEEP so new or fixed contracts are seen.
SIGTERM/SIGINT: the current block finishes (its transaction commits or rolls back
whole), then the worker exits.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection

from recurent.common import clock, writer_turn
from recurent.invoices.services import issue_batch, next_due_at
from recurent.worker.process import child_main
from recurent.worker.tasks import TASKS

log = logging.getLogger("recurent.worker")


def run_loop(
    *, stop: threading.Event, batch_size: int, max_sleep: float, once: bool, tasks: bool = True
) -> int:
    """The worker loop; returns the number of invoices issued.

    A failing pass (the database restarting, a network blip, a bug in a hook) is logged and
    retried after a backoff that doubles up to ``max_sleep``: the block it was writing rolled
    back whole, so retrying is safe, and a worker that died instead would stop billing.
    """
    from recurent.common.dbsession import harden_worker_connections
    from recurent.ops.heartbeat import Heartbeat

    # Session timeouts: a worker cut off mid-block must not hold the series locks for hours.
    harden_worker_connections()
    heart = Heartbeat()
    issued = 0
    # Contracts set aside during this process' life: retried after at most max_sleep.
    exclude: set[int] = set()
    last_reset = time.monotonic()
    backoff = 0.5
    while not stop.is_set():
        try:
            close_old_connections()
            if time.monotonic() - last_reset > max_sleep:
                exclude.clear()
                last_reset = time.monotonic()
            issued_before = issued
            while not stop.is_set():
                writer_turn.yield_to_people()  # SQLite: a person's write goes between blocks
                b = issue_batch(as_of=None, batch_size=batch_size, exclude=exclude)
                issued += len(b.issued)
                if b.issued or b.held:
                    log.info("issued %d, set aside %d", len(b.issued), len(b.held))
                if b.claimed == 0:
                    break
            heart.beat(issued=issued - issued_before)
            if tasks:
                for name, fn in TASKS:
                    if stop.is_set():
                        break
                    try:
                        fn(limit=500)
                    except Exception:
                        log.exception("task %s failed; billing goes on", name)
                        connection.close()  # a broken transaction must not poison the next task
                    heart.touch()
            nxt = next_due_at()
        except Exception as e:
            if once:
                raise
            log.exception("billing pass failed (%s); retrying in %.1f s", type(e).__name__, backoff)
            connection.close()
            heart.beat(error=f"{type(e).__name__}: {e}")
            connection.close()
            stop.wait(backoff)
            backoff = min(backoff * 2, max(max_sleep, 1.0))
            continue
        backoff = 0.5
        if once:
            break
        wait = (
            max_sleep
            if nxt is None
            else max(0.0, min(max_sleep, (nxt - clock.now()).total_seconds()))
        )
        stop.wait(max(wait, 0.05))
    heart.beat(stopped=True)
    return issued


class Command(BaseCommand):
    help = "Run the billing engine continuously (and mail, documents, e-Factura tasks). Stops cleanly on SIGTERM."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--processes", type=int, default=1, help="worker processes on this machine"
        )
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--batch-size", type=int, default=settings.RECURENT["BATCH_SIZE"])
        parser.add_argument(
            "--max-sleep", type=float, default=settings.RECURENT["WORKER_MAX_SLEEP"]
        )
        parser.add_argument(
            "--no-tasks", action="store_true", help="bill only (no documents/mail/e-Factura)"
        )

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        if o["processes"] < 1 or o["batch_size"] < 1:
            raise CommandError("--processes and --batch-size must be 1 or more")
        if o["processes"] > 1:
            if connection.vendor == "sqlite":
                self.stderr.write("note: on SQLite the processes take turns (one writer at a time)")
            connection.close()
            ctx = multiprocessing.get_context("spawn")
            child_args = (o["batch_size"], o["max_sleep"], not o["no_tasks"])
            procs = [ctx.Process(target=child_main, args=child_args) for _ in range(o["processes"])]
            for p in procs:
                p.start()
            stopping = threading.Event()

            def forward(*_):  # type: ignore[no-untyped-def]
                stopping.set()
                for p in procs:
                    if p.is_alive() and p.pid:
                        os.kill(p.pid, signal.SIGTERM)

            signal.signal(signal.SIGTERM, forward)
            signal.signal(signal.SIGINT, forward)
            # A child that dies (SIGKILL, out of memory) is replaced: the block it was writing
            # rolled back whole, so a new process simply takes the work again.
            while not stopping.is_set():
                for i, p in enumerate(procs):
                    if not p.is_alive() and not stopping.is_set():
                        self.stderr.write(
                            f"worker process {p.pid} exited ({p.exitcode}); starting another"
                        )
                        procs[i] = ctx.Process(target=child_main, args=child_args)
                        procs[i].start()
                stopping.wait(1.0)
            for p in procs:
                p.join()
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        self.stdout.write(f"worker started (batch {o['batch_size']}, max sleep {o['max_sleep']} s)")
        n = run_loop(
            stop=stop,
            batch_size=o["batch_size"],
            max_sleep=o["max_sleep"],
            once=o["once"],
            tasks=not o["no_tasks"],
        )
        self.stdout.write(f"worker stopped; issued {n} invoice(s)")
