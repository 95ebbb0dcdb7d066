"""Contracts billed by proforma first: a proforma at each period, the invoice when it is paid.

As Facturis does it: a contract with ``proforma_first`` gets, when its period falls due, a
proforma (``InvoiceDraft`` numbered in the proforma series, no e-Factura, no VAT report, no
balance) instead of the invoice. The billing run claims and drafts the contract exactly as for
an invoice (``services.issue_batch``); only the last step differs (``proformas_issue``), and
the contract's cursor moves on in the same transaction. Exactly once per (contract, period):
the claimed contract row is locked, and ``proforma_once_per_period`` is the last line of
defence, as ``invoice_period_once`` (InvoicePeriod) is for invoices.

A payment covering the proforma (``payments.proformas``) issues its invoice through
``proforma.proforma_convert``, the same path as a conversion by hand: numbered under the
series lock, the AFTER_ISSUE hooks (e-Factura, mail, balances), the contract and the period
carried onto the invoice. An unpaid proforma expires after the contract's
``proforma_valid_days`` (``proformas_expire``, a worker task) and never produces an invoice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext

from recurent.common import clock
from recurent.contracts.models import Contract, HoldKind
from recurent.engine.cycles import BUCHAREST

from .models import Invoice, InvoiceDraft, InvoiceDraftLine, InvoiceLine, ReceiptSeries
from .proforma import proforma_issue

log = logging.getLogger("recurent.billing")

# The proforma's PDF (documents.proforma.render, set by recurent/wiring.py: documents sits
# above invoices, so it is handed in rather than imported).
PROFORMA_RENDER: list[Callable[[Invoice, list[InvoiceLine]], bytes]] = []
# The mail outbox's notice_queue and client_language (mail sits above invoices; wiring sets them).
PROFORMA_NOTICE: list[Callable[..., Any]] = []
CLIENT_LANGUAGE: list[Callable[[Any], str]] = []
# The proforma's online pay link, "" when none (gateways.proforma_pay.proforma_pay_link; wiring).
PROFORMA_PAY_LINK: list[Callable[[InvoiceDraft], str]] = []


def proformas_split(ready: list[Any]) -> tuple[list[Any], list[Any]]:
    """(the contracts invoiced now, those billed by proforma first) of a drafted block; one
    query per block, and none of the block's columns (services._CONTRACT_COLS) change."""
    if not ready:
        return ready, []
    ids = set(
        Contract.objects.filter(
            pk__in=[c.pk for c, _, _ in ready], proforma_first=True
        ).values_list("pk", flat=True)
    )
    if not ids:
        return ready, []
    return [r for r in ready if r[0].pk not in ids], [r for r in ready if r[0].pk in ids]


def _draft_lines(shared: Any, c: Any, index: int, priced: Any) -> list[InvoiceDraftLine]:
    """The period's lines as the billing run prices them (contract lines in force, the pending
    one-off charges on the contract's next period), in the contract's price currency.

    A discount or trial the run priced (``priced``: the run's draft, its lines in this same
    order) follows its line as a line of its own with a negative quantity, as a one-off credit
    is written: a draft line has no allowances, and the proforma's total is what is due."""
    from .services import _charge_terms

    terms = [
        (li[0], shared.line_terms(li))
        for li in c.lines
        if li[4] <= index and (li[5] is None or index < li[5])
    ]
    if index == c.next_index:
        terms += [(None, _charge_terms(ch[1:])) for ch in c.charges]
    drafted = {dl.position: dl for dl in priced.draft.lines}
    fx = priced.draft.fx_rate if c.currency != c.invoice_currency else None
    rows: list[InvoiceDraftLine] = []

    def add(product_id: Any, t: Any, **kw: Any) -> None:
        fields = dict(product_id=product_id, product_code=t.product_code, name=t.name,
                      description=t.description, unit_code=t.unit_code, unit_name=t.unit_name,
                      quantity=t.quantity, unit_price=t.unit_price)  # fmt: skip
        fields.update(kw)
        rows.append(InvoiceDraftLine(position=len(rows) + 1, vat_category=t.vat_category.value,
                                     vat_rate=t.vat_rate_code.value, **fields))  # fmt: skip

    for pos, (product_id, t) in enumerate(terms, start=1):
        add(product_id, t)
        for a in getattr(drafted.get(pos), "allowances", ()):
            # In the invoice currency; back to the price currency at the run's rate when the
            # contract is priced in another one (the invoice is priced again when it is paid).
            amount = a.amount if fx is None else (a.amount / fx).quantize(Decimal("0.0001"))
            add(None, t, product_code="", name=a.reason[:100], description="",
                quantity=Decimal(-1), unit_price=amount, percent=a.percent)  # fmt: skip
    return rows


