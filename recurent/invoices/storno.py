"""Storno: a credit note that cancels an issued invoice, whole or some lines/quantities.

An issued invoice is never changed or deleted; a wrong one is cancelled by a credit note
(kind ``credit_note``) with negative quantities and amounts that references it. The
credit note takes its own number under the same series-row lock the billing engine uses
(``issue_batch``), so numbers stay gapless and dates never go backwards along a series.
What can still be credited is computed under a lock on the original invoice row, so two
stornos of the same invoice at once cannot together exceed what was invoiced.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from recurent.common import events
from recurent.common.errors import field_error
from recurent.companies.models import InvoiceSeries
from recurent.engine.cycles import BUCHAREST
from recurent.engine.money import round_money
from recurent.engine.vat import LineInput, VatCategory, compute_totals

from .models import Invoice, InvoiceKind, InvoiceLine, InvoiceOrigin, InvoiceStatus
from .numbering import SeriesLock, vat_breakdown
from .services import AFTER_ISSUE

StornoLines = Sequence[tuple[InvoiceLine, Decimal]]


def credited_quantities(invoice: Invoice) -> dict[int, Decimal]:
    """Quantity already credited per line of ``invoice`` (positive numbers), by line id."""
    return _credited(invoice, "quantity")


def _credited(invoice: Invoice, column: str) -> dict[int, Decimal]:
    """Sum of ``column`` over the credit-note lines of each line of ``invoice``, made positive."""
    rows = (
        InvoiceLine.objects.filter(
            credited_line__invoice=invoice, invoice__kind=InvoiceKind.CREDIT_NOTE
        )
        .values("credited_line_id")
        .annotate(total=Sum(column))
    )
    return {r["credited_line_id"]: -(r["total"] or Decimal(0)) for r in rows}


def _credited_allowances(invoice: Invoice) -> dict[int, list[Decimal]]:
    """Per line of ``invoice``, how much of each of its allowances earlier credit notes gave
    back (positive numbers, in the line's allowance order)."""
    done: dict[int, list[Decimal]] = {}
    rows = InvoiceLine.objects.filter(
        credited_line__invoice=invoice, invoice__kind=InvoiceKind.CREDIT_NOTE
    ).values_list("credited_line_id", "allowances")
    for line_id, allowances in rows:
        acc = done.setdefault(line_id, [])
        for i, a in enumerate(allowances or ()):
            acc.extend([Decimal(0)] * (i + 1 - len(acc)))
            acc[i] -= Decimal(str(a["amount"]))
    return done


def _storno_allowances(
    li: InvoiceLine, qty: Decimal, remaining: Decimal, done: list[Decimal]
) -> list[dict[str, Any]]:
    """The allowances a credit of ``qty`` of ``li`` gives back, negated: a share of each in
    proportion to the quantity, rounded once; the last credit of the line gives back exactly
    what is left, so crediting a line whole (at once or in parts) cancels its discounts to the
    cent."""
    out = []
    for i, a in enumerate(li.allowances or ()):
        amount = Decimal(str(a["amount"]))
        left = amount - (done[i] if i < len(done) else Decimal(0))
        part = left if qty >= remaining else min(round_money(amount * qty / li.quantity), left)
        if part > 0:
            out.append({**a, "amount": str(-part)})
    return out


def _credit_series(invoice: Invoice, series: InvoiceSeries | None) -> InvoiceSeries:
    if series is not None:
        if series.company_id != invoice.company_id:
            raise field_error("series", _("the series belongs to another company"), "other_company")
        return series
    credit = (
        InvoiceSeries.objects.filter(company_id=invoice.company_id, is_credit=True)
        .order_by("pk")
        .first()
    )
    return credit or invoice.series


def invoice_storno(
    *,
    invoice: Invoice,
    lines: StornoLines | None,
    as_of: datetime,
    user: Any,
    series: InvoiceSeries | None = None,
    notes: str = "",
) -> Invoice:
    """Issue a credit note for ``invoice``: every line still not credited (``lines=None``),
    or the given (line, quantity) pairs, quantities positive; ``notes`` are printed on it
    (why it was issued). Returns the credit note."""
    if as_of.tzinfo is None:
        raise field_error("as_of", _("must be an aware instant"), "naive")
    with transaction.atomic():
        # Locked so that two stornos of one invoice cannot both credit the same quantity.
        original = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if original.kind != InvoiceKind.INVOICE:
            raise field_error(
                "invoice", _("a credit note cannot itself be reversed"), "credit_note"
            )
        if original.status == InvoiceStatus.CANCELLED:
            raise field_error(
                "invoice", _("%(number)s is already cancelled by a storno"), "cancelled",
                number=original.full_number,
            )  # fmt: skip
        if as_of < original.issued_at:
            raise field_error(
                "as_of", _("a storno cannot be dated before the invoice"), "before_invoice"
            )
        orig_lines = {li.pk: li for li in original.lines.all()}
        done = credited_quantities(original)
        done_nets = _credited(original, "net")
        remaining = {pk: li.quantity - done.get(pk, Decimal(0)) for pk, li in orig_lines.items()}
        if lines is None:
            wanted = [(orig_lines[pk], q) for pk, q in remaining.items() if q > 0]
            if not wanted:
                raise field_error(
                    "lines", _("every line of %(number)s is already credited"), "all_credited",
                    number=original.full_number,
                )  # fmt: skip
        else:
            wanted = []
            seen: set[int] = set()
            for line, qty in lines:
                qty = Decimal(qty)
                if line.pk not in orig_lines:
                    raise field_error(
                        "lines", _("line %(line)s is not a line of %(number)s"), "foreign_line",
                        line=line.pk, number=original.full_number,
                    )  # fmt: skip
                if line.pk in seen:
                    raise field_error(
                        "lines", _("line %(n)s is given twice"), "duplicate_line", n=line.position
                    )
                seen.add(line.pk)
                if qty <= 0:
                    raise field_error(
                        "lines", _("line %(n)s: the quantity to credit must be > 0"),
                        "not_positive", n=line.position,
                    )  # fmt: skip
                if qty > remaining[line.pk]:
                    raise field_error(
                        "lines",
                        _("line %(n)s: %(qty)s exceeds what is left to credit (%(left)s of %(of)s)"),
                        "exceeds_remaining", n=line.position, qty=qty, left=remaining[line.pk],
                        of=orig_lines[line.pk].quantity,
                    )  # fmt: skip
                wanted.append((orig_lines[line.pk], qty))
            if not wanted:
                raise field_error("lines", _("choose at least one line to credit"), "empty")
        wanted.sort(key=lambda w: w[0].position)

        done_allowances = (
            _credited_allowances(original) if any(li.allowances for li, _q in wanted) else {}
        )
        allowances = [
            _storno_allowances(li, qty, remaining[li.pk], done_allowances.get(li.pk, []))
            for li, qty in wanted
        ]
        inputs = [
            LineInput(-qty, li.unit_price, VatCategory(li.vat_category), li.vat_rate,
                      sum((Decimal(a["amount"]) for a in off), Decimal(0)))
            for (li, qty), off in zip(wanted, allowances, strict=True)
        ]  # fmt: skip
        fx = original.fx_rate if original.currency != "RON" else None
        totals = compute_totals(inputs, fx)
        for (li, _qty), net in zip(wanted, totals.line_nets, strict=True):
            # Rounding of partial quantities must never credit more money than the line had.
            if done_nets.get(li.pk, Decimal(0)) - net > li.net:
                raise field_error(
                    "lines", _("line %(n)s: the storno would exceed the invoiced amount"),
                    "exceeds_amount", n=li.position,
                )  # fmt: skip

        # Numbered by the same rule as issue_batch: series row locked, clock checked under it.
        lock = SeriesLock([_credit_series(original, series).pk], as_of=as_of)
        (series_id,) = lock.series
        s, year, number, full_number = lock.take(series_id)
        lock.save()
        issue_date = as_of.astimezone(BUCHAREST).date()
        credit = Invoice.objects.create(
            company_id=original.company_id,
            series=s,
            year=year,
            number=number,
            full_number=full_number,
            kind=InvoiceKind.CREDIT_NOTE,
            origin=InvoiceOrigin.MANUAL,
            contract_id=original.contract_id,
            client_id=original.client_id,
            period_index=original.period_index,
            period_start=original.period_start,
            period_end=original.period_end,
            credited_invoice=original,
            issued_at=as_of,
            issue_date=issue_date,
            due_date=issue_date,
            issuer=user,
            issuer_name=(user.get_full_name() or user.get_username())[:150],
            currency=original.currency,
            price_currency=original.price_currency,
            fx_rate=original.fx_rate,
            fx_date=original.fx_date,
            net_total=totals.net,
            vat_total=totals.vat,
            gross_total=totals.gross,
            vat_total_ron=totals.vat_ron,
            vat_breakdown=vat_breakdown(
                totals, {g["category"]: g.get("reason", "") for g in original.vat_breakdown}
            ),
            # The parties and VAT treatment of the invoice being reversed, as it was issued.
            seller=original.seller,
            buyer=original.buyer,
            buyer_name=original.buyer_name,
            contract_number=original.contract_number,
            contract_date=original.contract_date,
            vat_on_collection=original.vat_on_collection,
            notes=notes,
        )
        InvoiceLine.objects.bulk_create(
            [
                InvoiceLine(
                    invoice=credit,
                    position=pos,
                    product_code=li.product_code,
                    name=li.name,
                    description=li.description,
                    unit_code=li.unit_code,
                    unit_name=li.unit_name,
                    quantity=-qty,
                    unit_price=li.unit_price,
                    vat_category=li.vat_category,
                    vat_rate=li.vat_rate,
                    net=net,
                    allowances=off,
                    credited_line=li,
                    # A grouped invoice's line group (invoices.grouping) stays named on its storno.
                    contract_id=li.contract_id,
                    period_start=li.period_start,
                    period_end=li.period_end,
                )
                for pos, ((li, qty), net, off) in enumerate(
                    zip(wanted, totals.line_nets, allowances, strict=True), start=1
                )
            ]
        )
        now_done = {**done}
        for li, qty in wanted:
            now_done[li.pk] = now_done.get(li.pk, Decimal(0)) + qty
        whole = all(now_done.get(pk, Decimal(0)) >= li.quantity for pk, li in orig_lines.items())
        original.status = InvoiceStatus.CANCELLED if whole else InvoiceStatus.PARTIALLY_CREDITED
        original.save(update_fields=["status", "updated_at"])
        if whole:
            events.emit(
                original.company_id,
                "invoice.cancelled",
                {
                    "invoice_id": original.pk,
                    "number": original.full_number,
                    "credit_note_id": credit.pk,
                    "credit_note_number": credit.full_number,
                    "amount": str(credit.gross_total),
                    "currency": credit.currency,
                },
            )
        for hook in AFTER_ISSUE:
            hook([credit])
    return credit
