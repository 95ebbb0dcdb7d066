"""Writes of online payments: provider accounts, pay links, notifications, card agreements and the
automatic charges.

Money: a provider's payment becomes a ``payments.Payment`` (method card) through
``payments.services.payment_record`` and its allocation rules; a refund becomes
``payment_reverse``. Nothing here allocates or computes a balance by itself.

Exactly once:
- a notification is recorded once (``GatewayEvent``: unique provider event id per account);
- a provider payment becomes one Recurent payment whichever events announce it
  (``GatewayPayment``: unique provider payment id per account);
- an automatic charge is an outbox row written in the issuing transaction (READY), marked
  STARTED before the provider is called after the commit, and called with an idempotency key
  fixed per (invoice, attempt): a crash between the provider's answer and our commit leaves it
  STARTED, and the next run asks the provider again with the same key, which answers with the
  same charge instead of making a second one.
"""

from __future__ import annotations

import logging
import secrets as pysecrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from recurent.common import clock
from recurent.engine.money import round_money
from recurent.invoices.models import Invoice, InvoiceKind
from recurent.payments import selectors as pay
from recurent.payments import services as payments
from recurent.payments.models import PaymentMethod, PaymentSource

from . import secrets
from .links import absolute, pay_url
from .models import (
    AgreementStatus,
    CardAgreement,
    ChargeAttempt,
    ChargeState,
    EventOutcome,
    GatewayAccount,
    GatewayEvent,
    GatewayPayment,
    PaySession,
    Provider,
)
from .proforma_pay import proforma_paid_online
from .providers import Card, ChargeResult, Checkout, Forged, GatewayError, Notice, gateway

log = logging.getLogger(__name__)

# A STARTED charge older than this is taken for one whose process died: asked again, same key.
STALE_SECONDS = getattr(settings, "RECURENT_GATEWAYS_STALE_SECONDS", 300)
# Payments from providers are recorded with this source (payments.models.PaymentSource has no
# choice for it yet; the value is stored as is).
SOURCE = PaymentSource.ONLINE


# --- provider accounts ------------------------------------------------------------------------


def _retry_days(text: str) -> list[int]:
    try:
        days = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise ValidationError(
            {"retry_days": [_("Give whole days separated by commas, e.g. 3,5,7.")]},
            code="invalid",
        ) from None
    if any(d <= 0 or d > 60 for d in days) or len(days) > 10:
        raise ValidationError(
            {"retry_days": [_("Each delay is 1 to 60 days; at most 10 retries.")]}, code="invalid"
        )
    return days


@transaction.atomic
def account_save(
    *,
    company: Any,
    provider: str,
    enabled: bool,
    test_mode: bool,
    api_base: str = "",
    secret: str = "",
    webhook_secret: str = "",
    pos_signature: str = "",
    public_key: str = "",
    retry_days: str = "3,5,7",
) -> GatewayAccount:
    """Create or update the company's account at ``provider``. A blank secret keeps the stored one."""
    if provider not in Provider.values:
        raise ValidationError({"provider": [_("Unknown provider.")]}, code="invalid")
    account = GatewayAccount.objects.select_for_update().filter(company=company, provider=provider)
    row = account.first() or GatewayAccount(company=company, provider=provider)
    secret, webhook_secret = secret.strip(), webhook_secret.strip()
    errors: dict[str, list[Any]] = {}
    if provider == Provider.STRIPE and secret:
        # The test-mode switch and the key must agree: a live key in test mode charges real cards.
        want = ("sk_test_", "rk_test_") if test_mode else ("sk_live_", "rk_live_")
        if not secret.startswith(want):
            errors["secret"] = [
                _("In test mode the key starts with sk_test_; in live mode with sk_live_.")
            ]
    if provider == Provider.STRIPE and webhook_secret and not webhook_secret.startswith("whsec_"):
        errors["webhook_secret"] = [_("Stripe's webhook signing secret starts with whsec_.")]
    if provider == Provider.NETOPIA and enabled:
        if not (pos_signature.strip() or row.pos_signature):
            errors["pos_signature"] = [_("NETOPIA needs the POS signature.")]
        if not (public_key.strip() or row.public_key):
            errors["public_key"] = [_("NETOPIA needs its public key to check notifications.")]
    if enabled and not (secret or row.secret_encrypted):
        errors["secret"] = [_("Enter the API key.")]
    try:
        row.retry_days = ",".join(str(d) for d in _retry_days(retry_days))
    except ValidationError as e:
        errors.update(e.message_dict)
    if errors:
        raise ValidationError(errors)
    row.enabled, row.test_mode, row.api_base = enabled, test_mode, api_base.strip()
    if secret:
        row.secret_encrypted = secrets.seal(secret)
    if webhook_secret:
        row.webhook_secret_encrypted = secrets.seal(webhook_secret)
    if pos_signature.strip():
        row.pos_signature = pos_signature.strip()
    if public_key.strip():
        row.public_key = public_key.strip()
    row.save()
    return row


