"""Contracts billed by proforma first: a proforma at each period, the invoice when it is paid."""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection

from recurent.contracts.models import Contract
from recurent.efactura.models import EfacturaState
from recurent.invoices.models import Invoice, InvoiceDraft, InvoiceOrigin
from recurent.invoices.proforma import proforma_convert
from recurent.invoices.proforma_period import proformas_expire
from recurent.invoices.services import issue_due
from recurent.mail.models import OutboxMessage
from recurent.payments.models import Payment
from recurent.payments.proformas import proforma_payment_record
from tests import factories as f
from tests.factories import local

RUN_AT = local(2026, 2, 2, 9)  # the contract's first period is due 2026-01-31 09:00


def _proforma_contract(world, **billing):  # type: ignore[no-untyped-def]
    return f.contract(world.company, issuer=world.user, proforma_first=True, **billing)


def _pay(d, amount, at=RUN_AT, user=None):  # type: ignore[no-untyped-def]
    return proforma_payment_record(
        proforma=d, date=at.date(), amount=Decimal(amount), as_of=at, user=user
    )


def test_the_run_issues_a_proforma_not_an_invoice_and_moves_the_cursor(world):
    c = _proforma_contract(world)
    result = issue_due(as_of=RUN_AT)
    assert Invoice.objects.count() == 0
    d = InvoiceDraft.objects.get(contract=c)
    assert d.proforma_number == "PF-000001" and d.invoice_id is None
    assert (d.period_index, d.period_start) == (0, date(2026, 1, 31))
    assert d.proforma_total == Decimal("121.00")  # 100 + 21 % VAT
    assert d.proforma_expires_on == date(2026, 2, 17)  # 15 days after its issue day
    c.refresh_from_db()
    assert c.next_index == 1 and c.next_issue_at > RUN_AT
    assert (result.issued, result.proformas) == (0, 1)
    text = subprocess.run(["pdftotext", "-", "-"], input=bytes(d.proforma_pdf),
                          capture_output=True, check=True).stdout.decode()  # fmt: skip
    flat = " ".join(text.split())
    assert "FACTURĂ PROFORMĂ" in flat and "PF-000001" in flat and "121,00" in flat


def test_a_second_run_at_the_same_instant_issues_nothing_new(world):
    _proforma_contract(world)
    issue_due(as_of=RUN_AT)
    issue_due(as_of=RUN_AT)
    assert InvoiceDraft.objects.count() == 1 and Invoice.objects.count() == 0


def test_a_contract_without_the_option_is_invoiced_as_before_in_the_same_run(world):
    _proforma_contract(world)
    plain = f.contract(world.company, issuer=world.user)
    issue_due(as_of=RUN_AT)
    inv = Invoice.objects.get()
    assert inv.contract_id == plain.pk and inv.full_number == "REC-000001"
    assert InvoiceDraft.objects.filter(contract__isnull=False).count() == 1


def test_catch_up_gives_one_proforma_per_missed_period(world):
    c = _proforma_contract(world)
    issue_due(as_of=local(2026, 4, 1, 9))  # periods of 31 Jan, 28 Feb, 31 Mar
    starts = list(
        InvoiceDraft.objects.filter(contract=c)
        .order_by("period_index")
        .values_list("period_start", "proforma_number")
    )
    assert starts == [(date(2026, 1, 31), "PF-000001"), (date(2026, 2, 28), "PF-000002"),
                      (date(2026, 3, 31), "PF-000003")]  # fmt: skip


def test_paying_the_proforma_issues_the_invoice_linked_and_paid(world):
    c = _proforma_contract(world, auto_email=True)
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get(contract=c)
    paid_at = local(2026, 2, 4, 10)
    payment = _pay(d, "121.00", at=paid_at)
    d.refresh_from_db()
    inv = d.invoice
    assert inv is not None and inv.full_number == "REC-000001"
    assert inv.contract_id == c.pk and inv.origin == InvoiceOrigin.SCHEDULE
    assert (inv.period_index, inv.period_start) == (0, date(2026, 1, 31))
    assert inv.issue_date == date(2026, 2, 4) and inv.gross_total == Decimal("121.00")
    assert inv.balance.outstanding == Decimal("0.00") and inv.balance.state == "paid"
    assert payment.proforma_id == d.pk
    assert list(payment.allocations.values_list("invoice_id", "amount")) == [
        (inv.pk, Decimal("121.00"))
    ]
    # Emailed as the contract says, queued for e-Factura like any issued invoice.
    assert OutboxMessage.objects.filter(invoice=inv).count() == 1
    assert EfacturaState.objects.filter(invoice=inv).count() <= 1


