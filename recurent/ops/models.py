"""Who is billing: one row per worker process, beaten after each pass of its loop.

Several workers on several machines share a run through row locks only; this table is how a
person (the dashboard) and a probe (``/readyz``) see that they are alive, where they run and
what they did last. A row whose beat is old belongs to a worker that stopped or hangs.
"""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    # host:pid, the same name the mail sender uses for its claims.
    name = models.CharField(max_length=120, unique=True)
    host = models.CharField(max_length=100)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)
    passes = models.PositiveBigIntegerField(default=0)
    issued = models.PositiveBigIntegerField(default=0)  # invoices this process issued
    last_issued_at = models.DateTimeField(null=True, blank=True)  # its last non-empty block
    last_error = models.TextField(blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-beat_at"]
