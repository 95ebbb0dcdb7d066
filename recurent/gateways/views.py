"""Online payments: the public pay page, the providers' notification endpoint, the client's
withdrawal from the portal and the company's provider settings. Views stay thin: services act."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from recurent.common import clock
from recurent.common.errors import messages_of
from recurent.companies.access import company_required
from recurent.companies.models import Role
from recurent.invoices.models import Invoice, InvoiceKind
from recurent.mail.services import client_language
from recurent.payments import selectors as balances

from . import selectors, services
from .links import invoice_from_token
from .models import AgreementStatus, CardAgreement, GatewayAccount, Provider
from .providers import GatewayError

# Where a pay page's form may lead: the POST answers with a redirect to the processor's hosted
# page, and the browser applies the page's CSP form-action to that redirect too.
HOSTED_ORIGINS = {
    Provider.STRIPE: ["https://checkout.stripe.com"],
    Provider.NETOPIA: [
        "https://secure.mobilpay.ro",
        "https://secure-sandbox.netopia-payments.com",
        "https://secure.sandbox.netopia-payments.com",
    ],
}


def _allow_processors(request: HttpRequest, response: HttpResponse, accounts: list[Any]) -> None:
    from urllib.parse import urlsplit

    from recurent.common import csp

    origins: list[str] = []
    for a in accounts:
        origins += HOSTED_ORIGINS.get(a.provider, [])
        if a.api_base:  # a proxy or a stand-in serves the hosted page from its own origin
            u = urlsplit(a.api_base)
            origins.append(f"{u.scheme}://{u.netloc}")
    policy = csp.policy(getattr(request, "csp_nonce", ""))
    extra = " ".join(dict.fromkeys(origins))
    response[csp.HEADER] = policy.replace(
        "form-action 'self'", f"form-action 'self' {extra}".rstrip()
    )


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _invoice(token: str) -> Invoice:
    try:
        pk = invoice_from_token(token)
    except signing.BadSignature:
        raise Http404("no such pay link") from None
    return get_object_or_404(Invoice.objects.select_related("company", "client"), pk=pk)


def pay(request: HttpRequest, token: str) -> HttpResponse:
    """The pay link: what is left to pay, a button per provider, the optional card agreement."""
    invoice = _invoice(token)
    language = str(client_language(invoice.client))
    with translation.override(language):
        response = _pay(request, token, invoice)
    response.headers["Content-Language"] = language
    return response


def _pay(request: HttpRequest, token: str, invoice: Invoice) -> HttpResponse:
    accounts = services.enabled_accounts(invoice.company_id)
    left = balances.outstanding(invoice) if invoice.kind == InvoiceKind.INVOICE else 0
    contract = invoice.contract if invoice.contract_id else None
    active = (
        CardAgreement.objects.filter(contract=contract, status=AgreementStatus.ACTIVE).first()
        if contract
        else None
    )
    consent = (
        services.consent_text(
            company_name=invoice.company.legal_name, contract_number=contract.number
        )
        if contract
        else ""
    )
    errors: list[str] = []
    if request.method == "POST" and left and accounts:
        account = next((a for a in accounts if str(a.pk) == request.POST.get("account")), None)
        if account is None:
            errors.append(_("Choose a payment method."))
        else:
            try:
                checkout = services.pay_start(
                    invoice=invoice, account=account,
                    save_card=bool(request.POST.get("save_card")) and contract is not None,
                    consent_name=str(request.POST.get("consent_name", "")),
                    consent_shown=consent, ip=_ip(request), as_of=clock.now(),
                )  # fmt: skip
            except ValidationError as e:
                errors += [m for _f, m in messages_of(e)]
            except GatewayError:
                errors.append(
                    _("The payment processor cannot be reached now. Try again in a few minutes.")
                )
            else:
                return HttpResponseRedirect(checkout.url)
    status = 400 if errors else 200
    response = render(
        request, "gateways/pay.html",
        {"invoice": invoice, "left": left, "accounts": accounts, "contract": contract,
         "active": active, "consent": consent, "errors": errors, "token": token},
        status=status,
    )  # fmt: skip
    _allow_processors(request, response, accounts)
    return response


def pay_done(request: HttpRequest, token: str) -> HttpResponse:
    """Where the provider sends the client back: the payment is confirmed by the notification."""
    invoice = _invoice(token)
    language = str(client_language(invoice.client))
    with translation.override(language):
        left = balances.outstanding(invoice)
        response = render(
            request, "gateways/done.html", {"invoice": invoice, "left": left, "token": token}
        )
    response.headers["Content-Language"] = language
    return response


@csrf_exempt
@require_POST
def notify(request: HttpRequest, account_id: int) -> HttpResponse:
    """Stripe's webhook / NETOPIA's IPN for one provider account (signed; checked by the service)."""
    account = get_object_or_404(GatewayAccount, pk=account_id)
    handled = services.notification_handle(
        account=account, body=request.body, headers=request.headers, as_of=clock.now()
    )
    return HttpResponse(handled.body, status=handled.status, content_type=handled.content_type)


@require_POST
def withdraw(request: HttpRequest, token: str, agreement_id: int) -> HttpResponse:
    """The client withdraws a card agreement from the portal (the portal's signed link)."""
    from recurent.clients.portal_links import client_from_token

    try:
        client_id = client_from_token(token)
    except signing.BadSignature:
        raise Http404("no such portal link") from None
    agreement = get_object_or_404(
        CardAgreement.objects.select_related("client"), pk=agreement_id, client_id=client_id
    )
    with translation.override(str(client_language(agreement.client))):
        try:
            services.agreement_withdraw(agreement=agreement, ip=_ip(request), as_of=clock.now())
        except ValidationError as e:
            for _f, m in messages_of(e):
                messages.error(request, m)
        else:
            messages.success(
                request,
                _(
                    "Automatic card payments are stopped. Nothing more will be charged to this card."
                ),
            )
    return redirect("portal:home", token=token)


# --- the company's provider settings ----------------------------------------------------------


class AccountForm(forms.Form):
    enabled = forms.BooleanField(label=gettext_lazy("Enabled"), required=False)
    test_mode = forms.BooleanField(label=gettext_lazy("Test mode (no real money)"), required=False)
    secret = forms.CharField(
        label=gettext_lazy("API key"), required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )  # fmt: skip
    webhook_secret = forms.CharField(
        label=gettext_lazy("Webhook signing secret (Stripe)"), required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )  # fmt: skip
    pos_signature = forms.CharField(label=gettext_lazy("POS signature (NETOPIA)"), required=False)
    public_key = forms.CharField(
        label=gettext_lazy("NETOPIA public key (PEM)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    api_base = forms.URLField(
        label=gettext_lazy("API address (leave empty)"), required=False, assume_scheme="https"
    )
    retry_days = forms.CharField(
        label=gettext_lazy("Retry a declined charge after (days)"), initial="3,5,7"
    )


@company_required(Role.ADMIN)
def settings_page(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    have = {a.provider: a for a in GatewayAccount.objects.filter(company=company)}
    forms_by: dict[str, AccountForm] = {}
    status = 200
    for provider in Provider.values:
        a = have.get(provider)
        initial: dict[str, Any] = (
            {
                "enabled": a.enabled,
                "test_mode": a.test_mode,
                "pos_signature": a.pos_signature,
                "public_key": a.public_key,
                "api_base": a.api_base,
                "retry_days": a.retry_days,
            }  # fmt: skip
            if a
            else {"test_mode": True, "retry_days": "3,5,7"}
        )
        posted = request.method == "POST" and request.POST.get("provider") == provider
        forms_by[provider] = AccountForm(
            request.POST if posted else None, initial=initial, prefix=provider
        )
        if posted:
            form = forms_by[provider]
            if form.is_valid():
                try:
                    services.account_save(company=company, provider=provider, **form.cleaned_data)
                except ValidationError as e:
                    for field, msg in messages_of(e):
                        form.add_error(field if field in form.fields else None, msg)
                else:
                    messages.success(request, _("Payment settings saved."))
                    return redirect("gateways:settings")
            status = 400
    rows = [(p, label, forms_by[p], have.get(p)) for p, label in Provider.choices]
    notify_urls = {p: services.notify_url(a) for p, a in have.items()}
    return render(
        request, "gateways/settings.html",
        {"rows": rows, "notify_urls": notify_urls, "figures": selectors.figures(company.pk, clock.now()), "agreements": selectors.agreements(company.pk)},
        status=status,
    )  # fmt: skip