def enabled_accounts(company_id: int) -> list[GatewayAccount]:
    return list(GatewayAccount.objects.filter(company_id=company_id, enabled=True))


def notify_url(account: GatewayAccount) -> str:
    return absolute(reverse("gateways:notify", kwargs={"account_id": account.pk}))


# --- pay links --------------------------------------------------------------------------------


def consent_text(*, company_name: str, contract_number: str, brand_note: str = "") -> str:
    """What the client agrees to, in the active language; stored verbatim with the agreement."""
    return gettext(
        "I agree that %(company)s charges the card I save now, without asking me again, with the "
        "amount of each invoice of contract %(contract)s when it is issued, until I withdraw this "
        "agreement from the client portal. I can withdraw it at any time; charges already made "
        "stay. The card number is kept by the payment processor, not by %(company)s."
    ) % {"company": company_name, "contract": contract_number}


def pay_start(
    *,
    invoice: Invoice,
    account: GatewayAccount,
    save_card: bool,
    consent_name: str,
    consent_shown: str,
    ip: str | None,
    as_of: datetime,
) -> Checkout:
    """Start the provider's hosted payment of what is left to pay on ``invoice``."""
    if account.company_id != invoice.company_id or not account.enabled:
        raise ValidationError({"provider": [_("This payment method is not available.")]})
    left = pay.outstanding(invoice) if invoice.kind == InvoiceKind.INVOICE else Decimal(0)
    if left <= 0:
        raise ValidationError(
            {"invoice": [_("This invoice has nothing left to pay.")]}, code="nothing_due"
        )
    if save_card:
        if invoice.contract_id is None:
            raise ValidationError(
                {"save_card": [_("Only invoices of a contract can save a card.")]}
            )
        if not consent_name.strip():
            raise ValidationError(
                {"consent_name": [_("Type your name to agree to automatic charges.")]},
                code="required",
            )
    reference = f"R{invoice.pk}-{pysecrets.token_hex(5)}"
    session = PaySession.objects.create(
        account=account, invoice=invoice, reference=reference, amount=left,
        currency=invoice.currency, save_card=save_card,
        consent_text=consent_shown if save_card else "",
        consent_name=consent_name.strip()[:200] if save_card else "",
        consent_ip=ip if save_card else None, created_at=as_of,
    )  # fmt: skip
    emails = (invoice.buyer or {}).get("emails") or []
    seller = (invoice.seller or {}).get("name", "")
    checkout = gateway(account).start(
        reference=reference, amount=left, currency=invoice.currency,
        description=f"{seller} - factura {invoice.full_number}", email=emails[0] if emails else "",
        name=invoice.buyer_name, save_card=save_card,
        return_url=pay_url(invoice.pk).rstrip("/") + "/done/", cancel_url=pay_url(invoice.pk),
        notify_url=notify_url(account), idempotency_key=reference,
    )  # fmt: skip
    PaySession.objects.filter(pk=session.pk).update(provider_ref=checkout.provider_ref)
    return checkout


# --- notifications ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Handled:
    status: int
    body: str
    content_type: str
    outcome: str = ""


