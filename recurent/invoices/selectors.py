"""Reads of invoices: exports and lists, streaming so memory stays flat."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

from .models import Invoice, InvoiceLine


def invoices_for_company(company_id: int) -> QuerySet[Invoice]:
    return Invoice.objects.filter(company_id=company_id)


def invoice_as_dict(inv: Invoice) -> dict[str, Any]:
    return {
        "number": inv.full_number, "series": inv.series.code, "sequence": inv.number, "year": inv.year,
        "kind": inv.kind, "status": inv.status, "issued_at": inv.issued_at.isoformat(),
        "issue_date": inv.issue_date.isoformat(), "due_date": inv.due_date.isoformat(),
        "period_start": inv.period_start.isoformat() if inv.period_start else None,
        "period_end": inv.period_end.isoformat() if inv.period_end else None,
        "contract": inv.contract_number or None, "seller": inv.seller, "buyer": inv.buyer,
        "issuer": inv.issuer_name, "currency": inv.currency, "price_currency": inv.price_currency,
        "fx_rate": str(inv.fx_rate) if inv.fx_rate is not None else None,
        "fx_date": inv.fx_date.isoformat() if inv.fx_date else None,
        "lines": [
            {
                "position": li.position, "product_code": li.product_code, "name": li.name,
                "unit_code": li.unit_code, "quantity": str(li.quantity), "unit_price": str(li.unit_price),
                "vat_category": li.vat_category, "vat_rate": str(li.vat_rate), "net": str(li.net),
            }  # fmt: skip
            for li in inv.lines.all()
        ],
        "vat_breakdown": inv.vat_breakdown, "net_total": str(inv.net_total), "vat_total": str(inv.vat_total),
        "gross_total": str(inv.gross_total),
        "vat_total_ron": str(inv.vat_total_ron) if inv.vat_total_ron is not None else None,
        "credited_invoice": inv.credited_invoice.full_number if inv.credited_invoice else None,
    }  # fmt: skip


def invoices_export(
    *, as_of: datetime | None = None, company_id: int | None = None
) -> Iterator[dict[str, Any]]:
    qs = Invoice.objects.select_related("series", "credited_invoice").order_by(
        "issued_at", "series_id", "number"
    )
    if as_of is not None:
        qs = qs.filter(issued_at__lte=as_of)
    if company_id is not None:
        qs = qs.filter(company_id=company_id)
    qs = qs.prefetch_related(Prefetch("lines", queryset=InvoiceLine.objects.order_by("position")))
    for inv in qs.iterator(chunk_size=1000):
        yield invoice_as_dict(inv)


def invoice_by_full_number(text: str, company_id: int | None = None) -> Invoice | None:
    from recurent.engine.numbering import parse_full_number

    ref = parse_full_number(text)
    qs = Invoice.objects.filter(series__code=ref.series, number=ref.number)
    if company_id is not None:
        qs = qs.filter(company_id=company_id)
    return qs.order_by("-year").first()
