"""Products, clients and invoice series: lists with search/sort/pages, create and edit forms."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from recurent.catalog.models import Product
from recurent.catalog.services import product_create, product_update
from recurent.clients.models import Client
from recurent.clients.services import client_create, client_update
from recurent.common import clock
from recurent.companies.access import company_required, scoped
from recurent.companies.models import InvoiceSeries
from recurent.companies.services import series_create
from recurent.invoices.models import Invoice
from recurent.web import panels
from recurent.web.forms import ClientForm, ProductForm, SeriesForm
from recurent.web.services import client_flag_acknowledge
from recurent.web.templatetags.web import safe_reverse
from recurent.web.views.common import apply_errors, paginate, sort


def _q(request: HttpRequest) -> str:
    return (request.GET.get("q") or "").strip()


# --- products ---------------------------------------------------------------------------------


@company_required("viewer")
def product_list(request: HttpRequest) -> HttpResponse:
    qs = scoped(Product.objects, request)
    q = _q(request)
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q))
    active = request.GET.get("active", "")
    if active in {"1", "0"}:
        qs = qs.filter(active=active == "1")
    qs, current = sort(request, qs, {"code": "code", "name": "name", "price": "unit_price"}, "code")
    return render(
        request,
        "web/products/list.html",
        {"page": paginate(request, qs), "q": q, "sort": current, "active": active},
    )


def _product_form(request: HttpRequest, product: Product | None) -> HttpResponse:
    form = ProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        try:
            if product is None:
                product = product_create(company=request.company, **form.cleaned_data)  # type: ignore[attr-defined]
                messages.success(request, _("Product %(code)s added.") % {"code": product.code})
            else:
                product_update(product=product, **form.cleaned_data)
                messages.success(request, _("Product %(code)s saved.") % {"code": product.code})
            return redirect("web:products")
        except ValidationError as e:
            apply_errors(form, e)
    return render(request, "web/products/form.html", {"form": form, "object": product})


@company_required("accountant")
def product_create_view(request: HttpRequest) -> HttpResponse:
    return _product_form(request, None)


@company_required("accountant")
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _product_form(request, get_object_or_404(scoped(Product.objects, request), pk=pk))


# --- clients ----------------------------------------------------------------------------------


@company_required("viewer")
def client_list(request: HttpRequest) -> HttpResponse:
    qs = scoped(Client.objects, request)
    q = _q(request)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(tax_id__icontains=q) | Q(city__icontains=q))
    kind = request.GET.get("kind", "")
    if kind:
        qs = qs.filter(kind=kind)
    qs, current = sort(
        request, qs, {"name": "name", "city": "city", "created": "created_at"}, "name"
    )
    return render(
        request,
        "web/clients/list.html",
        {
            "page": paginate(request, qs),
            "q": q,
            "sort": current,
            "kind": kind,
            "kinds": Client._meta.get_field("kind").choices,
        },
    )


def _client_form(request: HttpRequest, client: Client | None) -> HttpResponse:
    form = ClientForm(request.POST or None, instance=client)
    if request.method == "POST" and form.is_valid():
        try:
            if client is None:
                client = client_create(company=request.company, **form.cleaned_data)  # type: ignore[attr-defined]
                messages.success(request, _("Client %(name)s added.") % {"name": client.name})
                if request.GET.get("then") == "invoice":  # from "New invoice": back to it
                    return redirect(reverse("web:invoice-add") + f"?client={client.pk}")
            else:
                client_update(client=client, **form.cleaned_data)
                messages.success(request, _("Client %(name)s saved.") % {"name": client.name})
            return redirect("web:client", pk=client.pk)
        except ValidationError as e:
            apply_errors(form, e)
    ctx = {
        "form": form,
        "object": client,
        "registry_url": safe_reverse("efactura:registry-lookup"),
        "registry_texts": {
            "asking": _("Asking ANAF's registry…"),
            "filled": _("Filled from ANAF's registry: check the fields and save."),
            "inactive": _("ANAF lists this taxpayer as inactive."),
            "not_found": _("ANAF's registry does not know this CUI."),
            "unavailable": _("ANAF's registry did not answer; fill the fields by hand."),
        },
    }
    return render(request, "web/clients/form.html", ctx)


@company_required("accountant")
def client_create_view(request: HttpRequest) -> HttpResponse:
    return _client_form(request, None)


@company_required("accountant")
def client_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _client_form(request, get_object_or_404(scoped(Client.objects, request), pk=pk))


@company_required("viewer")
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from recurent.invoices.models import Invoice

    client = get_object_or_404(scoped(Client.objects, request), pk=pk)
    contracts = client.contracts.select_related("series").order_by("-signed_on")[:50]
    invoices = panels.with_payment_state(
        Invoice.objects.filter(client=client).select_related("series").order_by("-issued_at"),
        clock.now(),
    )[:20]
    ctx: dict[str, Any] = {
        "state_labels": panels.payment_state_labels(),
        "client": client,
        "contracts": contracts,
        "invoices": invoices,
        "flags": panels.clients_flagged(client.company_id, client.pk),
    }
    return render(request, "web/clients/detail.html", ctx)


@company_required("accountant")
@require_POST
def client_flag_ack(request: HttpRequest, pk: int, flag: int) -> HttpResponse:
    client = get_object_or_404(scoped(Client.objects, request), pk=pk)
    check = next(
        (f for f in panels.clients_flagged(client.company_id, client.pk) if f.pk == flag), None
    )
    if check is None:
        raise Http404
    client_flag_acknowledge(check=check, as_of=clock.now())
    nxt = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = ""
    return redirect(nxt or reverse("web:client", args=[client.pk]))


# --- series -----------------------------------------------------------------------------------

SERIES_COUNT_CAP = 10_000


@company_required("viewer")
def series_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, scoped(InvoiceSeries.objects, request).order_by("code"))
    for s in page:
        # Counted up to a cap per series of the page, on the series' own numbering index: a
        # COUNT joined to every invoice took 0.8 s at 1,000,000 invoices (bench/web.py).
        n = Invoice.objects.filter(series=s).order_by()[: SERIES_COUNT_CAP + 1].count()
        s.invoice_count = f"{SERIES_COUNT_CAP}+" if n > SERIES_COUNT_CAP else n
    return render(request, "web/series/list.html", {"page": page})


@company_required("admin")
def series_create_view(request: HttpRequest) -> HttpResponse:
    form = SeriesForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            s = series_create(company=request.company, **form.cleaned_data)  # type: ignore[attr-defined]
            messages.success(request, _("Series %(code)s added.") % {"code": s.code})
            return redirect("web:series")
        except ValidationError as e:
            apply_errors(form, e)
    return render(request, "web/series/form.html", {"form": form})