def notification_handle(
    *, account: GatewayAccount, body: bytes, headers: Any, as_of: datetime
) -> Handled:
    """Verify a provider's notification and act on it once. A forged one is refused and logged."""
    gw = gateway(account)
    try:
        notice = gw.verify(body=body, headers=headers)
    except Forged as e:
        log.warning(
            "gateways: refused a notification for account %s (%s): %s",
            account.pk, account.provider, e,
        )  # fmt: skip
        text, ctype = gw.answer(False)
        return Handled(400, text, ctype, "forged")
    try:
        with transaction.atomic():
            event = GatewayEvent.objects.create(
                account=account, event_id=notice.event_id[:120], kind=notice.type[:60],
                provider_ref=notice.provider_ref[:120], received_at=as_of,
                payload=notice.payload or {}, outcome=EventOutcome.IGNORED,
            )  # fmt: skip
            outcome, note, invoice = _apply(account, gw, notice, as_of)
            event.outcome, event.note, event.invoice = outcome, note[:300], invoice
            event.save(update_fields=["outcome", "note", "invoice"])
    except IntegrityError:
        # Sent again (or twice at once): the first one did the work.
        text, ctype = gw.answer(True)
        return Handled(200, text, ctype, EventOutcome.DUPLICATE)
    text, ctype = gw.answer(True)
    return Handled(200, text, ctype, outcome)


def _target(reference: str) -> tuple[PaySession | None, ChargeAttempt | None]:
    if not reference:
        return None, None
    session = PaySession.objects.select_related("invoice").filter(reference=reference).first()
    if session is not None:
        return session, None
    attempt = (
        ChargeAttempt.objects.select_related("invoice", "agreement")
        .filter(idempotency_key=reference)
        .first()
    )
    return None, attempt


def _apply(
    account: GatewayAccount, gw: Any, n: Notice, as_of: datetime
) -> tuple[str, str, Invoice | None]:
    if n.kind == "paid":
        session, attempt = _target(n.reference)
        if session is None and attempt is None:
            return (
                EventOutcome.FLAGGED,
                f"payment {n.provider_ref} for an unknown order {n.reference!r}",
                None,
            )
        owner = session.account_id if session else attempt.agreement.account_id  # type: ignore[union-attr]
        if owner != account.pk:
            return EventOutcome.FLAGGED, "an order of another provider account", None
        if session is not None and session.proforma_id is not None:
            return proforma_paid_online(account, session, n, as_of)
        invoice = session.invoice if session else attempt.invoice  # type: ignore[union-attr]
        assert invoice is not None  # gateway_session_one_target; a proforma's is above
        expected = session.amount if session else attempt.amount  # type: ignore[union-attr]
        expected_currency = session.currency if session else attempt.currency  # type: ignore[union-attr]
        gp, created = _settle(
            account=account, provider_ref=n.provider_ref, invoice=invoice,
            amount=n.amount or Decimal(0), currency=n.currency, expected=expected,
            expected_currency=expected_currency, automatic=attempt is not None, as_of=as_of,
        )  # fmt: skip
        if attempt is not None and attempt.state != ChargeState.SUCCEEDED:
            ChargeAttempt.objects.filter(pk=attempt.pk).update(
                state=ChargeState.SUCCEEDED, provider_ref=n.provider_ref[:120], finished_at=as_of
            )
        if session is not None and session.save_card and created:
            card = n.card
            if card is None and n.card_ref:
                try:
                    card = gw.card(n.card_ref)
                except GatewayError as e:
                    log.warning("gateways: card of %s not read: %s", n.card_ref, e)
            if card is not None:
                if n.customer_ref and not card.customer_ref:
                    card = Card(**{**card.__dict__, "customer_ref": n.customer_ref})
                _agreement_from_session(session, card, as_of)
        if session is not None and created and pay.outstanding(invoice) <= 0:
            # An automatic charge that waited for the cardholder is settled by this payment.
            ChargeAttempt.objects.filter(invoice=invoice, state=ChargeState.NEEDS_ACTION).update(
                state=ChargeState.CANCELLED,
                error_message="paid by the cardholder through the pay link",
            )
        if not created:
            return EventOutcome.DUPLICATE, f"payment {n.provider_ref} already recorded", invoice
        if _refunded_earlier(account, n.provider_ref, n.event_id):
            _reverse(gp, "refunded by the provider (the refund was notified first)", as_of)
            return EventOutcome.REVERSED, "paid and refunded (notified in reverse order)", invoice
        return (EventOutcome.FLAGGED if gp.flag else EventOutcome.RECORDED), gp.flag, invoice
    if n.kind == "failed":
        session, attempt = _target(n.reference)
        if attempt is not None and attempt.state in (ChargeState.STARTED, ChargeState.READY):
            _charge_finish(
                attempt.pk, ChargeResult("declined", n.provider_ref, code=n.message), as_of
            )
            return EventOutcome.FAILED, f"automatic charge declined: {n.message}", attempt.invoice
        invoice = session.invoice if session else (attempt.invoice if attempt else None)
        return EventOutcome.FAILED, n.message[:300], invoice
    if n.kind == "refunded":
        refunded = (
            GatewayPayment.objects.select_related("payment", "invoice")
            .filter(account=account, provider_ref=n.provider_ref)
            .first()
        )
        if refunded is None:
            return (
                EventOutcome.IGNORED,
                "refund before its payment: reversed when the payment arrives",
                None,
            )
        if refunded.refunded or refunded.payment.reversed:
            return EventOutcome.DUPLICATE, "already reversed", refunded.invoice
        if (n.refunded or Decimal(0)) >= refunded.payment.amount:
            _reverse(
                refunded, f"refunded by {account.get_provider_display()} ({n.provider_ref})", as_of
            )
            return EventOutcome.REVERSED, "", refunded.invoice
        note = f"partial refund of {n.refunded} {n.currency}: adjust the payment by hand"
        GatewayPayment.objects.filter(pk=refunded.pk).update(flag=note[:300])
        return EventOutcome.FLAGGED, note, refunded.invoice
    return EventOutcome.IGNORED, "", None


