"""The billing-run page: run (or preview) billing as of an instant, with a progress counter.

A run over thousands of contracts takes longer than a request may, so it runs in a background
thread of the web process and the page polls its progress with htmx. A real run's counters are
read from its BillingRun row (found by its ``trigger`` tag ``web:<token>``), so the numbers stay
true even if this process dies; a preview writes nothing, so its result lives in this process only.
"""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from recurent.common import clock
from recurent.companies.access import company_required
from recurent.contracts.models import Contract
from recurent.invoices import services as billing
from recurent.invoices.models import BillingRun
from recurent.web.forms import BillingRunForm

log = logging.getLogger("recurent.web.billing")

# Tests run the job in the request thread (their database transaction is not visible to others).
RUN_INLINE: bool = getattr(settings, "RECURENT_WEB_BILLING_INLINE", False)
SESSION_KEY = "recurent_billing_jobs"
_JOBS: dict[str, dict[str, Any]] = {}
_LOCK = threading.Lock()


def _update(token: str, **kw: Any) -> None:
    with _LOCK:
        _JOBS.setdefault(token, {}).update(kw)


def _job(
    token: str, company_id: int, as_of: datetime | None, dry_run: bool, inline: bool = False
) -> None:
    try:
        if dry_run:
            result = billing.preview_due(
                as_of=as_of or clock.now(),
                company_id=company_id,
                progress=lambda issued, held: _update(token, issued=issued, held=held),
            )
            _update(
                token, state="done", issued=len(result.previews), previews=result.previews[:500],
                preview_total=len(result.previews), held_list=result.held[:200], held=len(result.held),
            )  # fmt: skip
        else:
            result = billing.issue_due(
                as_of=as_of,
                company_id=company_id,
                trigger=f"web:{token}",
                progress=lambda issued, held: _update(token, issued=issued, held=held),
            )
            _update(
                token,
                state="done",
                issued=result.issued,
                held=len(result.held),
                held_list=result.held[:200],
                run_id=result.run_id,
            )
    except Exception as e:  # shown on the page; the run's row keeps the error too
        log.exception("billing run %s failed", token)
        _update(token, state="error", error=str(e))
    finally:
        if not inline:
            connection.close()


def _inline() -> bool:
    # An in-memory SQLite database (the test database) shares one cache between threads, and
    # its table locks fail at once instead of waiting: a second thread could not write to it.
    return RUN_INLINE or (
        connection.vendor == "sqlite" and connection.is_in_memory_db()  # type: ignore[attr-defined]
    )


def _start(token: str, company_id: int, as_of: datetime | None, dry_run: bool) -> None:
    _update(
        token,
        state="running",
        issued=0,
        held=0,
        company_id=company_id,
        dry_run=dry_run,
        as_of=as_of,
        started=clock.now(),
    )
    if _inline():
        _job(token, company_id, as_of, dry_run, inline=True)
        return

    def target() -> None:
        close_old_connections()
        _job(token, company_id, as_of, dry_run)

    threading.Thread(target=target, name=f"billing-{token}", daemon=True).start()


@company_required("accountant")
def billing_run(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    form = BillingRunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            # The service refuses it too (in the background job); asked here first so that the
            # form says why instead of a failed job.
            billing.billing_instant_check(
                as_of=form.cleaned_data["as_of"], dry_run=form.cleaned_data["dry_run"]
            )
        except ValidationError as e:
            form.add_error(None, e)
    if request.method == "POST" and form.is_valid():
        token = secrets.token_hex(8)
        _start(token, company.pk, form.cleaned_data["as_of"], form.cleaned_data["dry_run"])
        jobs = request.session.get(SESSION_KEY, [])
        request.session[SESSION_KEY] = ([[token, company.pk]] + jobs)[:20]
        return redirect("web:billing-job", token=token)
    due_now = billing.due_contracts(clock.now(), company_id=company.pk).count()
    ctx = {
        "form": form,
        "due_now": due_now,
        "next_due": billing.next_due_at(company_id=company.pk),
        "held": Contract.objects.filter(company=company).exclude(hold_kind="").count(),
        "recent": _recent(request),
    }
    return render(request, "web/billing/run.html", ctx)


def _recent(request: HttpRequest) -> list[BillingRun]:
    company = request.company  # type: ignore[attr-defined]
    tokens = [f"web:{t}" for t, cid in request.session.get(SESSION_KEY, []) if cid == company.pk]
    return list(BillingRun.objects.filter(trigger__in=tokens).order_by("-started_at")[:10])


def _job_state(request: HttpRequest, token: str) -> dict[str, Any]:
    company = request.company  # type: ignore[attr-defined]
    # Only jobs started from this session, in this company: a token is not a capability.
    if [token, company.pk] not in request.session.get(SESSION_KEY, []):
        raise Http404
    with _LOCK:
        state = dict(_JOBS.get(token, {}))
    run = BillingRun.objects.filter(trigger=f"web:{token}").first()
    if run is not None:
        state.setdefault("dry_run", False)
        state["run"] = run
        state["due_total"] = run.due_total
        state["issued"] = max(state.get("issued", 0), run.issued)
        if run.finished_at and state.get("state") != "error":
            state["state"] = "error" if run.error else "done"
            state.setdefault("error", run.error)
        elif "state" not in state:
            state["state"] = "running"  # started by another web process
    if not state:
        raise Http404
    if state.get("due_total"):
        state["percent"] = min(
            100, round(100 * (state["issued"] + state["held"]) / state["due_total"])
        )
    held_ids = [cid for cid, _reason in state.get("held_list", [])]
    names = dict(
        Contract.objects.filter(pk__in=held_ids, company=company).values_list("pk", "number")
    )
    state["held_rows"] = [
        (cid, names.get(cid, cid), reason) for cid, reason in state.get("held_list", [])
    ]
    return state


@company_required("accountant")
def billing_job(request: HttpRequest, token: str) -> HttpResponse:
    return render(
        request, "web/billing/job.html", {"token": token, "job": _job_state(request, token)}
    )


@company_required("accountant")
def billing_job_status(request: HttpRequest, token: str) -> HttpResponse:
    job = _job_state(request, token)
    response = render(request, "web/billing/job_status.html", {"token": token, "job": job})
    if job["state"] != "running":
        # htmx stops polling on 286.
        response.status_code = 286 if request.headers.get("HX-Request") else 200
    return response