def proformas_issue(by_proforma: list[Any], *, shared: Any, issued_at: datetime) -> list[int]:
    """A numbered proforma, with its PDF, for each (contract, period, priced draft) of the
    block; inside the run's transaction. Returns the proformas' ids.

    One that cannot be issued (its PDF fails, a refused value) is rolled back alone (a
    savepoint), its contract set aside with the reason as the run does with bad data and taken
    out of ``by_proforma`` so that its cursor stays; the block goes on. A duplicate period
    (``proforma_once_per_period``) is not caught: it rolls the whole block back."""
    if not by_proforma:
        return []
    users = {u.pk: u for u in _users({c.issuer_id for c, _, _ in by_proforma})}
    days = dict(
        Contract.objects.filter(pk__in=[c.pk for c, _, _ in by_proforma]).values_list(
            "pk", "proforma_valid_days"
        )
    )
    out: list[int] = []
    failed: list[Any] = []
    for item in list(by_proforma):
        c = item[0]
        try:
            with transaction.atomic():
                out.append(_issue_one(item, shared, issued_at, users[c.issuer_id], days[c.pk]))
        except (ValidationError, ValueError, RuntimeError) as e:
            log.warning("contract %s: no proforma issued: %s", c.pk, e)
            by_proforma.remove(item)
            failed.append((c, HoldKind.DATA, f"proforma: {e}"))
    if failed:
        from .services import _hold

        _hold(failed)
    return out


def _issue_one(item: Any, shared: Any, issued_at: datetime, user: Any, valid_days: int) -> int:
    c, period, priced = item
    d = InvoiceDraft.objects.create(
        company_id=c.company_id, client_id=c.client_id, series_id=c.series_id,
        currency=c.invoice_currency, price_currency=c.currency, created_by_id=c.issuer_id,
        contract_id=c.pk, period_index=period.index, period_start=period.start,
        period_end=period.end, created_at=issued_at, updated_at=issued_at,
    )  # fmt: skip
    lines = _draft_lines(shared, c, period.index, priced)
    for li in lines:
        li.draft = d
    InvoiceDraftLine.objects.bulk_create(lines)
    # A proforma issued by hand later than this run's instant (a run dated in the past) would
    # make the series' dates go backwards: the proforma is dated no earlier.
    last = (
        ReceiptSeries.objects.filter(company_id=c.company_id, kind="proforma")
        .order_by("pk")
        .values_list("last_issued_at", flat=True)
        .first()
    )
    at = max(issued_at, last) if last else issued_at
    d = proforma_issue(draft=d, as_of=at, user=user, render=PROFORMA_RENDER[0])
    d.proforma_expires_on = at.astimezone(BUCHAREST).date() + timedelta(days=valid_days)
    InvoiceDraft.objects.filter(pk=d.pk).update(proforma_expires_on=d.proforma_expires_on)
    _notify(d, c.pk, at)
    return d.pk


def _notify(d: InvoiceDraft, contract_id: int, as_of: datetime) -> None:
    """The client is told of the proforma by email when the contract emails its invoices: a
    notice through the mail outbox (PROFORMA_NOTICE, queued in this transaction), in the
    client's language, with what to pay, by when and how; the outbox attaches the proforma's
    stored PDF (mail.notice_files)."""
    c = Contract.objects.select_related("client", "company").get(pk=contract_id)
    to = [a for a in (c.client.emails or []) if a]
    if not c.auto_email or not to or not PROFORMA_NOTICE:
        return
    lang = CLIENT_LANGUAGE[0](c.client) if CLIENT_LANGUAGE else "ro"
    fmt = "%d.%m.%Y"
    with translation.override(lang):
        values = {
            "company": c.company.legal_name, "number": d.proforma_number, "contract": c.number,
            "start": d.period_start.strftime(fmt) if d.period_start else "",
            "end": d.period_end.strftime(fmt) if d.period_end else "",
            "total": d.proforma_total, "currency": d.currency,
            "until": d.proforma_expires_on.strftime(fmt) if d.proforma_expires_on else "",
            "iban": c.company.iban, "bank": c.company.bank,
        }  # fmt: skip
        subject = gettext("Proforma %(number)s from %(company)s") % values
        body = (
            gettext(
                "Hello,\n\n%(company)s has issued proforma %(number)s for contract %(contract)s, "
                "period %(start)s - %(end)s: %(total)s %(currency)s to pay by %(until)s.\n\n"
                "Pay by bank transfer to %(iban)s (%(bank)s) with %(number)s in the payment "
                "details: the invoice is issued as soon as the payment covers the proforma.\n\n"
                "A proforma is not an invoice."
            )
            % values
        )
        pay_url = PROFORMA_PAY_LINK[0](d) if PROFORMA_PAY_LINK else ""
        if pay_url:
            body += "\n\n" + gettext("Or pay online by card: %(url)s") % {"url": pay_url}
    PROFORMA_NOTICE[0](
        company=c.company, to=to, subject=subject, body_text=body, as_of=as_of, proforma=d
    )


def _users(ids: set[int]) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk__in=ids)


def open_proformas(qs: Any) -> Any:
    """Proformas that a payment may still turn into an invoice."""
    return qs.filter(invoice__isnull=True, proforma_expired_at__isnull=True).exclude(
        proforma_number=""
    )


def proformas_expire(*, limit: int, as_of: datetime | None = None) -> int:
    """Worker task: unpaid proformas past their expiry day are marked expired (they never
    produce an invoice). ``invoice IS NULL`` is checked again by the UPDATE itself: one
    converted meanwhile (the conversion holds its row) is left alone."""
    as_of = as_of or clock.now()
    today = as_of.astimezone(BUCHAREST).date()
    due = Q(invoice__isnull=True, proforma_expired_at__isnull=True, proforma_expires_on__lt=today)
    ids = list(
        InvoiceDraft.objects.filter(due)
        .order_by("proforma_expires_on")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return 0
    return InvoiceDraft.objects.filter(due, pk__in=ids).update(
        proforma_expired_at=as_of, updated_at=as_of
    )
