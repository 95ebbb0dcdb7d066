"""Blocks other screens include: the portal's online payments and card agreements, the
dashboard's online-payment figures. Each renders nothing for a company without a provider."""

from __future__ import annotations

from typing import Any

from django import template

from recurent.common import clock

from ..links import pay_url
from ..models import AgreementStatus, CardAgreement, GatewayAccount
from ..selectors import figures

register = template.Library()


@register.inclusion_tag("gateways/_portal.html", takes_context=True)
def gateways_portal(context: Any, client: Any, token: str) -> dict[str, Any]:
    from recurent.invoices.models import Invoice
    from recurent.payments import selectors as pay

    has = GatewayAccount.objects.filter(company_id=client.company_id, enabled=True).exists()
    open_invoices = (
        list(pay.open_invoices(Invoice.objects.filter(client=client), clock.now())[:20])
        if has
        else []
    )
    agreements = list(
        CardAgreement.objects.filter(client=client, status=AgreementStatus.ACTIVE).select_related(
            "contract"
        )
    )
    return {
        "csrf_token": context.get("csrf_token"),
        "token": token,
        "payable": [(inv, pay_url(inv.pk)) for inv in open_invoices],
        "agreements": agreements,
        "has": has,
    }


@register.inclusion_tag("gateways/_dashboard.html", takes_context=True)
def gateways_dashboard(context: Any) -> dict[str, Any]:
    request = context.get("request")
    company = getattr(request, "company", None)
    if company is None or not GatewayAccount.objects.filter(company=company).exists():
        return {"show": False}
    return {"show": True, "f": figures(company.pk, clock.now())}
