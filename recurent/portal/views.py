"""The client's portal: one client's contracts, invoices and payment state, reached only through
a signed link. Every query goes through the client the token names; any id in the URL that is
not that client's answers 404, a bad, expired or revoked token 403."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from recurent.catalog.models import Product
from recurent.clients.models import Client
from recurent.clients.portal_links import client_from_token, portal_url
from recurent.common import clock
from recurent.common.errors import messages_of
from recurent.companies.access import company_required, scoped
from recurent.contracts.indexation import indexations_for_client
from recurent.contracts.models import Contract
from recurent.invoices.grouping import contracts_on
from recurent.invoices.models import Invoice
from recurent.mail.services import client_language
from recurent.payments import selectors as pay

from . import services

# The payment state of an invoice as the client reads it.
STATE_LABELS = {
    "unpaid": gettext_lazy("unpaid"),
    "partially_paid": gettext_lazy("partially paid"),
    "paid": gettext_lazy("paid"),
    "overdue": gettext_lazy("overdue"),
    "cancelled": pgettext_lazy("invoice", "cancelled"),
    "collection_requested": gettext_lazy("direct debit requested"),
    "credit_note": gettext_lazy("credit note"),
}

# A proforma's state as the client reads it (portal/_proformas.html).
PROFORMA_LABELS = {
    "open": gettext_lazy("open"),
    "paid": gettext_lazy("paid"),
    "invoiced": gettext_lazy("invoiced"),
    "expired": gettext_lazy("expired"),
}

# The portal services refuse with coded, translatable messages (in the client's language here);
# the page puts the name of what a refusal is about before it.
FIELD_LABELS = {
    "quantity": gettext_lazy("Quantity"),
    "product": gettext_lazy("Product"),
    "contract": gettext_lazy("Contract"),
}


def portal_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The client named by the token, and its language for everything the portal says: the
    client's own setting, else Romanian for a client in Romania and English for one abroad (the
    same rule as its emails). Not the visitor's browser or cookie: the link may be forwarded."""

    @wraps(view)
    def wrapper(request: HttpRequest, token: str, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            client_id = client_from_token(token)
        except signing.SignatureExpired:
            return _denied(request, "expired")
        except signing.BadSignature:
            return _denied(request, "invalid")
        client = Client.objects.select_related("company").filter(pk=client_id).first()
        if client is None:
            return _denied(request, "invalid")
        language = str(client_language(client))  # a plain str: a header value
        with translation.override(language):
            response = view(request, client, token, *args, **kwargs)
        response.headers["Content-Language"] = language
        return response

    return wrapper


def _denied(request: HttpRequest, reason: str) -> HttpResponse:
    # Whose link it was is unknown: the page says it in Romanian and in English.
    with translation.override("ro"):
        return render(request, "portal/denied.html", {"reason": reason}, status=403)


@portal_view
def home(request: HttpRequest, client: Client, token: str) -> HttpResponse:
    as_of = clock.now()
    contracts = list(
        Contract.objects.filter(client=client)
        .prefetch_related("lines__product")
        .order_by("-signed_on", "number")
    )
    for c in contracts:
        c.open_lines = [li for li in c.lines.all() if li.until_index is None]  # type: ignore[attr-defined]
        c.can_change = services.changeable(c)  # type: ignore[attr-defined]
    invoices = pay.with_payment_state(
        Invoice.objects.filter(client=client).order_by("-issued_at", "-number"), as_of
    )[:100]
    from recurent.documents.models import InvoiceDocument

    # A PDF is rendered the first time it is asked for: every invoice offers it; the XML once
    # the worker has built it.
    have = set(
        InvoiceDocument.objects.filter(invoice__client=client).values_list("invoice_id", "kind")
    ) | {(inv.pk, "pdf") for inv in invoices}
    # A grouped invoice (issue 18) names the contracts it bills, a line group each.
    groups = contracts_on(invoice_ids=[inv.pk for inv in invoices])
    for inv in invoices:
        inv.contract_numbers = groups.get(inv.pk, [])  # type: ignore[attr-defined]
    return render(
        request,
        "portal/home.html",
        {
            "client": client,
            "company": client.company,
            "token": token,
            "contracts": contracts,
            "invoices": invoices,
            "docs": {f"{i}-{k}" for i, k in have},
            "due": pay.client_amount_due(client, as_of),
            "price_changes": indexations_for_client(client_id=client.pk, as_of=as_of),
            "labels": STATE_LABELS,
            "proformas": _proformas(client),
            "proforma_labels": PROFORMA_LABELS,
            "products": Product.objects.filter(
                company_id=client.company_id, self_service=True, active=True
            ),
        },
    )


def _proformas(client: Client) -> list[Any]:
    """The client's proformas, newest first: open (what is left, and the online pay link when
    the company takes cards: PROFORMA_PAY_LINK, wired to gateways as for the proforma's email),
    paid (its invoice issued and covered by its payments), invoiced by hand, or expired."""
    from recurent.invoices.models import InvoiceDraft
    from recurent.invoices.proforma_period import PROFORMA_PAY_LINK
    from recurent.payments.proformas import proforma_paid

    rows = list(
        InvoiceDraft.objects.filter(client=client)
        .exclude(proforma_number="")
        .select_related("invoice")
        .defer("proforma_pdf")
        .order_by("-proforma_issued_at", "-pk")[:50]
    )
    for d in rows:
        paid = proforma_paid(d)
        total = d.proforma_total or Decimal(0)
        d.left = max(total - paid, Decimal(0))  # type: ignore[attr-defined]
        d.pay_url = ""  # type: ignore[attr-defined]
        if d.proforma_expired_at is not None:
            d.state = "expired"  # type: ignore[attr-defined]
        elif d.invoice_id is not None:
            d.state = "paid" if d.left == 0 else "invoiced"  # type: ignore[attr-defined]
        else:
            d.state = "open"  # type: ignore[attr-defined]
            d.pay_url = PROFORMA_PAY_LINK[0](d) if PROFORMA_PAY_LINK else ""  # type: ignore[attr-defined]
    return rows


@portal_view
def proforma_pdf(request: HttpRequest, client: Client, token: str, draft_id: int) -> HttpResponse:
    """The proforma's PDF as it was sent (stored when it was issued)."""
    from recurent.invoices.models import InvoiceDraft

    d = get_object_or_404(
        InvoiceDraft.objects.filter(client=client).exclude(proforma_number=""), pk=draft_id
    )
    if not d.proforma_pdf:
        raise Http404("no PDF")
    resp = HttpResponse(bytes(d.proforma_pdf), content_type="application/pdf")
    resp["Content-Disposition"] = f'attachment; filename="{d.proforma_number}.pdf"'
    return resp


@portal_view
def document(
    request: HttpRequest, client: Client, token: str, invoice_id: int, kind: str
) -> HttpResponse:
    from recurent.documents.api import document as stored

    inv = get_object_or_404(Invoice.objects.filter(client=client), pk=invoice_id)
    doc = stored(inv.pk, kind)
    if doc is None:
        raise Http404("no such document")
    resp = HttpResponse(bytes(doc.content), content_type=doc.content_type)
    resp["Content-Disposition"] = f'attachment; filename="{doc.filename}"'
    return resp


def _fail(request: HttpRequest, err: ValidationError) -> None:
    for field, msg in messages_of(err):
        text = msg
        # "quantity[12]" is about the line 12 of the contract: named by what it is.
        label = FIELD_LABELS.get(field.split("[", 1)[0], field)
        messages.error(request, text if field == "__all__" else f"{label}: {text}")


@require_POST
@portal_view
def unsubscribe(request: HttpRequest, client: Client, token: str, contract_id: int) -> HttpResponse:
    contract = get_object_or_404(Contract.objects.filter(client=client), pk=contract_id)
    try:
        services.portal_unsubscribe(client=client, contract=contract, as_of=clock.now())
    except ValidationError as e:
        _fail(request, e)
    else:
        messages.success(
            request,
            _(
                "The subscription will end at the end of the paid period. "
                "We have emailed you the confirmation."
            ),
        )
    return redirect("portal:home", token=token)


@require_POST
@portal_view
def change(request: HttpRequest, client: Client, token: str, contract_id: int) -> HttpResponse:
    contract = get_object_or_404(Contract.objects.filter(client=client), pk=contract_id)
    quantities: dict[int, str] = {}
    switch: dict[int, int] = {}
    for key in request.POST:
        value = str(request.POST.get(key, ""))
        kind, _sep, line = key.partition("_")
        if not line.isdigit():
            continue
        if kind == "qty" and value.strip():
            quantities[int(line)] = value.strip()
        elif kind == "product" and value.isdigit():
            switch[int(line)] = int(value)
    try:
        services.portal_change(
            client=client,
            contract=contract,
            quantities=quantities,
            switch=switch,
            as_of=clock.now(),
        )
    except ValidationError as e:
        _fail(request, e)
    else:
        messages.success(
            request,
            _(
                "The change takes effect from the next period. We have emailed you the confirmation."
            ),
        )
    return redirect("portal:home", token=token)


# --- for the company (logged-in users) ---------------------------------------------------------


@company_required("accountant")
def link_admin(request: HttpRequest, client_id: int) -> HttpResponse:
    """Show a client's current portal link, or revoke all of them (POST)."""
    client = get_object_or_404(scoped(Client.objects, request), pk=client_id)
    if request.method == "POST":
        services.portal_revoke(client=client, as_of=clock.now(), user=request.user)  # type: ignore[arg-type]
        messages.success(request, _("Every portal link of the client has been revoked."))
        return redirect("portal:link-admin", client_id=client.pk)
    return render(
        request, "portal/link_admin.html", {"client": client, "url": portal_url(client.pk)}
    )
