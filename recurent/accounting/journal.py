"""The sales journal: one row per invoice line with its accounts, VAT and RON figures.

Every accounting format (Saga, WinMENTOR, the CSV/XLSX journal) is written from these rows, so
they all carry the same figures. Nothing is rounded again: an invoice's VAT is computed once
per (category, rate) group at issue; a line's share of it comes from ``allocate`` (largest
remainder), so the lines of a group add up to the group's VAT to the cent. RON figures of a
foreign-currency invoice use its stored BNR rate: the group base converted once, the VAT in RON
as stored at issue.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from recurent.engine.money import allocate, round_money
from recurent.invoices.models import Invoice, InvoiceKind

from .models import AccountingSettings, AccountRule

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Accounts:
    client: str
    revenue: str
    vat: str
    vat_on_collection: str
    bank: str
    cash: str
    card: str
    by_product: dict[str, str]
    by_category: dict[str, str]

    def revenue_for(self, product_code: str, category: str) -> str:
        return self.by_product.get(product_code) or self.by_category.get(category) or self.revenue


def accounts_for(company_id: int) -> Accounts:
    s = AccountingSettings.objects.filter(company_id=company_id).first() or AccountingSettings()
    by_product: dict[str, str] = {}
    by_category: dict[str, str] = {}
    for r in AccountRule.objects.filter(company_id=company_id):
        if r.product_code:
            by_product[r.product_code] = r.revenue_account
        else:
            by_category[r.vat_category] = r.revenue_account
    return Accounts(
        client=s.client_account, revenue=s.revenue_account, vat=s.vat_account,
        vat_on_collection=s.vat_on_collection_account, bank=s.bank_account, cash=s.cash_account,
        card=s.card_account, by_product=by_product, by_category=by_category,
    )  # fmt: skip


@dataclass(frozen=True)
class JournalRow:
    invoice_id: int
    series: str
    number: int
    full_number: str
    kind: str  # invoice | credit_note
    issue_date: date
    due_date: date
    client_id: int
    client_name: str
    client_tax_id: str
    client_country: str
    client_kind: str
    currency: str
    fx_rate: Decimal | None
    vat_on_collection: bool
    efactura_index: str
    position: int
    product_code: str
    name: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    vat_category: str
    vat_rate: Decimal
    net: Decimal
    vat: Decimal
    net_ron: Decimal
    vat_ron: Decimal
    revenue_account: str
    client_account: str
    vat_account: str

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat

    @property
    def gross_ron(self) -> Decimal:
        return self.net_ron + self.vat_ron


def invoices_between(company_id: int, date_from: date, date_to: date) -> Any:
    """The company's invoices and credit notes issued in [date_from, date_to], in number order."""
    return (
        Invoice.objects.filter(
            company_id=company_id, issue_date__gte=date_from, issue_date__lte=date_to
        )
        .select_related("series", "efactura")
        .defer("efactura__answer_zip", "efactura__raw_errors")
        .prefetch_related("lines")
        .order_by("series__code", "year", "number")
    )


def _groups(inv: Invoice) -> dict[tuple[str, Decimal], dict[str, Decimal | None]]:
    out: dict[tuple[str, Decimal], dict[str, Decimal | None]] = {}
    for g in inv.vat_breakdown or []:
        out[(g["category"], Decimal(g["rate"]))] = {
            "base": Decimal(g["base"]),
            "vat": Decimal(g["vat"]),
            "vat_ron": Decimal(g["vat_ron"]) if g.get("vat_ron") not in (None, "") else None,
        }
    return out


def rows_of(inv: Invoice, acc: Accounts) -> list[JournalRow]:
    lines = list(inv.lines.all())
    groups = _groups(inv)
    foreign = inv.currency != "RON" and inv.fx_rate is not None
    by_group: dict[tuple[str, Decimal], list[Any]] = {}
    for li in lines:
        by_group.setdefault((li.vat_category, Decimal(li.vat_rate)), []).append(li)
    vat_of: dict[int, Decimal] = {}
    net_ron_of: dict[int, Decimal] = {}
    vat_ron_of: dict[int, Decimal] = {}
    for key, members in by_group.items():
        g = groups.get(key, {"base": sum((m.net for m in members), ZERO), "vat": ZERO})
        nets = [m.net for m in members]
        for m, share in zip(members, allocate(Decimal(g["vat"] or 0), nets), strict=True):
            vat_of[m.pk] = share
        if foreign:
            assert inv.fx_rate is not None
            base_ron = round_money(Decimal(g["base"] or 0) * inv.fx_rate)
            vat_ron = g.get("vat_ron")
            if vat_ron is None:
                vat_ron = round_money(Decimal(g["vat"] or 0) * inv.fx_rate)
            for m, share in zip(members, allocate(base_ron, nets), strict=True):
                net_ron_of[m.pk] = share
            for m, share in zip(members, allocate(Decimal(vat_ron), nets), strict=True):
                vat_ron_of[m.pk] = share
    buyer = inv.buyer or {}
    st = getattr(inv, "efactura", None)
    out = []
    for li in lines:
        out.append(
            JournalRow(
                invoice_id=inv.pk,
                series=inv.series.code,
                number=inv.number,
                full_number=inv.full_number,
                kind=inv.kind,
                issue_date=inv.issue_date,
                due_date=inv.due_date,
                client_id=inv.client_id,
                client_name=inv.buyer_name,
                client_tax_id=buyer.get("tax_id") or "",
                client_country=buyer.get("country") or "RO",
                client_kind=buyer.get("kind") or "company",
                currency=inv.currency,
                fx_rate=inv.fx_rate if foreign else None,
                vat_on_collection=inv.vat_on_collection,
                efactura_index=(st.upload_index if st else "") or "",
                position=li.position,
                product_code=li.product_code,
                name=li.name,
                unit=li.unit_name,
                quantity=li.quantity,
                unit_price=li.unit_price,
                vat_category=li.vat_category,
                vat_rate=Decimal(li.vat_rate),
                net=li.net,
                vat=vat_of[li.pk],
                net_ron=net_ron_of.get(li.pk, li.net) if foreign else li.net,
                vat_ron=vat_ron_of.get(li.pk, vat_of[li.pk]) if foreign else vat_of[li.pk],
                revenue_account=acc.revenue_for(li.product_code, li.vat_category),
                client_account=acc.client,
                vat_account=acc.vat_on_collection if inv.vat_on_collection else acc.vat,
            )  # fmt: skip
        )
    return out


def journal(invoices: Iterable[Invoice], acc: Accounts) -> Iterator[JournalRow]:
    for inv in invoices:
        yield from rows_of(inv, acc)


def is_credit(row: JournalRow) -> bool:
    return row.kind == InvoiceKind.CREDIT_NOTE
