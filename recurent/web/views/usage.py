"""The usage page of a contract period: what is recorded for its variable lines, a form per
line (a quantity, or a meter reading), a CSV upload, and the lines' usage settings.

The rules live in contracts.usage (checks, locks, audit) and engine.usage (pricing); this
module turns the forms into the services' arguments."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from recurent.common import clock
from recurent.companies.access import company_required, has_role, scoped
from recurent.contracts import usage as usage_services
from recurent.contracts.models import Contract, ContractStatus, UsageRecord, UsageSource
from recurent.web.views.common import error_text

# Most files are a few hundred rows; this keeps one upload's work bounded.
MAX_UPLOAD = 2 * 1024 * 1024


def _tiers(text: str) -> list[dict[str, str | None]]:
    """``100:1.50; :1.20`` -> [{"up_to": "100", "unit_price": "1.50"}, {"up_to": None, ...}]."""
    out: list[dict[str, str | None]] = []
    for part in text.replace("\n", ";").split(";"):
        if not part.strip():
            continue
        up_to, _sep, price = part.partition(":")
        out.append({"up_to": up_to.strip() or None, "unit_price": price.strip()})
    return out


def _tiers_text(tiers: list[dict[str, Any]]) -> str:
    return "; ".join(f"{t.get('up_to') or ''}:{t.get('unit_price')}" for t in tiers or [])


def _post(request: HttpRequest, contract: Contract, index: int) -> None:
    p, now = request.POST, clock.now()
    user: Any = request.user
    action = p.get("action", "")
    if action == "record":
        common: dict[str, Any] = {
            "contract": contract, "line_position": int(p.get("line") or 0), "as_of": now,
            "user": user, "period_index": index, "source": UsageSource.WEB,
            "key": p.get("key", "")[:100],
        }  # fmt: skip
        if p.get("reading", "").strip():
            usage_services.reading_record(
                reading=p["reading"], previous=p.get("previous") or None, **common
            )
        else:
            usage_services.usage_record(quantity=p.get("quantity", ""), **common)
        messages.success(request, _("Usage recorded for this period."))
    elif action == "remove":
        rec = get_object_or_404(UsageRecord, pk=p.get("record") or 0, contract=contract)
        usage_services.usage_remove(record=rec, user=user)
        messages.success(request, _("Removed: it will not be invoiced."))
    elif action == "import":
        f = request.FILES.get("file")
        if f is None or (f.size or 0) > MAX_UPLOAD:
            raise ValidationError({"file": _("choose a CSV file of at most 2 MB")})
        try:
            text = f.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError({"file": _("the file is not UTF-8 text")}) from None
        done = usage_services.usage_import_csv(
            company_id=contract.company_id, text=text, as_of=now, user=user
        )
        messages.success(request, _("%(n)s usage rows imported.") % {"n": len(done)})
    elif action == "settings":
        usage_services.line_usage_set(
            contract=contract, line_position=int(p.get("line") or 0), user=user,
            variable=p.get("variable") == "on", meter=p.get("meter", "sum"),
            tiers=_tiers(p.get("tiers", "")), minimum_charge=p.get("minimum_charge") or None,
            default_quantity=p.get("default_quantity") or None,
        )  # fmt: skip
        messages.success(request, _("Line settings saved."))
    elif action == "missing":
        usage_services.contract_missing_usage_set(
            contract=contract, user=user, value=p.get("missing_usage", "")
        )
        messages.success(request, _("Saved."))


@company_required("viewer")
def contract_usage(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_object_or_404(scoped(Contract.objects, request), pk=pk)
    raw = request.GET.get("period", "")
    index = int(raw) - 1 if raw.isdigit() and int(raw) > 0 else contract.next_index
    if request.method == "POST":
        if not has_role(request, "accountant"):
            return HttpResponse(status=403)
        try:
            _post(request, contract, index)
        except ValidationError as e:
            messages.error(request, error_text(e))
        return redirect(reverse("web:contract-usage", args=[contract.pk]) + f"?period={index + 1}")
    try:
        period = contract.schedule().period(index)
    except ValueError:
        period = None
    lines = [
        li
        for li in contract.lines.select_related("product").order_by("position", "pk")
        if li.applies_to(index)
    ]
    records = UsageRecord.objects.filter(contract=contract, period_index=index).select_related(
        "invoice"
    )
    ctx = {
        "contract": contract,
        "period": period,
        "number": index + 1,
        "invoiced": index < contract.next_index,
        "lines": [(li, _tiers_text(li.tiers)) for li in lines],
        "records": records,
        "can_edit": has_role(request, "accountant")
        and contract.status not in {ContractStatus.CANCELLED, ContractStatus.ENDED},
    }
    return render(request, "web/contracts/usage.html", ctx)
