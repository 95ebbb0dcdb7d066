"""What the dashboard shows of the installation itself: the workers and their last beats."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .models import WorkerHeartbeat

ALIVE = timedelta(minutes=10)


def workers_seen(*, as_of: datetime, since: timedelta = timedelta(days=1)) -> list[dict[str, Any]]:
    """Workers that beat within ``since``, newest first, each marked alive, stopped or silent."""
    out = []
    for w in WorkerHeartbeat.objects.filter(beat_at__gte=as_of - since)[:20]:
        if w.stopped_at is not None:
            state = "stopped"
        elif as_of - w.beat_at <= ALIVE:
            state = "alive"
        else:
            state = "silent"
        out.append({"worker": w, "state": state, "age": (as_of - w.beat_at).total_seconds()})
    return out