def _refunded_earlier(account: GatewayAccount, provider_ref: str, event_id: str) -> bool:
    return (
        GatewayEvent.objects.filter(account=account, provider_ref=provider_ref)
        .exclude(event_id=event_id)
        .filter(note__startswith="refund before its payment")
        .exists()
    )


def _reverse(gp: GatewayPayment, reason: str, as_of: datetime) -> None:
    payments.payment_reverse(payment=gp.payment, reason=reason, as_of=as_of, user=None)
    GatewayPayment.objects.filter(pk=gp.pk).update(refunded=True)


def _settle(
    *,
    account: GatewayAccount,
    provider_ref: str,
    invoice: Invoice,
    amount: Decimal,
    currency: str,
    expected: Decimal,
    expected_currency: str,
    automatic: bool,
    as_of: datetime,
) -> tuple[GatewayPayment, bool]:
    """The provider's payment as one Recurent payment allocated to ``invoice`` (created?)."""
    existing = GatewayPayment.objects.filter(account=account, provider_ref=provider_ref).first()
    if existing is not None:
        return existing, False
    amount = round_money(amount)
    flag = ""
    allocations: list[tuple[Invoice, Decimal]] = []
    if currency != invoice.currency or currency != expected_currency:
        flag = f"paid in {currency}, invoice {invoice.full_number} is in {invoice.currency}: not allocated"
    else:
        left = pay.outstanding(invoice)
        if left > 0:
            allocations = [(invoice, min(amount, left))]
        if amount != expected:
            flag = f"paid {amount} {currency}, {expected} {currency} was asked"
        if amount > left:
            extra = f"{amount - left} {currency} more than left to pay: kept as the client's credit"
            flag = f"{flag}; {extra}" if flag else extra
    with transaction.atomic():
        payment = payments.payment_record(
            company=invoice.company, client=invoice.client, date=pay.day_of(as_of), amount=amount,
            currency=currency, method=PaymentMethod.CARD,
            reference=f"{account.get_provider_display()} {provider_ref}"[:200],
            allocations=allocations, as_of=as_of, user=None, source=SOURCE,
        )  # fmt: skip
        gp = GatewayPayment.objects.create(
            account=account, provider_ref=provider_ref[:120], payment=payment, invoice=invoice,
            automatic=automatic, flag=flag[:300], created_at=as_of,
        )  # fmt: skip
    if flag:
        log.warning(
            "gateways: payment %s for %s flagged: %s", provider_ref, invoice.full_number, flag
        )
    return gp, True


