"""The dashboard's ledger-wide figures (web/figures.py over the payments selectors, read from the
stored balances) equal the same figures worked out by hand from the invoices, allocations and
credit notes, case by case: unpaid, partly paid, paid, reversed, storno, cancelled, overdue."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from recurent.engine.cycles import BUCHAREST
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from recurent.invoices.storno import invoice_storno
from recurent.payments import balances
from recurent.payments.models import Allocation, Payment
from recurent.payments.services import payment_record, payment_reverse
from recurent.web import figures
from tests import factories as f
from tests.factories import local


def test_receivables_and_months_equal_the_figures_worked_out_by_hand(world):
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

    def by_hand(when):
        today = when.astimezone(BUCHAREST).date()
        open_ = []
        for i in Invoice.objects.filter(company=world.company, kind="invoice").order_by("pk"):
            paid = sum(
                (a.amount for a in Allocation.objects.filter(invoice=i, payment__reversed=False)),
                Decimal(0),
            )
            credited = sum((abs(c.gross_total) for c in i.credit_notes.all()), Decimal(0))
            left = i.gross_total - paid - credited
            if i.status != "cancelled" and left > 0:
                open_.append((i.due_date, i.pk, left))
        open_.sort()
        late = [x for x in open_ if x[0] < today]
        return (
            sum((x[2] for x in open_), Decimal(0)), sum((x[2] for x in late), Decimal(0)),
            len(open_), len(late), [(pk, left, max((today - due).days, 0)) for due, pk, left in open_],
        )  # fmt: skip

    for when in (local(2026, 3, 21, 12), local(2026, 5, 30, 12)):  # before and after due dates
        # When the dashboard computes its figures
        ours = figures.receivables(company_id=world.company.pk, as_of=when)
        # Then they agree with the hand-made ones on every figure and on the oldest debts
        total, overdue, count, overdue_count, debts = by_hand(when)
        assert (ours.outstanding, ours.overdue, ours.open_count, ours.overdue_count) == (
            total, overdue, count, overdue_count,
        )  # fmt: skip
        assert [(d.invoice_id, d.outstanding, d.days_overdue) for d in ours.oldest] == debts[:10]
        assert ours.open_count > 0
        months = figures.month_figures(company_id=world.company.pk, months=12, as_of=when)
        invoiced = {}
        for i in Invoice.objects.filter(company=world.company):
            m = i.issue_date.replace(day=1)
            invoiced[m] = invoiced.get(m, 0) + (
                i.gross_total if i.kind == "invoice" else -abs(i.gross_total)
            )
        collected = {}
        for p in Payment.objects.filter(company=world.company, reversed=False):
            collected[p.date.replace(day=1)] = collected.get(p.date.replace(day=1), 0) + p.amount
        assert [(m.invoiced, m.collected) for m in months] == [
            (invoiced.get(m.month, 0), collected.get(m.month, 0)) for m in months
        ]
    assert ours.overdue_count > 0 and any(m.collected for m in months)
    assert balances.mismatches(company_id=world.company.pk) == []
