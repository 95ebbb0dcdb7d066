"""Recording, allocating and reversing payments; the derived invoice states; client credit."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recurent.payments import selectors as sel
from recurent.payments.models import Payment
from recurent.payments.services import payment_allocate, payment_record, payment_reverse
from tests import factories as f
from tests.factories import local

from .helpers import billed, credit_note, issued

# Service errors read in English here, as the API and the command line show them.
pytestmark = pytest.mark.usefixtures("english")

NOW = local(2026, 2, 5, 12)


def record(world, client, amount, allocations=(), **kw):
    kw.setdefault("date", date(2026, 2, 5))
    return payment_record(
        company=world.company, client=client, amount=amount, allocations=allocations,
        as_of=kw.pop("as_of", NOW), user=world.user, **kw,
    )  # fmt: skip


def test_an_invoice_is_unpaid_then_partially_paid_then_paid(world, emitted):
    cl, [inv] = issued(world)
    assert inv.gross_total == D("121.00")
    assert sel.payment_state(inv, NOW) == "unpaid"
    record(world, cl, "21.00", [(inv, "21.00")])
    assert sel.outstanding(inv) == D("100.00")
    assert sel.payment_state(inv, NOW) == "partially_paid"
    record(world, cl, "100.00", [(inv, "100.00")])
    assert sel.outstanding(inv) == D("0.00")
    assert sel.payment_state(inv, NOW) == "paid"
    types = [t for _, t, _ in emitted]
    assert types == ["payment.received", "invoice.paid", "payment.received"]
    paid = next(p for _, t, p in emitted if t == "invoice.paid")
    assert paid["invoice_id"] == inv.pk and paid["full_number"] == "REC-000001"


def test_an_invoice_past_its_due_date_and_not_fully_paid_is_overdue(world):
    cl, [inv] = issued(world)
    assert inv.due_date == date(2026, 2, 15)
    assert sel.payment_state(inv, local(2026, 2, 15, 23)) == "unpaid"
    assert sel.payment_state(inv, local(2026, 2, 16, 0, 5)) == "overdue"
    record(world, cl, "50", [(inv, "50")])
    assert sel.payment_state(inv, local(2026, 2, 16, 0, 5)) == "overdue"
    assert sel.payment_state(inv, local(2026, 2, 10)) == "partially_paid"


def test_an_allocation_can_never_exceed_what_is_outstanding(world):
    cl, [inv] = issued(world)
    with pytest.raises(ValidationError) as e:
        record(world, cl, "200.00", [(inv, "121.01")])
    assert "allocations[1].amount" in e.value.message_dict
    assert Payment.objects.count() == 0  # the whole payment was refused, nothing half-written
    p = record(world, cl, "200.00", [(inv, "100")])
    with pytest.raises(ValidationError) as e:
        payment_allocate(payment=p, allocations=[(inv, "21.01")], as_of=NOW, user=world.user)
    assert "outstanding" in str(e.value)


def test_allocations_cannot_exceed_the_payment_nor_touch_another_clients_invoice(world):
    cl, [inv] = issued(world)
    other, [inv2] = issued(world, first=local(2026, 1, 31, 10))
    with pytest.raises(ValidationError) as e:
        record(world, cl, "50.00", [(inv, "60.00")])
    assert "unallocated" in str(e.value)
    with pytest.raises(ValidationError) as e:
        record(world, cl, "50.00", [(inv2, "10.00")])
    assert e.value.message_dict == {"allocations[1].invoice": ["not an invoice of this client"]}


def test_what_is_left_over_stays_as_credit_and_is_used_later(world):
    cl, [jan, feb] = issued(world, periods=2)
    p = record(world, cl, "150.00", [(jan, "121.00")])
    assert sel.client_credit(cl) == D("29.00")
    assert list(sel.payments_with_credit(cl)) == [p]
    payment_allocate(payment=p, allocations=[(feb, "29.00")], as_of=NOW, user=world.user)
    assert sel.client_credit(cl) == D("0.00")
    assert sel.outstanding(feb) == D("92.00")
    assert sel.payment_state(feb, NOW) == "partially_paid"


def test_a_reversed_payment_stops_counting_and_keeps_its_reason(world):
    cl, [inv] = issued(world)
    p = record(world, cl, "121.00", [(inv, "121.00")])
    assert sel.payment_state(inv, NOW) == "paid"
    with pytest.raises(ValidationError):
        payment_reverse(payment=p, reason="  ", as_of=NOW, user=world.user)
    payment_reverse(payment=p, reason="cec refuzat", as_of=NOW, user=world.user)
    p.refresh_from_db()
    assert p.reversed and p.reversed_reason == "cec refuzat" and p.reversed_at == NOW
    assert sel.payment_state(inv, NOW) == "unpaid" and sel.outstanding(inv) == D("121.00")
    assert Payment.objects.filter(pk=p.pk).exists()  # never deleted
    with pytest.raises(ValidationError):
        payment_reverse(payment=p, reason="again", as_of=NOW, user=world.user)


def test_a_credit_note_reduces_what_is_outstanding_and_a_storno_cancels(world):
    cl, [a, b] = issued(world, periods=2)
    cn = credit_note(a, "0.5")
    assert sel.outstanding(a) == D("60.50") and sel.credited_amount(a) == D("60.50")
    assert sel.payment_state(a, NOW) == "unpaid"
    assert sel.payment_state(cn, NOW) == "credit_note"
    credit_note(b)
    assert sel.payment_state(b, NOW) == "cancelled" and sel.outstanding(b) == D("0")
    with pytest.raises(ValidationError):
        record(world, cl, "10", [(b, "10")])


def test_cash_needs_a_receipt_number_and_amounts_are_checked(world):
    cl, [inv] = issued(world)
    with pytest.raises(ValidationError) as e:
        record(world, cl, "10", method="cash")
    assert "receipt_number" in e.value.message_dict
    for bad, field in [("-1", "amount"), ("0", "amount"), ("1.001", "amount"), ("abc", "amount")]:
        with pytest.raises(ValidationError) as e:
            record(world, cl, bad)
        assert field in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        record(world, cl, "10", date=date(2026, 3, 1))
    assert "date" in e.value.message_dict
    p = record(world, cl, "10", method="cash", receipt_number="CH 0012")
    assert p.receipt_number == "CH 0012"


def test_a_payment_in_another_currency_is_not_allocated_to_a_ron_invoice(world):
    cl, [inv] = issued(world)
    with pytest.raises(ValidationError) as e:
        record(world, cl, "10", [(inv, "10")], currency="EUR")
    assert "RON" in str(e.value)


def test_states_of_many_invoices_take_one_query(world):
    made = billed(world, ["100", "100", "100"], periods=2)
    invs = [inv for _, invs in made for inv in invs]
    record(world, made[0][0], "121", [(invs[0], "121")])
    record(world, made[1][0], "10", [(invs[2], "10")])
    with CaptureQueriesContext(connection) as q:
        states = sel.payment_states([i.pk for i in invs], local(2026, 3, 20))
    assert len(q.captured_queries) == 1
    assert states[invs[0].pk] == "paid"
    assert states[invs[2].pk] == "overdue"
    assert sorted(states.values()).count("overdue") == 5


def test_receivables_and_invoiced_vs_collected(world):
    (cl, [jan, feb]), (other, [o1, o2]) = billed(world, ["100", "200"], periods=2)
    record(world, cl, "121", [(jan, "121")], date=date(2026, 2, 3), as_of=local(2026, 3, 1))
    record(world, other, "42", [(o1, "42")], date=date(2026, 3, 1), as_of=local(2026, 3, 1))
    r = sel.receivables(world.company.pk, local(2026, 3, 10))
    # Open: feb 121, o1 242-42=200, o2 242; overdue (due before Mar 10): o1 (due Feb 15) only.
    assert r.outstanding == D("563.00") and r.open_count == 3
    assert r.overdue == D("200.00") and r.overdue_count == 1
    assert r.oldest[0].full_number == o1.full_number and r.oldest[0].days_overdue == 23
    months = sel.invoiced_vs_collected(world.company.pk, 3, local(2026, 3, 20))
    assert [m.month for m in months] == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert [m.invoiced for m in months] == [D("363.00"), D("363.00"), D("0.00")]
    assert [m.collected for m in months] == [D("0.00"), D("121.00"), D("42.00")]


def test_a_client_of_another_company_cannot_be_paid_here(world):
    other_company = f.company(legal_name="Alta SRL")
    stranger = f.client(other_company)
    with pytest.raises(ValidationError) as e:
        record(world, stranger, "10")
    assert "client" in e.value.message_dict