# --- card agreements --------------------------------------------------------------------------


def _agreement_from_session(session: PaySession, card: Card, as_of: datetime) -> CardAgreement:
    invoice = session.invoice
    assert (
        invoice is not None and invoice.contract_id is not None
    )  # pay_start saves cards of contract invoices only
    # A new card replaces the contract's previous one (one active agreement per contract).
    CardAgreement.objects.filter(
        contract_id=invoice.contract_id, status=AgreementStatus.ACTIVE
    ).update(status=AgreementStatus.WITHDRAWN, withdrawn_at=as_of)
    return CardAgreement.objects.create(
        company_id=invoice.company_id, contract_id=invoice.contract_id, client_id=invoice.client_id,
        account=session.account, consent_text=session.consent_text,
        consented_at=session.created_at, consent_ip=session.consent_ip,
        client_name=session.consent_name, customer_ref=card.customer_ref[:120],
        token_encrypted=secrets.seal(card.token), brand=card.brand[:20], last4=card.last4[-4:],
        exp_month=card.exp_month, exp_year=card.exp_year,
    )  # fmt: skip


@transaction.atomic
def agreement_withdraw(
    *, agreement: CardAgreement, ip: str | None, as_of: datetime
) -> CardAgreement:
    """The client stops automatic charges: no charge is started after this commits."""
    row = CardAgreement.objects.select_for_update().get(pk=agreement.pk)
    if row.status != AgreementStatus.ACTIVE:
        raise ValidationError({"agreement": [_("This agreement was already withdrawn.")]})
    row.status, row.withdrawn_at, row.withdrawn_ip = AgreementStatus.WITHDRAWN, as_of, ip
    row.save(update_fields=["status", "withdrawn_at", "withdrawn_ip", "updated_at"])
    # Charges not started yet are not made; one already at the provider finishes there.
    ChargeAttempt.objects.filter(agreement=row, state=ChargeState.READY).update(
        state=ChargeState.CANCELLED, error_message="agreement withdrawn", finished_at=as_of
    )
    return row


# --- automatic charges ------------------------------------------------------------------------


def _key(company_id: int, invoice_id: int, attempt: int) -> str:
    return f"recurent-{company_id}-{invoice_id}-{attempt}"


def charges_after_issue(invoices: list[Invoice]) -> None:
    """AFTER_ISSUE hook: an intent (READY row) per invoice of a contract with an active card
    agreement. Only rows: the provider is called by ``charges_run`` after the commit."""
    by_contract = {
        inv.contract_id: inv
        for inv in invoices
        if inv.contract_id is not None and inv.kind == InvoiceKind.INVOICE and inv.gross_total > 0
    }
    if not by_contract:
        return
    active = CardAgreement.objects.filter(
        contract_id__in=list(by_contract), status=AgreementStatus.ACTIVE
    ).values_list("pk", "contract_id")
    rows = []
    for agreement_id, contract_id in active:
        inv = by_contract[contract_id]
        rows.append(
            ChargeAttempt(
                company_id=inv.company_id,
                invoice=inv,
                agreement_id=agreement_id,
                attempt=1,
                not_before=inv.issued_at,
                amount=inv.gross_total,
                currency=inv.currency,
                idempotency_key=_key(inv.company_id, inv.pk, 1),
                created_at=inv.issued_at,
            )  # fmt: skip
        )
    if rows:
        ChargeAttempt.objects.bulk_create(rows)


