"""A proforma's pay page and the page the provider sends the client back to (proforma_pay).
Views stay thin: proforma_pay acts; the processors' CSP as on an invoice's pay page."""

from __future__ import annotations

from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import translation
from django.utils.translation import gettext as _

from recurent.common import clock
from recurent.common.errors import messages_of
from recurent.invoices.models import InvoiceDraft
from recurent.mail.services import client_language

from . import services
from .proforma_pay import proforma_from_token, proforma_left, proforma_pay_start
from .providers import GatewayError
from .views import _allow_processors


def _proforma(token: str) -> InvoiceDraft:
    try:
        pk = proforma_from_token(token)
    except signing.BadSignature:
        raise Http404("no such pay link") from None
    qs = InvoiceDraft.objects.select_related("company", "client").exclude(proforma_number="")
    return get_object_or_404(qs, pk=pk)


def pay_proforma(request: HttpRequest, token: str) -> HttpResponse:
    """What is left to pay on the proforma and a button per provider."""
    d = _proforma(token)
    language = str(client_language(d.client))
    with translation.override(language):
        accounts = services.enabled_accounts(d.company_id)
        left = proforma_left(d)
        errors: list[str] = []
        if request.method == "POST" and left and accounts:
            account = next((a for a in accounts if str(a.pk) == request.POST.get("account")), None)
            if account is None:
                errors.append(_("Choose a payment method."))
            else:
                try:
                    checkout = proforma_pay_start(proforma=d, account=account, as_of=clock.now())
                except ValidationError as e:
                    errors += [m for _f, m in messages_of(e)]
                except GatewayError:
                    errors.append(
                        _(
                            "The payment processor cannot be reached now. Try again in a few minutes."
                        )
                    )
                else:
                    return HttpResponseRedirect(checkout.url)
        response = render(
            request, "gateways/proforma_pay.html",
            {"proforma": d, "left": left, "accounts": accounts, "errors": errors, "done": False},
            status=400 if errors else 200,
        )  # fmt: skip
    _allow_processors(request, response, accounts)
    response.headers["Content-Language"] = language
    return response


def pay_proforma_done(request: HttpRequest, token: str) -> HttpResponse:
    """Back from the provider: the payment is confirmed by the notification, not by this page."""
    d = _proforma(token)
    language = str(client_language(d.client))
    with translation.override(language):
        response = render(
            request, "gateways/proforma_pay.html",
            {"proforma": d, "left": proforma_left(d), "accounts": [], "errors": [], "done": True},
        )  # fmt: skip
    response.headers["Content-Language"] = language
    return response
