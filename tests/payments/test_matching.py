"""Matching statement lines like an accountant would: invoice numbers as people write them, then
the payer's IBAN with an exact amount or an exact sum, credit and partial payments, name
similarity only as a suggestion; the report after each import; the import in the background."""

from decimal import Decimal as D

import pytest

from recurent.clients.models import Client
from recurent.payments import bank
from recurent.payments import selectors as sel
from recurent.payments.bank import MatchRule, statement_import, statement_import_next
from recurent.payments.models import (
    ImportStatus,
    LineStatus,
    Payment,
    StatementImport,
    StatementLine,
)
from tests import factories as f
from tests.factories import local

from .helpers import billed, camt_file

NOW = local(2026, 3, 6, 9)
IBANS = ["RO16BTRLRONCRT0123456701", "RO06RNCB0072049912340001", "RO21INGB0000999901234567"]


@pytest.fixture
def three(world):
    """ALFA SRL (48.40 a month), BETA SRL (242.00), GAMA SRL (363.00), each billed twice:
    REC-000001..3 on 31 January, REC-000004..6 on 28 February."""
    made = billed(world, ["40", "200", "300"], periods=2)
    for (cl, _), iban, name in zip(made, IBANS, ["ALFA SRL", "BETA SRL", "GAMA SRL"], strict=True):
        Client.objects.filter(pk=cl.pk).update(iban=iban, name=name)
    return [invs for _, invs in made]


def load(world, lines, name="s.xml"):
    return statement_import(company=world.company, filename=name, content=camt_file(lines),
                            as_of=NOW, user=world.user)  # fmt: skip


def only_line():
    return StatementLine.objects.get()


@pytest.mark.parametrize(
    "text",
    [
        "Plata factura REC-000002",
        "REC 2",
        "rec2 abonament",
        "F REC/2",
        "contravaloare fact REC nr. 000002",
        "REC-02",
        "fact. 2",  # no series: one open invoice is number 2 and the amount is exactly its own
        "Factura nr 2 din 31.01",
    ],
)
def test_invoice_numbers_written_the_ways_people_write_them(world, three, text):
    beta = three[1][0]
    assert beta.full_number == "REC-000002"
    load(world, [("242.00", "Cineva", "", text, "R1")])
    line = only_line()
    assert line.status == LineStatus.MATCHED, line.match_note
    assert line.match_rule in {MatchRule.NUMBER, MatchRule.NUMBER_CONFIRMED}
    assert sel.payment_state(beta, NOW) == "paid"


@pytest.mark.parametrize("text", ["ABC-000002", "REC-000099", "XREC2", "fact. 2"])
def test_a_number_of_another_series_or_unconfirmed_is_never_used(world, three, text):
    # "fact. 2" for 100.00 from an unknown payer: neither the IBAN nor the amount confirms it.
    load(world, [("100.00", "Cineva", "", text, "R1")])
    assert only_line().status == LineStatus.UNMATCHED
    assert Payment.objects.count() == 0


def test_a_number_of_another_company_is_never_used(world, three):
    other, _, u = f.setup_company()
    theirs = billed(type("W", (), {"company": other, "user": u}), ["900"])[0][1][0]
    assert theirs.full_number == "REC-000001"
    ours = three[0][0]  # our REC-000001 is ALFA's 48.40
    load(world, [("1089.00", "Cineva", "", "REC-000001", "R1")])
    assert sel.outstanding(theirs) == theirs.gross_total == D("1089.00")
    # Ours is named, but neither the amount, an IBAN nor the name confirms it: a person decides.
    assert only_line().status == LineStatus.UNMATCHED and "confirms" in only_line().match_note
    assert sel.payment_state(ours, NOW) == "overdue"