def charges_run(*, limit: int = 50, as_of: datetime | None = None,
                stale_after: float | None = None) -> int:  # fmt: skip
    """The worker task: make the due charges. Returns how many rows were handled."""
    now = as_of or clock.now()
    stale = timedelta(seconds=STALE_SECONDS if stale_after is None else stale_after)
    due = list(
        ChargeAttempt.objects.filter(
            Q(state=ChargeState.READY, not_before__lte=now)
            | Q(state=ChargeState.STARTED, started_at__lte=now - stale)
        )
        .order_by("not_before", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for pk in due:
        try:
            done += _charge_one(pk, now, stale)
        except Exception:  # one bad row must not stop the others
            log.exception("gateways: automatic charge %s failed", pk)
    return done


def _lock(pk: int) -> ChargeAttempt | None:
    qs = ChargeAttempt.objects.select_related("agreement__account", "invoice")
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return qs.filter(pk=pk).first()


def _charge_one(pk: int, now: datetime, stale: timedelta) -> int:
    with transaction.atomic():
        row = _lock(pk)
        if row is None:
            return 0  # another worker has it
        ag = row.agreement
        if row.state == ChargeState.STARTED:
            if row.started_at and row.started_at > now - stale:
                return 0
        elif row.state != ChargeState.READY or row.not_before > now:
            return 0
        if ag.status != AgreementStatus.ACTIVE or not ag.account.enabled:
            _finish_row(row, ChargeState.CANCELLED, now, message="agreement withdrawn")
            return 1
        if row.state == ChargeState.READY:
            left = pay.outstanding(row.invoice)
            if left <= 0:
                _finish_row(row, ChargeState.CANCELLED, now, message="nothing left to pay")
                return 1
            # The amount is fixed with the key: asking again (after a crash) asks the same.
            row.amount, row.state, row.started_at = left, ChargeState.STARTED, now
            row.save(update_fields=["amount", "state", "started_at"])
        else:
            row.started_at = now
            row.save(update_fields=["started_at"])
    invoice = row.invoice
    emails = (invoice.buyer or {}).get("emails") or []
    try:
        result = gateway(ag.account).charge(
            key=row.idempotency_key, amount=row.amount, currency=row.currency,
            description=f"{(invoice.seller or {}).get('name', '')} - factura {invoice.full_number}",
            token=secrets.read(ag.token_encrypted), customer_ref=ag.customer_ref,
            email=emails[0] if emails else "", notify_url=notify_url(ag.account),
            return_url=pay_url(invoice.pk),
        )  # fmt: skip
    except GatewayError as e:
        # Unknown outcome: stays STARTED and is asked again later with the same key.
        ChargeAttempt.objects.filter(pk=row.pk).update(error_message=str(e)[:300])
        log.warning("gateways: charge %s not answered: %s", row.idempotency_key, e)
        return 1
    _charge_finish(row.pk, result, now)
    return 1


def _finish_row(row: ChargeAttempt, state: str, now: datetime, *, code: str = "",
                message: str = "", ref: str = "") -> None:  # fmt: skip
    row.state, row.finished_at = state, now
    row.error_code, row.error_message = code[:60], message[:300]
    if ref:
        row.provider_ref = ref[:120]
    row.save(update_fields=["state", "finished_at", "error_code", "error_message", "provider_ref"])


def _charge_finish(pk: int, result: ChargeResult, now: datetime) -> None:
    with transaction.atomic():
        row = (
            ChargeAttempt.objects.select_for_update()
            .select_related("agreement__account", "invoice__client", "invoice__company")
            .get(pk=pk)
        )
        if row.state not in (ChargeState.STARTED, ChargeState.READY):
            return  # a notification finished it first
        if result.outcome == "succeeded":
            _settle(
                account=row.agreement.account, provider_ref=result.provider_ref,
                invoice=row.invoice, amount=result.amount or row.amount,
                currency=result.currency or row.currency, expected=row.amount,
                expected_currency=row.currency, automatic=True, as_of=now,
            )  # fmt: skip
            _finish_row(row, ChargeState.SUCCEEDED, now, ref=result.provider_ref)
        elif result.outcome == "needs_action":
            _finish_row(row, ChargeState.NEEDS_ACTION, now, code=result.code,
                        message=result.message, ref=result.provider_ref)  # fmt: skip
            _notify_client(row.invoice, "sca", now)
        else:
            _finish_row(row, ChargeState.DECLINED, now, code=result.code,
                        message=result.message, ref=result.provider_ref)  # fmt: skip
            _schedule_retry(row, now)


def _schedule_retry(row: ChargeAttempt, now: datetime) -> ChargeAttempt | None:
    """The next try on the company's schedule (days after the first try), or give up."""
    days = _retry_days(row.agreement.account.retry_days)
    if row.attempt > len(days):
        # Out of retries: the invoice is left to the reminders, like any unpaid invoice.
        _notify_client(row.invoice, "gave_up", now)
        return None
    first = (
        ChargeAttempt.objects.filter(invoice=row.invoice, attempt=1)
        .values_list("started_at", flat=True)
        .first()
    ) or now
    return ChargeAttempt.objects.create(
        company_id=row.company_id, invoice=row.invoice, agreement=row.agreement,
        attempt=row.attempt + 1, not_before=first + timedelta(days=days[row.attempt - 1]),
        amount=row.amount, currency=row.currency,
        idempotency_key=_key(row.company_id, row.invoice_id, row.attempt + 1), created_at=now,
    )  # fmt: skip


# --- messages to the client -------------------------------------------------------------------


def _notify_client(
    invoice: Invoice, what: str, now: datetime, agreement: CardAgreement | None = None
) -> None:
    """A notice in the client's language through the mail outbox (in the caller's transaction)."""
    from recurent.mail.services import client_language, notice_queue

    client = invoice.client
    to = [e for e in (client.emails or []) if e]
    if not to:
        log.info("gateways: client %s has no email address for the %s notice", client.pk, what)
        return
    with translation.override(client_language(client)):
        link = pay_url(invoice.pk)
        params = {
            "number": invoice.full_number,
            "company": invoice.company.legal_name,
            "link": link,
        }
        if what == "sca":
            subject = gettext("Confirm the card payment of invoice %(number)s") % params
            body = (
                gettext(
                    "Your bank asks you to confirm the automatic payment of invoice %(number)s from "
                    "%(company)s. Open this link to complete it:\n%(link)s\n"
                )
                % params
            )
        else:
            subject = gettext("We could not charge your card for invoice %(number)s") % params
            body = (
                gettext(
                    "The automatic card payment of invoice %(number)s from %(company)s was declined "
                    "and will not be tried again. You can pay it here:\n%(link)s\n"
                )
                % params
            )
    notice_queue(company=invoice.company, to=to, subject=subject, body_text=body, as_of=now)


def _card_expires(ag: CardAgreement) -> date | None:
    if not ag.exp_month or not ag.exp_year:
        return None
    y, m = (ag.exp_year + 1, 1) if ag.exp_month == 12 else (ag.exp_year, ag.exp_month + 1)
    return date(y, m, 1) - timedelta(days=1)  # valid through the last day of its month


def expiring_cards_notify(*, limit: int = 100, as_of: datetime | None = None) -> int:
    """The worker task: one notice per agreement whose card expires within a month."""
    from recurent.clients.portal_links import portal_url
    from recurent.mail.services import client_language, notice_queue

    now = as_of or clock.now()
    today = pay.day_of(now)
    rows = (
        CardAgreement.objects.filter(status=AgreementStatus.ACTIVE, expiry_notice_at__isnull=True)
        .filter(exp_year__lte=today.year + 1)
        .select_related("client", "company", "contract")
        .order_by("pk")
    )
    sent = 0
    for ag in rows:
        ends = _card_expires(ag)
        if ends is None or ends > today + timedelta(days=31):
            continue
        with transaction.atomic():
            to = [e for e in (ag.client.emails or []) if e]
            if to:
                with translation.override(client_language(ag.client)):
                    params = {"brand": ag.brand or "card", "last4": ag.last4,
                              "date": f"{ag.exp_month:02d}/{ag.exp_year}",
                              "contract": ag.contract.number, "link": portal_url(ag.client_id)}  # fmt: skip
                    subject = gettext("Your card ending in %(last4)s expires soon") % params
                    body = (
                        gettext(
                            "The %(brand)s card ending in %(last4)s, which pays the invoices of "
                            "contract %(contract)s automatically, expires at the end of %(date)s. "
                            "To keep automatic payments, pay the next invoice with the new card and "
                            "save it:\n%(link)s\n"
                        )
                        % params
                    )
                notice_queue(company=ag.company, to=to, subject=subject, body_text=body, as_of=now)
            CardAgreement.objects.filter(pk=ag.pk).update(expiry_notice_at=now)
            sent += 1
            if sent >= limit:
                break
    return sent
