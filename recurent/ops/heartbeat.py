"""The worker's heartbeat row (see models.WorkerHeartbeat): written after each pass.

A beat is one small UPSERT in its own transaction, outside the billing blocks, so it never
holds a lock a block needs. A beat that fails (database down) is skipped: the loop's own retry
handles the outage, and the stale beat is exactly what /readyz should then report.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import datetime

from recurent.common import clock

from .models import WorkerHeartbeat

log = logging.getLogger("recurent.worker")
TOUCH_EVERY = 10.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Heartbeat:
    def __init__(self) -> None:
        self.name = worker_name()
        self.started_at = clock.now()
        self.passes = 0
        self.issued = 0
        self.last_issued_at: datetime | None = None
        self._written = 0.0

    def touch(self) -> None:
        """Alive, between the steps of a long pass (a task rendering thousands of documents); at
        most one write every TOUCH_EVERY seconds, not one per task."""
        if time.monotonic() - self._written >= TOUCH_EVERY:
            self.beat(count=False)

    def beat(
        self, *, issued: int = 0, error: str = "", stopped: bool = False, count: bool = True
    ) -> None:
        now = clock.now()
        if count and not stopped:
            self.passes += 1
        if issued:
            self.issued += issued
            self.last_issued_at = now
        self._written = time.monotonic()
        try:
            WorkerHeartbeat.objects.update_or_create(
                name=self.name,
                defaults={
                    "host": socket.gethostname()[:100], "pid": os.getpid(),
                    "started_at": self.started_at, "beat_at": now, "passes": self.passes,
                    "issued": self.issued, "last_issued_at": self.last_issued_at,
                    "last_error": error[:2000], "stopped_at": now if stopped else None,
                },
            )  # fmt: skip
        except Exception as e:  # the database is down: the loop retries, the beat goes stale
            log.warning("heartbeat not written (%s)", type(e).__name__)
