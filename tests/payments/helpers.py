"""Invoices for payment tests, issued through the real billing engine."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from recurent.invoices.storno import invoice_storno
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


def credit_note(inv: Invoice, quantity: str | None = None) -> Invoice:
    """A storno against ``inv`` through the real service: ``quantity`` of its first line, or
    every line (the invoice is then cancelled)."""
    lines = None if quantity is None else [(inv.lines.first(), Decimal(quantity))]
    inv.series.refresh_from_db()
    at = inv.series.last_issued_at + timedelta(hours=1)  # after the series' newest invoice
    return invoice_storno(invoice=inv, lines=lines, as_of=at, user=inv.issuer)


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
