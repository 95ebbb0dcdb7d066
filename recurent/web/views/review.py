"""The review queue: contract invoices waiting for a person before they are numbered.

Thin: ``invoices.review`` approves (numbers and issues), skips and changes the drafts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from recurent.common import clock
from recurent.common.errors import messages_of
from recurent.companies.access import company_required, scoped
from recurent.invoices.models import InvoiceDraft, ReviewStatus
from recurent.invoices.review import (
    review_approve,
    review_approve_many,
    review_queue,
    review_skip,
    review_update,
)

QUEUE_LIMIT = 500


def error_text(err: ValidationError) -> str:
    """The service's reasons, each with the line it names (``lines[2].quantity``)."""
    return "; ".join(m if f in ("__all__", "draft") else f"{f}: {m}" for f, m in messages_of(err))


@company_required("viewer")
def review_list(request: HttpRequest) -> HttpResponse:
    """GET: the drafts waiting, oldest first; POST (accountant): approve or skip the ticked ones."""
    company = request.company  # type: ignore[attr-defined]
    if request.method == "POST":
        ids = [int(i) for i in request.POST.getlist("draft") if i.isdigit()]
        drafts = list(review_queue(company_id=company.pk).filter(pk__in=ids))
        action, now = request.POST.get("action"), clock.now()
        if not drafts:
            messages.error(request, _("Tick at least one invoice."))
        elif action == "approve":
            result = review_approve_many(drafts=drafts, as_of=now, user=request.user)
            if result.invoices:
                numbers = ", ".join(inv.full_number for inv in result.invoices)
                messages.success(request, _("Issued: %(numbers)s.") % {"numbers": numbers})
            for pk, err in result.errors:
                messages.error(request, f"#{pk}: {error_text(err)}")
        elif action == "skip":
            for d in drafts:
                try:
                    review_skip(draft=d, as_of=now, user=request.user)
                except ValidationError as e:
                    messages.error(request, f"#{d.pk}: {error_text(e)}")
            messages.success(request, _("Skipped: no number was taken."))
        return redirect("web:review")
    stale_days = company.review_stale_days
    since = clock.now()
    rows = list(review_queue(company_id=company.pk).prefetch_related("lines")[:QUEUE_LIMIT])
    for d in rows:
        d.stale = (since - d.created_at).days >= stale_days  # type: ignore[attr-defined]
    return render(request, "web/review/list.html", {"drafts": rows, "stale_days": stale_days})


@company_required("viewer")
def review_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the draft with its lines; POST (accountant): new quantities and notes, or approve."""
    qs = scoped(InvoiceDraft.objects.select_related("contract", "client"), request)
    draft = get_object_or_404(qs, pk=pk, review_status=ReviewStatus.PENDING)
    lines = list(draft.lines.all())
    errors: list[str] = []
    if request.method == "POST":
        quantities: dict[int, Any] = {}
        for li in lines:
            raw = request.POST.get(f"quantity-{li.position}")
            if raw is not None and li.quantity >= 0:
                quantities[li.position] = raw.strip().replace(",", ".")
        try:
            review_update(draft=draft, as_of=clock.now(), quantities=quantities,
                          notes=request.POST.get("notes", draft.notes))  # fmt: skip
            if request.POST.get("action") == "approve":
                inv = review_approve(draft=draft, as_of=clock.now(), user=request.user)
                messages.success(
                    request, _("Invoice %(number)s issued.") % {"number": inv.full_number}
                )
                return redirect("web:invoice", pk=inv.pk)
        except ValidationError as e:
            errors.append(error_text(e))
        else:
            messages.success(request, _("Draft saved. It has no number until it is approved."))
            return redirect("web:review-draft", pk=draft.pk)
        for li in lines:  # what was typed, shown again next to the error
            typed = request.POST.get(f"quantity-{li.position}")
            if typed is not None:
                li.typed = typed  # type: ignore[attr-defined]
    ctx = {"draft": draft, "lines": lines, "errors": errors, "zero": Decimal(0)}
    return render(request, "web/review/edit.html", ctx, status=400 if errors else 200)