def test_a_contract_that_emails_its_invoices_emails_the_proforma_notice(world):
    _proforma_contract(world, auto_email=True)
    _proforma_contract(world)  # does not email: no message
    issue_due(as_of=RUN_AT)
    m = OutboxMessage.objects.get()
    assert m.kind == "notice" and m.invoice_id is None
    assert m.subject == "Proforma PF-000001 de la Recurent Demo SRL"  # the client's language
    assert "121.00 RON" in m.body_text and "17.02.2026" in m.body_text
    assert world.company.iban in m.body_text and len(m.recipients) == 1


def test_a_partial_payment_issues_no_invoice_until_the_rest_arrives(world):
    _proforma_contract(world)
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get()
    _pay(d, "100.00")
    d.refresh_from_db()
    assert d.invoice_id is None and Invoice.objects.count() == 0
    _pay(d, "21.00")
    d.refresh_from_db()
    assert d.invoice is not None and d.invoice.balance.outstanding == Decimal("0.00")
    assert sum(a.amount for p in Payment.objects.all() for a in p.allocations.all()) == Decimal(
        "121.00"
    )


def test_paying_more_than_the_proforma_leaves_the_rest_as_credit(world):
    _proforma_contract(world)
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get()
    p = _pay(d, "150.00")
    d.refresh_from_db()
    assert d.invoice is not None
    from recurent.payments.selectors import unallocated

    assert unallocated(p) == Decimal("29.00")


def test_an_unpaid_proforma_expires_and_never_produces_an_invoice(world):
    _proforma_contract(world, proforma_valid_days=5)
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get()
    assert proformas_expire(limit=100, as_of=local(2026, 2, 7, 23)) == 0  # its last day
    assert proformas_expire(limit=100, as_of=local(2026, 2, 8, 1)) == 1
    assert proformas_expire(limit=100, as_of=local(2026, 2, 8, 2)) == 0  # once
    d.refresh_from_db()
    assert d.proforma_expired_at is not None
    p = _pay(d, "121.00", at=local(2026, 2, 9, 10))
    d.refresh_from_db()
    assert d.invoice_id is None and Invoice.objects.count() == 0
    assert p.allocations.count() == 0  # kept as the client's credit
    with pytest.raises(ValidationError) as e:
        proforma_convert(draft=d, as_of=local(2026, 2, 9, 11), user=world.user)
    assert e.value.error_dict["draft"][0].code == "proforma_expired"


def test_a_paid_proforma_does_not_expire(world):
    _proforma_contract(world, proforma_valid_days=5)
    issue_due(as_of=RUN_AT)
    _pay(InvoiceDraft.objects.get(), "121.00")
    assert proformas_expire(limit=100, as_of=local(2026, 3, 1, 9)) == 0


def test_converting_by_hand_gives_the_contract_invoice_once_per_period(world):
    c = _proforma_contract(world)
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get()
    inv = proforma_convert(draft=d, as_of=local(2026, 2, 3, 9), user=world.user)
    assert inv.contract_id == c.pk and inv.period_start == date(2026, 1, 31)
    with pytest.raises(ValidationError):
        proforma_convert(draft=d, as_of=local(2026, 2, 3, 10), user=world.user)
    # A payment arriving afterwards pays the invoice rather than issuing another one.
    _pay(d, "121.00", at=local(2026, 2, 3, 11))
    assert Invoice.objects.count() == 1
    assert Invoice.objects.get().balance.outstanding == Decimal("0.00")


def test_the_option_off_again_bills_the_next_period_by_invoice(world):
    c = _proforma_contract(world)
    issue_due(as_of=RUN_AT)
    Contract.objects.filter(pk=c.pk).update(proforma_first=False)
    issue_due(as_of=local(2026, 3, 1, 9))
    assert Invoice.objects.get().period_start == date(2026, 2, 28)


@pytest.mark.django_db(transaction=True)
def test_two_payments_at_once_issue_one_invoice():
    c, _s, u = f.setup_company()
    f.contract(c, issuer=u, proforma_first=True)
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def pay() -> None:
        try:
            barrier.wait()
            for _ in range(1000):
                try:
                    _pay(d.pk, "121.00")
                    return
                except OperationalError as e:
                    # SQLite's in-memory test database does not wait for its table locks (the
                    # file database does): wait here. PostgreSQL waits on the proforma's row.
                    assert "locked" in str(e)
                    time.sleep(0.01)
            raise AssertionError("never got the lock")
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    inv = Invoice.objects.get()
    assert inv.balance.outstanding == Decimal("0.00")
    assert Payment.objects.filter(proforma=d).count() == 2
    second = Payment.objects.filter(proforma=d).order_by("pk").last()
    assert second is not None and second.allocations.count() == 0  # the client's credit