def test_a_mistyped_number_of_another_client_gives_way_to_the_payers_iban(world, three):
    gama_jan = three[2][0]
    load(world, [("363.00", "GAMA", IBANS[2], "Plata factura REC-000002", "R1")])  # BETA's
    line = only_line()
    assert line.match_rule == MatchRule.IBAN_AMOUNT, line.match_note
    assert sel.payment_state(gama_jan, NOW) == "paid"
    assert sel.payment_state(three[1][0], NOW) == "overdue"


def test_the_payers_name_confirms_a_partial_payment_of_a_named_invoice(world, three):
    beta = three[1][0]
    load(world, [("100.00", "S.C. Beta S.R.L.", "", "REC 2", "R1")])
    assert sel.outstanding(beta) == D("142.00")


def test_iban_and_exact_amount_pays_the_oldest_of_equal_invoices(world, three):
    jan, feb = three[2]
    load(world, [("363.00", "GAMA", IBANS[2], "abonament", "R1")])
    assert only_line().match_rule == MatchRule.IBAN_AMOUNT
    assert (sel.payment_state(jan, NOW), sel.payment_state(feb, NOW)) == ("paid", "unpaid")


def test_iban_and_several_invoices_that_add_up(world, three):
    jan, feb = three[2]
    load(world, [("726.00", "GAMA", IBANS[2], "doua luni", "R1")])
    assert only_line().match_rule == MatchRule.IBAN_SUM
    assert (sel.payment_state(jan, NOW), sel.payment_state(feb, NOW)) == ("paid", "paid")


def test_more_than_the_client_owes_leaves_a_credit(world, three):
    jan, feb = three[0]
    load(world, [("100.00", "ALFA", IBANS[0], "avans", "R1")])
    line = only_line()
    assert line.match_rule == MatchRule.IBAN_CREDIT and "credit" in line.match_note
    assert (sel.payment_state(jan, NOW), sel.payment_state(feb, NOW)) == ("paid", "paid")
    assert sel.client_credit(jan.client) == D("3.20")


def test_less_than_the_named_invoice_is_allocated_partially(world, three):
    beta = three[1][0]
    load(world, [("100.00", "BETA", "", "REC-000002 partial", "R1")])
    assert sel.outstanding(beta) == D("142.00")
    assert sel.payment_state(beta, NOW) == "overdue"  # due before 6 March, partly paid


def test_an_unknown_iban_with_a_known_amount_waits_for_a_person(world, three):
    load(world, [("363.00", "X", "RO98BRDE450SV88376004500", "abonament", "R1")])
    assert only_line().status == LineStatus.UNMATCHED


def test_a_similar_name_and_exact_amount_is_suggested_not_applied(world, three):
    jan = three[1][0]
    load(world, [("242.00", "Beta S.R.L.", "", "servicii", "R1")])
    line = only_line()
    assert line.status == LineStatus.UNMATCHED and Payment.objects.count() == 0
    assert line.suggested_invoice_id == jan.pk and "suggested" in line.match_note
    assert bank.match_candidates(line, NOW)[0].pk == jan.pk


def test_two_identical_transfers_without_reference_pay_two_invoices(world, three):
    jan, feb = three[2]
    imp = load(world, [("363.00", "GAMA", IBANS[2], "abonament", "")] * 2)
    assert (imp.lines_new, imp.matched) == (2, 2)
    assert (sel.payment_state(jan, NOW), sel.payment_state(feb, NOW)) == ("paid", "paid")
    again = load(world, [("363.00", "GAMA", IBANS[2], "abonament", "")] * 2)
    assert (again.lines_new, again.lines_duplicate) == (0, 2)
    assert Payment.objects.count() == 2


def test_the_matching_report_counts_each_rule(world, three):
    imp = load(
        world,
        [
            ("48.40", "ALFA", "", "REC-000001", "R1"),
            ("242.00", "BETA", IBANS[1], "abonament", "R2"),
            ("726.00", "GAMA", IBANS[2], "ian+feb", "R3"),
            ("242.00", "Beta SRL", "", "?", "R4"),  # BETA's February invoice, suggested
            ("5.00", "X", "", "?", "R5"),
        ],
    )
    assert (imp.matched, imp.unmatched) == (3, 2)
    assert imp.report == {
        "rules": {MatchRule.NUMBER: 1, MatchRule.IBAN_AMOUNT: 1, MatchRule.IBAN_SUM: 1},
        "suggested": 1,
        "credit": 0,
    }


