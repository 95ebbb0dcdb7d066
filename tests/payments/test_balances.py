"""The stored invoice balances stay equal to the ones recomputed from the allocations and credit
notes, whatever happens in whatever order: issue, pay, keep as credit, allocate later, reverse,
partial storno, whole storno. And the payment states read from them are the ones defined."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from recurent.invoices.models import Invoice, InvoiceKind, InvoiceStatus
from recurent.invoices.services import issue_due
from recurent.invoices.storno import credited_quantities, invoice_storno
from recurent.payments import balances
from recurent.payments import selectors as sel
from recurent.payments.models import BalanceState, InvoiceBalance, Payment
from recurent.payments.services import payment_allocate, payment_record, payment_reverse
from tests import factories as f
from tests.factories import local

from .helpers import issued

STATES = ["unpaid", "partially_paid", "paid", "overdue", "cancelled", "credit_note"]


def _expected_state(e: balances.Expected, kind: str, status: str, today) -> str:
    # The documented definition (payments.selectors), from the recomputed figures.
    if kind == InvoiceKind.CREDIT_NOTE:
        return "credit_note"
    if status == InvoiceStatus.CANCELLED:
        return "cancelled"
    if e.outstanding <= 0:
        return "paid"
    if e.due_date < today:
        return "overdue"
    return "partially_paid" if e.paid > 0 else "unpaid"


class Ledger:
    """A company with three clients on two-product monthly contracts, driven at random."""

    def __init__(self, world, rnd: random.Random) -> None:
        self.w, self.rnd = world, rnd
        self.clients = []
        for i in range(3):
            cl = f.client(world.company, name=f"Client {i}")
            a = f.product(world.company, code=f"A{i}", unit_price=D(str(50 + 7 * i)))
            b = f.product(world.company, code=f"B{i}", unit_price=D("19.99"))
            f.contract(world.company, issuer=world.user, client_=cl, lines=[(a, "2"), (b, "1")],
                       first=local(2026, 1, 5 + i, 9))  # fmt: skip
            self.clients.append(cl)
        self.t = local(2026, 1, 10, 9)
        issue_due(as_of=self.t)

    def open_of(self, cl) -> list[Invoice]:
        return list(sel.open_invoices(Invoice.objects.filter(client=cl), self.t))

    def step(self) -> str:
        op = self.rnd.choice(["issue", "pay", "pay", "credit", "allocate", "reverse", "storno"])
        cl = self.rnd.choice(self.clients)
        day = self.t.date()
        if op == "issue":
            self.t += timedelta(days=self.rnd.randint(3, 20))
            issue_due(as_of=self.t)
        elif op in ("pay", "credit"):
            allocations = []
            if op == "pay":
                for inv in self.open_of(cl):
                    if self.rnd.random() < 0.6:
                        full = self.rnd.random() < 0.5
                        left = inv.outstanding_amount
                        part = D(self.rnd.randint(1, int(left * 100))) / 100
                        allocations.append((inv, left if full else part))
            amount = sum((a for _, a in allocations), D(0)) + D(self.rnd.randint(0, 3000)) / 100
            if amount > 0:
                payment_record(company=self.w.company, client=cl, date=day, amount=amount,
                               allocations=allocations, as_of=self.t, user=self.w.user)  # fmt: skip
        elif op == "allocate":
            p = sel.payments_with_credit(cl).first()
            opened = self.open_of(cl)
            if p is not None and opened:
                inv = self.rnd.choice(opened)
                amount = min(sel.unallocated(p), inv.outstanding_amount)
                payment_allocate(payment=p, allocations=[(inv, amount)], as_of=self.t,
                                 user=self.w.user)  # fmt: skip
        elif op == "reverse":
            live = list(Payment.objects.filter(client=cl, reversed=False).order_by("pk"))
            if live:
                p = self.rnd.choice(live)
                payment_reverse(payment=p, reason="returned", as_of=self.t, user=self.w.user)
        elif op == "storno":
            candidates = list(
                Invoice.objects.filter(client=cl, kind=InvoiceKind.INVOICE)
                .exclude(status=InvoiceStatus.CANCELLED)
                .order_by("pk")
            )
            if candidates:
                inv = self.rnd.choice(candidates)
                done = credited_quantities(inv)
                line = self.rnd.choice(list(inv.lines.order_by("pk")))
                left = line.quantity - done.get(line.pk, D(0))
                whole = self.rnd.random() < 0.4 or left <= 0
                lines = None if whole else [(line, min(left, D("1")))]
                invoice_storno(invoice=inv, lines=lines, as_of=self.t, user=self.w.user)
        return op


@pytest.mark.parametrize("seed", range(int(__import__("os").environ.get("BAL_SEEDS", "6"))))
def test_stored_balances_equal_the_recomputed_ones_after_any_sequence(world, seed):
    # Given a company with contracts, driven by a random sequence of what can happen to invoices
    ledger = Ledger(world, random.Random(seed))
    seen = set()
    for _ in range(45):
        # When one more thing happens
        seen.add(ledger.step())
        # Then every stored balance equals the one recomputed from the source rows
        assert balances.mismatches(company_id=world.company.pk) == []
    assert seen >= {"pay", "reverse", "storno"}

    # And the states read from the stored balances are the defined ones, by row and by filter
    for when in (ledger.t, ledger.t + timedelta(days=40)):
        today = sel.day_of(when)
        ids = list(Invoice.objects.filter(company=world.company).values_list("pk", flat=True))
        expected = balances.recomputed(ids)
        kinds = dict(
            (pk, (k, s))
            for pk, k, s in Invoice.objects.filter(pk__in=ids).values_list("pk", "kind", "status")
        )
        want = {pk: _expected_state(expected[pk], *kinds[pk], today) for pk in ids}
        assert sel.payment_states(ids, when) == want
        base = Invoice.objects.filter(company=world.company)
        for state in STATES:
            got = set(sel.filter_payment_state(base, state, when).values_list("pk", flat=True))
            assert got == {pk for pk, s in want.items() if s == state}, state


def test_a_storno_of_a_paid_invoice_keeps_its_money_and_closes_it(world):
    # Given an invoice paid in part
    cl, [inv] = issued(world)
    at = local(2026, 2, 5, 12)
    payment_record(company=world.company, client=cl, date=at.date(), amount="21.00",
                   allocations=[(inv, "21.00")], as_of=at, user=world.user)  # fmt: skip
    # When it is cancelled by a storno
    cn = invoice_storno(invoice=inv, lines=None, as_of=at, user=world.user)
    # Then its balance is closed as cancelled, what was paid and credited stays visible
    b = InvoiceBalance.objects.get(pk=inv.pk)
    assert (b.state, b.paid, b.credited, b.outstanding) == ("cancelled", D("21.00"), D("121.00"), 0)
    assert InvoiceBalance.objects.get(pk=cn.pk).state == BalanceState.CREDIT_NOTE
    # And nothing more can be allocated to it
    with pytest.raises(ValidationError):
        payment_record(company=world.company, client=cl, date=at.date(), amount="1.00",
                       allocations=[(inv, "1.00")], as_of=at, user=world.user)  # fmt: skip


def test_a_billing_batch_writes_its_balances_in_one_insert(world):
    # Given twenty contracts due together
    for _ in range(20):
        f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    # When the engine issues them
    with CaptureQueriesContext(connection) as q:
        issue_due(as_of=local(2026, 1, 31, 12))
    # Then one statement wrote all their balances, open and due on their due date
    inserts = [x["sql"] for x in q.captured_queries if "payments_invoicebalance" in x["sql"]]
    # (SQLite: one prepared INSERT run for every row, logged "20 times: INSERT ...")
    assert len(inserts) == 1 and inserts[0].split(" times: ", 1)[-1].startswith("INSERT")
    rows = InvoiceBalance.objects.filter(company=world.company)
    assert rows.count() == 20 and set(rows.values_list("state", flat=True)) == {"open"}
    assert balances.mismatches(company_id=world.company.pk) == []


def test_the_data_migration_fills_what_is_missing(world):
    # Given invoices whose balances are lost (as before balances were stored)
    cl, invs = issued(world, periods=2)
    at = local(2026, 3, 5, 12)
    payment_record(company=world.company, client=cl, date=at.date(), amount="50.00",
                   allocations=[(invs[0], "50.00")], as_of=at, user=world.user)  # fmt: skip
    invoice_storno(invoice=invs[1], lines=None, as_of=at, user=world.user)
    InvoiceBalance.objects.all().delete()
    assert len(balances.mismatches(company_id=world.company.pk)) == 3
    # When the migration's fill runs
    from importlib import import_module

    from django.apps import apps

    fill = import_module("recurent.payments.migrations.0003_fill_balances").fill
    fill(apps, type("Editor", (), {"connection": connection})())
    # Then every balance is back and right
    assert balances.mismatches(company_id=world.company.pk) == []
    assert InvoiceBalance.objects.get(pk=invs[0].pk).outstanding == D("71.00")


@pytest.mark.django_db(transaction=True)
def test_two_payments_racing_for_one_invoice_never_overpay_it():
    from tests.factories import setup_company

    c, _s, u = setup_company()
    world = type("World", (), {"company": c, "user": u})
    cl, [inv] = issued(world)
    at = local(2026, 2, 5, 12)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def pay() -> None:
        try:
            barrier.wait()
            for _ in range(500):
                try:
                    payment_record(company=c, client=cl, date=at.date(), amount="100.00",
                                   allocations=[(inv.pk, "100.00")], as_of=at, user=u)  # fmt: skip
                    outcomes.append("paid")
                    break
                except ValidationError:
                    outcomes.append("refused")
                    break
                except OperationalError as e:
                    # SQLite's in-memory test database has table locks that do not wait (the
                    # file database of production waits): wait here the same way.
                    assert "locked" in str(e)
                    time.sleep(0.01)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Only one fits in the 121.00; the others saw its allocation under the locks
    assert sorted(outcomes) == ["paid", "refused", "refused", "refused"]
    assert InvoiceBalance.objects.get(pk=inv.pk).outstanding == D("21.00")
    assert balances.mismatches(company_id=c.pk) == []
