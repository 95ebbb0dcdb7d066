"""The dashboard's ledger-wide figures (web/figures.py, a few SQL passes) equal the payments
app's selectors, case by case: unpaid, partly paid, paid, reversed, storno, cancelled, overdue."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from recurent.invoices.storno import invoice_storno
from recurent.payments import selectors
from recurent.payments.services import payment_record, payment_reverse
from recurent.web import figures
from tests import factories as f
from tests.factories import local


def test_receivables_and_months_equal_the_payments_selectors(world):
    # Given seven monthly invoices in different states
    clients = [f.client(world.company, name=f"Client {i}") for i in range(7)]
    for i, cl in enumerate(clients):
        p = f.product(world.company, code=f"P{i}", unit_price=str(100 + 10 * i))
        f.contract(world.company, issuer=world.user, client_=cl, lines=[(p, "1")],
                   first=local(2026, 1, 5 + i, 9))  # fmt: skip
    issue_due(as_of=local(2026, 3, 20, 9))
    inv = {cl.pk: list(Invoice.objects.filter(client=cl).order_by("number")) for cl in clients}
    at = local(2026, 3, 21, 9)

    def pay(cl, invoice, amount):
        return payment_record(
            company=world.company, client=cl, date=date(2026, 3, 21), amount=amount,
            allocations=[(invoice, amount)], as_of=at, user=world.user,
        )  # fmt: skip

    pay(clients[0], inv[clients[0].pk][0], inv[clients[0].pk][0].gross_total)  # paid
    pay(clients[1], inv[clients[1].pk][0], Decimal("50.00"))  # partly paid
    p = pay(clients[2], inv[clients[2].pk][0], inv[clients[2].pk][0].gross_total)
    payment_reverse(payment=p, reason="returned", as_of=at, user=world.user)  # unpaid again
    invoice_storno(invoice=inv[clients[3].pk][0], lines=None, as_of=at, user=world.user)
    first_line = inv[clients[4].pk][0].lines.first()
    invoice_storno(
        invoice=inv[clients[4].pk][0], lines=[(first_line, Decimal("0.5"))], as_of=at,
        user=world.user,
    )  # fmt: skip
    pay(clients[5], inv[clients[5].pk][1], Decimal("10.00"))
    # clients[6]: nothing paid

    for when in (local(2026, 3, 21, 12), local(2026, 5, 30, 12)):  # before and after due dates
        # When both compute
        ours = figures.receivables(company_id=world.company.pk, as_of=when)
        theirs = selectors.receivables(world.company.pk, when)
        # Then they agree on every figure and on the oldest debts
        assert (ours.outstanding, ours.overdue, ours.open_count, ours.overdue_count) == (
            theirs.outstanding, theirs.overdue, theirs.open_count, theirs.overdue_count,
        )  # fmt: skip
        assert [(d.invoice_id, d.outstanding, d.days_overdue) for d in ours.oldest] == [
            (d.invoice_id, d.outstanding, d.days_overdue) for d in theirs.oldest
        ]
        assert ours.open_count > 0
        months = figures.month_figures(
            company_id=world.company.pk, months=12, as_of=when, collected=True
        )
        assert [(m["month"], m["invoiced"], m["collected"]) for m in months] == [
            (m.month, m.invoiced, m.collected)
            for m in selectors.invoiced_vs_collected(world.company.pk, 12, when)
        ]
    assert ours.overdue_count > 0 and any(m["collected"] for m in months)
