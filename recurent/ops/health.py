"""Probes for the container and the proxy.

``/healthz``: the process answers (no database: a liveness probe must not restart a web
process because the database is slow). ``/readyz``: the process can serve: the database
answers, every migration is applied, a worker has beaten recently, and the mail outbox is not
stuck. Both answer JSON without any data of a company; ``/readyz`` says 503 and which check
failed. Neither needs a login (a probe has none), and neither reveals anything a visitor could
use: check names and ages, no hosts, no counts of a company.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from recurent.common import clock


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readiness() -> dict[str, Any]:
    checks: dict[str, dict[str, Any]] = {}
    conn = connections[DEFAULT_DB_ALIAS]
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        checks["database"] = {"ok": True}
    except Exception as e:
        checks["database"] = {"ok": False, "error": type(e).__name__}
        return {"ready": False, "checks": checks}
    plan = MigrationExecutor(conn).migration_plan(MigrationExecutor(conn).loader.graph.leaf_nodes())
    checks["migrations"] = {"ok": not plan, "pending": len(plan)}

    from recurent.mail.models import OutboxMessage, OutboxState
    from recurent.ops.models import WorkerHeartbeat

    now = clock.now()
    max_age = _setting("RECURENT_READY_WORKER_MAX_AGE", 600)
    beat = (
        WorkerHeartbeat.objects.filter(stopped_at=None).order_by("-beat_at").values_list(
            "beat_at", flat=True
        ).first()
    )  # fmt: skip
    age = (now - beat).total_seconds() if beat else None
    checks["worker"] = {"ok": age is not None and age <= max_age,
                        "last_beat_seconds": round(age) if age is not None else None}  # fmt: skip
    stuck_after = timedelta(seconds=_setting("RECURENT_READY_OUTBOX_MAX_AGE", 3600))
    oldest = (
        OutboxMessage.objects.filter(state=OutboxState.PENDING, not_before__lte=now)
        .order_by("not_before")
        .values_list("not_before", flat=True)
        .first()
    )
    late = (now - oldest) if oldest else timedelta(0)
    checks["outbox"] = {
        "ok": late <= stuck_after,
        "oldest_due_seconds": round(late.total_seconds()),
    }
    return {"ready": all(c["ok"] for c in checks.values()), "checks": checks}


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    result = readiness()
    response = JsonResponse(result, status=200 if result["ready"] else 503)
    # A probe asks every few seconds: a 503 here is an answer, not a server error to log
    # each time (Django's request logger skips a response marked as logged).
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
