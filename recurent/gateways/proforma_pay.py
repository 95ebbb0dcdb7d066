"""Online payment of a proforma: a pay link per proforma, the provider's hosted page, and the
confirmed payment recorded through ``payments.proformas.proforma_payment_record`` so that the
proforma's invoice is issued as soon as its payments cover it (as a bank transfer does).

The same providers, sessions and notifications as an invoice's pay link (``services``): a
``PaySession`` names the proforma instead of an invoice (``gateway_session_one_target``), and a
``GatewayPayment`` keeps the provider's payment id unique per account, so a notification sent
twice records one payment. No card is saved from a proforma: a card agreement charges the
invoices of a contract, and a proforma's contract is billed by proforma first.
"""

from __future__ import annotations

import logging
import secrets as pysecrets
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from recurent.engine.money import round_money
from recurent.invoices.models import InvoiceDraft
from recurent.payments import selectors as pay
from recurent.payments import services as payments
from recurent.payments.models import PaymentMethod, PaymentSource
from recurent.payments.proformas import proforma_paid, proforma_payment_record

from .links import absolute
from .models import EventOutcome, GatewayAccount, GatewayPayment, PaySession
from .providers import Checkout, Notice, gateway

log = logging.getLogger("recurent.gateways")

SALT = "recurent.gateways.pay-proforma"  # not an invoice's pay token: another salt


def proforma_pay_token(draft_id: int) -> str:
    return signing.Signer(salt=SALT).sign(str(draft_id))


def proforma_from_token(token: str) -> int:
    """The proforma id of a valid pay link; raises signing.BadSignature."""
    value = signing.Signer(salt=SALT).unsign(token)
    try:
        return int(value)
    except ValueError:
        raise signing.BadSignature("malformed pay token") from None


def proforma_pay_url(draft_id: int) -> str:
    return absolute(
        reverse("gateways:pay-proforma", kwargs={"token": proforma_pay_token(draft_id)})
    )


def proforma_left(d: InvoiceDraft) -> Decimal:
    """What is left to pay on an open proforma; 0 once converted, expired or never issued."""
    if not d.proforma_number or d.invoice_id or d.proforma_expired_at or d.proforma_total is None:
        return Decimal(0)
    return max(round_money(d.proforma_total - proforma_paid(d)), Decimal(0))


def proforma_pay_start(
    *, proforma: InvoiceDraft, account: GatewayAccount, as_of: datetime
) -> Checkout:
    """Start the provider's hosted payment of what is left to pay on ``proforma``."""
    from .services import notify_url

    if account.company_id != proforma.company_id or not account.enabled:
        raise ValidationError({"provider": [_("This payment method is not available.")]})
    left = proforma_left(proforma)
    if left <= 0:
        raise ValidationError(
            {"proforma": [_("This proforma has nothing left to pay.")]}, code="nothing_due"
        )
    reference = f"P{proforma.pk}-{pysecrets.token_hex(5)}"
    session = PaySession.objects.create(
        account=account, proforma=proforma, reference=reference, amount=left,
        currency=proforma.currency, created_at=as_of,
    )  # fmt: skip
    client = proforma.client
    emails = [a for a in (client.emails or []) if a]
    link = proforma_pay_url(proforma.pk)
    checkout = gateway(account).start(
        reference=reference, amount=left, currency=proforma.currency,
        description=f"{proforma.company.legal_name} - proforma {proforma.proforma_number}",
        email=emails[0] if emails else "", name=client.name, save_card=False,
        return_url=link.rstrip("/") + "/done/", cancel_url=link,
        notify_url=notify_url(account), idempotency_key=reference,
    )  # fmt: skip
    PaySession.objects.filter(pk=session.pk).update(provider_ref=checkout.provider_ref)
    return checkout


def proforma_paid_online(
    account: GatewayAccount, session: PaySession, n: Notice, as_of: datetime
) -> tuple[str, str, None]:
    """A confirmed payment of a proforma's session (``services._apply``, in its transaction):
    one payment of the proforma, its invoice issued if now covered. (outcome, note, None)."""
    if GatewayPayment.objects.filter(account=account, provider_ref=n.provider_ref).exists():
        return EventOutcome.DUPLICATE, f"payment {n.provider_ref} already recorded", None
    amount = round_money(n.amount or Decimal(0))
    flag = ""
    if n.currency != session.currency:
        # Not recorded against the proforma: its payments are in its currency.
        flag = f"paid {amount} {n.currency}, proforma is in {session.currency}: record it by hand"
        log.warning("gateways: proforma payment %s flagged: %s", n.provider_ref, flag)
        return EventOutcome.FLAGGED, flag, None
    if amount != session.amount:
        flag = f"paid {amount} {n.currency}, {session.amount} {session.currency} was asked"
    d = InvoiceDraft.objects.select_related("company", "client").get(pk=session.proforma_id or 0)
    kw: dict[str, Any] = dict(
        date=pay.day_of(as_of), amount=amount, as_of=as_of, user=None, method=PaymentMethod.CARD,
        source=PaymentSource.ONLINE,
        reference=f"{account.get_provider_display()} {n.provider_ref}"[:200],
    )  # fmt: skip
    with transaction.atomic():
        try:
            with transaction.atomic():
                payment = proforma_payment_record(proforma=d.pk, **kw)
        except ValidationError as e:
            # Expired (or otherwise closed) since the page was opened: the money is the
            # client's all the same, kept as its credit for a person to look at.
            note = f"proforma {d.proforma_number} not payable ({'; '.join(e.messages)})"
            flag = f"{note}: kept as the client's credit"
            payment = payments.payment_record(
                company=d.company, client=d.client, currency=n.currency, allocations=[], **kw
            )
        invoice_id, expired = (
            InvoiceDraft.objects.filter(pk=d.pk)
            .values_list("invoice_id", "proforma_expired_at")
            .get()
        )
        if invoice_id is None and expired is not None:
            # Expired while its page was open: no invoice; the payment waits as credit.
            note = f"proforma {d.proforma_number} expired: the payment waits as the client's credit"
            flag = f"{flag}; {note}" if flag else note
        GatewayPayment.objects.create(
            account=account, provider_ref=n.provider_ref[:120], payment=payment,
            proforma_id=session.proforma_id, invoice_id=invoice_id, flag=flag[:300],
            created_at=as_of,
        )  # fmt: skip
    return (EventOutcome.FLAGGED if flag else EventOutcome.RECORDED), flag, None


def proforma_pay_link(d: InvoiceDraft) -> str:
    """The proforma's pay link for its email, or "" when it cannot be paid online (no provider
    enabled, nothing left to pay). Set as invoices.proforma_period.PROFORMA_PAY_LINK (wiring)."""
    if not GatewayAccount.objects.filter(company_id=d.company_id, enabled=True).exists():
        return ""
    return proforma_pay_url(d.pk) if proforma_left(d) > 0 else ""