# --- in the background -------------------------------------------------------------------------


def test_a_received_statement_waits_for_the_worker_then_imports(world, three):
    imp = bank.statement_receive(company=world.company, filename="s.xml",
                                 content=camt_file([("48.40", "A", "", "REC-000001", "R1")]),
                                 as_of=NOW, user=world.user)  # fmt: skip
    assert imp.status == ImportStatus.QUEUED and StatementLine.objects.count() == 0
    done = statement_import_next(as_of=NOW)
    assert done.pk == imp.pk and done.status == ImportStatus.DONE
    assert (done.lines_new, done.matched, done.content) == (1, 1, None)
    assert statement_import_next(as_of=NOW) is None
    assert bank.statements_task(limit=5) == 0


def test_a_failing_import_leaves_nothing_but_the_reason(world, three, monkeypatch):
    bank.statement_receive(company=world.company, filename="s.xml",
                           content=camt_file([("48.40", "A", "", "REC-000001", "R1"),
                                              ("242.00", "B", "", "REC-000002", "R2")]),
                           as_of=NOW, user=world.user)  # fmt: skip
    real = bank._match
    calls = []

    def second_fails(line, matcher, user):
        calls.append(line)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        real(line, matcher, user)

    monkeypatch.setattr(bank, "_match", second_fails)
    imp = statement_import_next(as_of=NOW)
    assert imp.status == ImportStatus.FAILED and "disk full" in imp.error
    assert StatementLine.objects.count() == 0 and Payment.objects.count() == 0
    assert sel.payment_state(three[0][0], NOW) == "overdue"
    assert StatementImport.objects.get().lines_new == 0


def test_a_statement_emits_the_events_of_each_payment(world, three, emitted):
    beta = three[1][0]
    load(world, [("242.00", "BETA", "", "REC-000002", "R1"), ("5.00", "X", "", "?", "R2")])
    pay = Payment.objects.get()
    kinds = [(t, p.get("invoice_id") or p.get("invoice_ids")) for _, t, p in emitted]
    assert kinds == [("invoice.paid", beta.pk), ("payment.received", [beta.pk])]
    assert emitted[1][2]["payment_id"] == pay.pk and emitted[1][2]["amount"] == "242.00"


def test_a_statement_queues_one_webhook_delivery_per_event_in_one_batch(world, three):
    from recurent.api.models import WebhookDelivery
    from recurent.api.webhooks import endpoint_create

    endpoint_create(company=world.company, url="http://127.0.0.1:9/r",
                    events=["invoice.paid", "payment.received"], as_of=NOW)  # fmt: skip
    load(world, [("242.00", "BETA", "", "REC-000002", "R1"), ("363.00", "G", IBANS[2], "x", "R2")])
    assert sorted(WebhookDelivery.objects.values_list("event_type", flat=True)) == [
        "invoice.paid", "invoice.paid", "payment.received", "payment.received",
    ]  # fmt: skip


def test_an_import_left_running_by_a_dead_worker_is_taken_again_later(world, three):
    from datetime import timedelta

    imp = bank.statement_receive(company=world.company, filename="s.xml",
                                 content=camt_file([("48.40", "A", "", "REC-000001", "R1")]),
                                 as_of=NOW, user=world.user)  # fmt: skip
    StatementImport.objects.filter(pk=imp.pk).update(status=ImportStatus.RUNNING, started_at=NOW)
    assert statement_import_next(as_of=NOW + timedelta(minutes=5)) is None  # still running
    again = statement_import_next(as_of=NOW + timedelta(minutes=16))
    assert again.pk == imp.pk and again.status == ImportStatus.DONE and again.matched == 1