def test_a_statement_line_naming_the_proforma_pays_it_and_issues_the_invoice(world):
    from recurent.payments.bank import statement_import
    from tests.payments.helpers import camt_file

    _proforma_contract(world)
    _proforma_contract(world)  # PF-000002, not named: stays open
    issue_due(as_of=RUN_AT)
    lines = [("121.00", "Client SRL", "", "Plata proforma PF-000001", "B1"),
             ("50.00", "Altcineva SRL", "", "avans PF 2", "B2")]  # fmt: skip
    imp = statement_import(company=world.company, filename="s.xml", content=camt_file(lines),
                           as_of=local(2026, 2, 6, 9), user=world.user)  # fmt: skip
    first, second = InvoiceDraft.objects.order_by("proforma_number")
    assert first.invoice is not None and first.invoice.balance.outstanding == Decimal("0.00")
    assert second.invoice_id is None  # 50 of 121: no invoice yet
    assert imp.matched == 2 and imp.report["rules"] == {"proforma": 2}
    p = Payment.objects.get(proforma=first)
    assert p.source == "statement" and p.statement_line is not None
    assert p.statement_line.status == "matched"


def test_the_import_format_carries_the_option_and_checks_its_days(db):
    import copy
    import json
    from pathlib import Path

    from recurent.contracts.importing import ImportFailed, import_data

    example = json.loads(
        (Path(__file__).resolve().parents[2] / "docs" / "examples" / "import.json").read_text()
    )
    u = f.user("boss", is_superuser=True)
    bad = copy.deepcopy(example)
    bad["contracts"][0].update(proforma_first=True, proforma_valid_days=0)
    with pytest.raises(ImportFailed) as e:
        import_data(bad, user=u)
    assert "proforma_valid_days" in " ".join(w for w, _ in e.value.errors)
    data = copy.deepcopy(example)
    data["contracts"][0].update(proforma_first=True, proforma_valid_days=7)
    import_data(data, user=u)
    c = Contract.objects.get(number=data["contracts"][0]["number"])
    assert (c.proforma_first, c.proforma_valid_days) == (True, 7)
    assert not Contract.objects.get(number=data["contracts"][1]["number"]).proforma_first


def test_a_discount_of_the_contract_is_on_its_proforma_and_its_invoice(world):
    from recurent.contracts.discounts import discount_add

    c = _proforma_contract(world)
    discount_add(contract=c, user=world.user, as_of=local(2026, 1, 10), kind="percent",
                 value="20", reason="Reducere de lansare", periods=1)  # fmt: skip
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get()
    assert d.proforma_total == Decimal("96.80")  # (100 - 20 %) + 21 % VAT
    assert [(li.name, li.quantity) for li in d.lines.all()][1] == ("Reducere de lansare", -1)
    _pay(d, "96.80")
    d.refresh_from_db()
    assert d.invoice is not None and d.invoice.gross_total == Decimal("96.80")
    assert d.invoice.balance.outstanding == Decimal("0.00")


def test_a_proforma_that_cannot_be_drawn_sets_its_contract_aside_and_the_run_goes_on(world):
    from recurent.invoices import proforma_period

    a, b = _proforma_contract(world), _proforma_contract(world)
    real = proforma_period.PROFORMA_RENDER[0]
    calls = []

    def flaky(inv, lines):  # type: ignore[no-untyped-def]
        calls.append(inv.client_id)
        if inv.client_id == a.client_id:
            raise RuntimeError("typst: font missing")
        return real(inv, lines)

    proforma_period.PROFORMA_RENDER[:] = [flaky]
    try:
        issue_due(as_of=RUN_AT)
    finally:
        proforma_period.PROFORMA_RENDER[:] = [real]
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.next_index, a.hold_kind) == (0, "data") and "font missing" in a.hold_reason
    assert b.next_index == 1 and not b.hold_kind
    d = InvoiceDraft.objects.get()  # b's, numbered first: a's number was rolled back with it
    assert d.contract_id == b.pk and d.proforma_number == "PF-000001"


def test_a_statement_line_naming_another_clients_proforma_does_not_pay_it(world):
    from recurent.clients.models import Client
    from recurent.payments.bank import statement_import
    from tests.payments.helpers import camt_file

    _proforma_contract(world)
    other = f.client(world.company)
    iban = "RO16BTRLRONCRT0123456701"
    Client.objects.filter(pk=other.pk).update(iban=iban)
    issue_due(as_of=RUN_AT)
    lines = [("121.00", "Alt Client SRL", iban, "Plata PF-000001", "B9")]
    statement_import(company=world.company, filename="s.xml", content=camt_file(lines),
                     as_of=local(2026, 2, 6, 9), user=world.user)  # fmt: skip
    assert InvoiceDraft.objects.get().invoice_id is None
    assert not Payment.objects.filter(proforma__isnull=False).exists()


def test_recurent_bill_says_how_many_proformas_it_issued(world):
    import io

    from django.core.management import call_command

    _proforma_contract(world)
    out = io.StringIO()
    call_command("bill", "--as-of", RUN_AT.isoformat(), stdout=out)
    assert "issued 0 invoice(s)" in out.getvalue() and "issued 1 proforma(s)" in out.getvalue()
