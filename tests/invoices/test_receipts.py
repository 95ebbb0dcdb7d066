"""Cash receipts: numbered without gaps in their own series, a one-page PDF, the cash limits."""

from __future__ import annotations

import subprocess
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from recurent.invoices.models import Receipt
from recurent.invoices.oneoff import DraftLineSpec, invoice_create
from recurent.payments.models import Payment
from recurent.payments.receipts import receipt_pdf, receipt_series_create
from recurent.payments.services import payment_record
from tests import factories as f
from tests.factories import local

DAY = date(2026, 2, 3)


def _invoice(world, client, price="1000"):
    return invoice_create(
        company=world.company, client=client, series=world.series, as_of=local(2026, 2, 2, 9),
        user=world.user, lines=[DraftLineSpec(quantity=Decimal(1), name="Service",
                                              unit_price=Decimal(price))],
    )  # fmt: skip


def _cash(world, client, amount, allocations=(), at=None, **kw):
    return payment_record(
        company=world.company, client=client, date=DAY, amount=amount, method="cash",
        allocations=allocations, as_of=at or local(2026, 2, 3, 10), user=world.user,
        issue_receipt=True, **kw,
    )  # fmt: skip


def test_a_cash_payment_gets_a_numbered_receipt_with_the_amount_in_words(world):
    receipt_series_create(company=world.company, code="CH")
    cl = f.client(world.company)
    inv = _invoice(world, cl, "1020.30")  # 1,234.56 with 21 % VAT
    assert inv.gross_total == Decimal("1234.56")
    p = _cash(world, cl, "1234.56", [(inv, "1234.56")])
    r = Receipt.objects.get(payment=p)
    assert r.full_number == "CH-000001" and r.date == DAY
    assert r.amount_words == "una mie două sute treizeci și patru lei și cincizeci și șase bani"
    assert r.paid_invoices == [{"number": inv.full_number, "amount": "1234.56"}]
    assert r.issuer_id == world.user.pk and not r.over_cash_limit
    second = _cash(world, cl, "10", at=local(2026, 2, 3, 11))
    assert second.receipt.full_number == "CH-000002"  # gapless
    text = subprocess.run(["pdftotext", "-", "-"], input=receipt_pdf(r), capture_output=True,
                          check=True).stdout.decode()  # fmt: skip
    flat = " ".join(text.split())
    assert "CHITANȚĂ" in flat and "CH-000001" in flat and inv.full_number in flat
    assert "una mie două sute treizeci și patru lei" in flat and "1.234,56" in flat


def test_cash_above_the_daily_limit_from_a_company_marks_the_receipt(world):
    receipt_series_create(company=world.company, code="CH")
    firm = f.client(world.company)
    person = f.client(world.company, kind="individual", name="Ion Popescu", tax_id="")
    assert not _cash(world, firm, "3000").receipt.over_cash_limit
    # 3,000 + 2,500 lei from one company on one day: above 5,000 (Legea 70/2015 art. 3).
    assert _cash(world, firm, "2500", at=local(2026, 2, 3, 11)).receipt.over_cash_limit
    # An individual may pay up to 10,000 lei a day (art. 4).
    assert not _cash(world, person, "6000", at=local(2026, 2, 3, 12)).receipt.over_cash_limit


def test_no_receipt_for_a_bank_transfer_and_nothing_is_written(world):
    cl = f.client(world.company)
    with pytest.raises(ValidationError) as e:
        payment_record(
            company=world.company, client=cl, date=DAY, amount="100", method="bank_transfer",
            as_of=local(2026, 2, 3, 10), user=world.user, issue_receipt=True,
        )  # fmt: skip
    assert "payment" in e.value.error_dict
    assert Payment.objects.count() == 0 and Receipt.objects.count() == 0


def test_the_warning_over_the_limit_is_in_romanian(world):
    from recurent.payments.receipts import receipt_warning

    receipt_series_create(company=world.company, code="CH")
    firm = f.client(world.company, name="Firma Mare SRL")
    r = _cash(world, firm, "5000.01").receipt
    assert r.over_cash_limit
    assert receipt_warning(r).startswith("Numerarul primit de la Firma Mare SRL la 03.02.2026")
    assert "5.000 lei" in receipt_warning(r)
    assert receipt_warning(_cash(world, firm, "0.01", at=local(2026, 2, 3, 11)).receipt) != ""


def test_the_first_receipt_opens_the_ch_series(world):
    r = _cash(world, f.client(world.company), "100").receipt
    assert r.full_number == "CH-000001" and r.payment.receipt_number == "CH-000001"


def test_the_payment_form_issues_the_receipt_and_warns_above_the_limit(world):
    from tests.web.conftest import login

    web = login(world.user)
    cl = f.client(world.company)
    r = web.post(
        "/payments/record/",
        {"client": cl.pk, "date": "2026-02-03", "amount": "6000", "currency": "RON",
         "method": "cash", "issue_receipt": "on"},
        follow=True,
    )  # fmt: skip
    assert r.status_code == 200
    receipt = Receipt.objects.get()
    text = r.content.decode()
    assert "CH-000001" in text and "Legea 70/2015" in text  # issued, and the warning shown
    pdf = web.get(f"/payments/receipts/{receipt.pk}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    other, _, other_user = f.setup_company()
    assert login(other_user).get(f"/payments/receipts/{receipt.pk}.pdf").status_code == 404
