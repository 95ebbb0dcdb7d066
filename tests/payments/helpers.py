"""Invoices for payment tests, issued through the real billing engine."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from recurent.invoices.models import Invoice, InvoiceKind, InvoiceStatus
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local


def issued(world, *, client=None, price="100.00", periods=1, first=None, **contract_kw):
    """A monthly contract of one product at ``price`` (+21% VAT), invoiced ``periods`` times."""
    cl = client or f.client(world.company)
    p = f.product(world.company, unit_price=Decimal(price))
    first = first or local(2026, 1, 31)
    c = f.contract(
        world.company, issuer=world.user, client_=cl, lines=[(p, "1")], first=first, **contract_kw
    )
    for _ in range(periods):
        c.refresh_from_db()
        issue_due(as_of=c.next_issue_at, company_id=world.company.pk)
    return cl, list(Invoice.objects.filter(client=cl).order_by("number"))


def credit_note(inv: Invoice, amount: str, *, cancel: bool = False) -> Invoice:
    """A storno against ``inv`` (the lead's credit-note service does not exist yet: written directly)."""
    n = Invoice.objects.filter(series=inv.series).order_by("-number").first().number + 1
    cn = Invoice.objects.create(
        company_id=inv.company_id, series=inv.series, year=inv.year, number=n,
        full_number=f"{inv.series.code}-{n:06d}", kind=InvoiceKind.CREDIT_NOTE, origin="manual",
        client_id=inv.client_id, credited_invoice=inv, issued_at=inv.issued_at,
        issue_date=inv.issue_date, due_date=inv.due_date, issuer=inv.issuer, issuer_name="x",
        currency=inv.currency, price_currency=inv.price_currency, net_total=-Decimal(amount),
        vat_total=Decimal(0), gross_total=-Decimal(amount), seller=inv.seller, buyer=inv.buyer,
        buyer_name=inv.buyer_name,
    )  # fmt: skip
    if cancel:
        inv.status = InvoiceStatus.CANCELLED
        inv.save(update_fields=["status", "updated_at"])
    return cn


D = Decimal
TODAY = date(2026, 2, 5)


def billed(world, prices, periods=1, first=None):
    """Several clients' contracts starting together, billed ``periods`` times: [(client, [invoices])]."""
    first = first or local(2026, 1, 31)
    made = []
    for price in prices:
        cl = f.client(world.company)
        p = f.product(world.company, unit_price=Decimal(price))
        made.append(
            (
                cl,
                f.contract(
                    world.company, issuer=world.user, client_=cl, lines=[(p, "1")], first=first
                ),
            )
        )
    for _ in range(periods):
        made[0][1].refresh_from_db()
        issue_due(as_of=made[0][1].next_issue_at, company_id=world.company.pk)
    return [(cl, list(Invoice.objects.filter(client=cl).order_by("number"))) for cl, _ in made]
