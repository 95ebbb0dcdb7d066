"""A client or a product made from the contract form, without leaving it.

The dialog posts here; a saved record answers 201 with what the contract form needs to offer and
choose it, a refused one answers 400 with the dialog's fields re-rendered beside their errors.
Both go through the same services as the client and product pages.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from recurent.catalog.services import product_create
from recurent.clients.services import client_create
from recurent.companies.access import company_required
from recurent.web.forms_inline import (
    CLIENT_PREFIX,
    PRODUCT_PREFIX,
    QuickClientForm,
    QuickProductForm,
)
from recurent.web.views.common import apply_errors
from recurent.web.views.contracts import _product_options


def _refused(request: HttpRequest, form: BaseForm) -> HttpResponse:
    return render(request, "web/contracts/quick_fields.html", {"form": form}, status=400)


@company_required("accountant")
@require_POST
def quick_client(request: HttpRequest) -> HttpResponse:
    form = QuickClientForm(request.POST, prefix=CLIENT_PREFIX)
    if form.is_valid():
        try:
            client = client_create(company=request.company, **form.cleaned_data)  # type: ignore[attr-defined]
        except ValidationError as e:
            apply_errors(form, e)
        else:
            return JsonResponse({"id": client.pk, "label": str(client)}, status=201)
    return _refused(request, form)


@company_required("accountant")
@require_POST
def quick_product(request: HttpRequest) -> HttpResponse:
    form = QuickProductForm(request.POST, prefix=PRODUCT_PREFIX)
    if form.is_valid():
        try:
            p = product_create(company=request.company, **form.cleaned_data)  # type: ignore[attr-defined]
        except ValidationError as e:
            apply_errors(form, e)
        else:
            return JsonResponse(_product_option(p), status=201)
    return _refused(request, form)


def _product_option(p: Any) -> dict[str, Any]:
    """What a product <option> of the contract form carries (line_row.html)."""
    rate = _product_options([p])[0]["rate"]
    return {
        "id": p.pk,
        "label": f"{p.code} · {p.name} ({p.currency})",
        "price": str(p.unit_price),
        "vat": str(rate if rate is not None else 0),
        "currency": p.currency,
    }
