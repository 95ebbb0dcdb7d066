"""Each document kind is issued from the web, the API and the CLI (issue #18; docs/documents.md).

The combinations tested elsewhere are listed in that page; these are the ones that were missing:
a proforma converted by hand through the API (and refused once expired, as on the web) and the
CLI, and a cash receipt through the API and the CLI.
"""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from recurent.common import clock
from recurent.documents.proforma import render
from recurent.engine.cycles import BUCHAREST
from recurent.invoices.models import Invoice, InvoiceDraft, Receipt
from recurent.invoices.oneoff import DraftLineSpec, invoice_create, invoice_create_draft
from recurent.invoices.proforma import proforma_issue
from recurent.invoices.proforma_period import proformas_expire
from recurent.payments.models import Payment
from tests import factories as f
from tests.api.conftest import accountant_api  # noqa: F401
from tests.factories import local


def _proforma(world, price="500"):
    d = invoice_create_draft(
        company=world.company, client=f.client(world.company), series=world.series,
        as_of=local(2026, 2, 2, 9), user=world.user,
        lines=[DraftLineSpec(quantity=Decimal(1), name="Curs", unit_price=Decimal(price))],
    )  # fmt: skip
    return proforma_issue(draft=d, as_of=local(2026, 2, 2, 10), user=world.user, render=render)


def _expire(d):
    InvoiceDraft.objects.filter(pk=d.pk).update(proforma_expires_on=date(2026, 2, 10))
    assert proformas_expire(limit=10, as_of=local(2026, 2, 11, 9)) == 1


def _today():
    return clock.now().astimezone(BUCHAREST).date()


def _text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


def test_the_api_converts_a_proforma_by_hand_and_refuses_an_expired_one(world, accountant_api):  # noqa: F811
    d = _proforma(world)
    r = accountant_api.post(f"/invoice-drafts/{d.pk}/issue")
    assert r.status_code == 201, r.content
    d.refresh_from_db()
    assert d.invoice_id == r.json()["id"] and r.json()["full_number"] == "REC-000001"

    expired = _proforma(world)
    _expire(expired)
    r = accountant_api.post(f"/invoice-drafts/{expired.pk}/issue")
    assert r.status_code == 422 and "draft" in r.content.decode()
    assert "expired" in r.content.decode()
    expired.refresh_from_db()
    assert expired.invoice_id is None and Invoice.objects.count() == 1


def test_the_cli_converts_a_proforma_by_hand_and_refuses_an_expired_one(world, capsys):
    world.user.is_superuser = True
    world.user.save()
    d = _proforma(world)
    call_command("invoice", "convert", d.proforma_number)
    d.refresh_from_db()
    assert d.invoice is not None and d.invoice.full_number == "REC-000001"
    assert "REC-000001 issued" in capsys.readouterr().out and "PF-000001" in d.proforma_number
    with pytest.raises(CommandError, match="draft: already issued"):
        call_command("invoice", "convert", d.proforma_number)

    expired = _proforma(world)
    _expire(expired)
    with pytest.raises(CommandError, match="draft: the proforma has expired"):
        call_command("invoice", "convert", expired.proforma_number)
    with pytest.raises(CommandError, match="PF-999999 not found"):
        call_command("invoice", "convert", "PF-999999")
    assert Invoice.objects.count() == 1


def test_the_api_records_cash_with_its_receipt_and_serves_the_pdf(world, accountant_api):  # noqa: F811
    cl = f.client(world.company)
    inv = invoice_create(
        company=world.company, client=cl, series=world.series, as_of=local(2026, 2, 2, 9),
        user=world.user, lines=[DraftLineSpec(quantity=Decimal(1), name="Service",
                                              unit_price=Decimal("100"))],
    )  # fmt: skip
    body = {"client_id": cl.pk, "date": _today().isoformat(), "amount": "121.00",
            "method": "cash", "issue_receipt": True,
            "allocations": [{"invoice_id": inv.pk, "amount": "121.00"}]}  # fmt: skip
    r = accountant_api.post("/payments", body)
    assert r.status_code == 201, r.content
    out = r.json()
    receipt = Receipt.objects.get(payment_id=out["id"])
    assert out["receipt_id"] == receipt.pk and out["receipt_number"] == "CH-000001"
    assert out["cash_limit_warning"] == ""  # 121 lei: within the daily 5,000
    assert receipt.paid_invoices == [{"number": inv.full_number, "amount": "121.00"}]
    pdf = accountant_api.get(f"/payments/{out['id']}/receipt.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert "CH-000001" in _text(pdf.content) and inv.full_number in _text(pdf.content)

    # A bank transfer cannot have a receipt: refused, naming the field, nothing written.
    r = accountant_api.post("/payments", {**body, "method": "bank_transfer", "allocations": []})
    assert r.status_code == 422 and "a receipt is issued for a cash payment" in r.content.decode()
    assert Payment.objects.count() == 1
    plain = accountant_api.post("/payments", {**body, "issue_receipt": False,
                                              "method": "bank_transfer", "allocations": []})  # fmt: skip
    assert plain.json()["receipt_id"] is None
    assert accountant_api.get(f"/payments/{plain.json()['id']}/receipt.pdf").status_code == 404


def test_the_cli_records_cash_with_its_receipt_and_writes_the_pdf(world, tmp_path, capsys):
    world.user.is_superuser = True
    world.user.save()
    cl = f.client(world.company, tax_id="RO13548146")
    inv = invoice_create(
        company=world.company, client=cl, series=world.series, as_of=local(2026, 2, 2, 9),
        user=world.user, lines=[DraftLineSpec(quantity=Decimal(1), name="Service",
                                              unit_price=Decimal("1000"))],
    )  # fmt: skip
    out = tmp_path / "ch.pdf"
    call_command("receipt", "issue", "--client", "RO13548146", "--amount", "1210.00",
                 "--invoice", inv.full_number, "-o", str(out))  # fmt: skip
    receipt = Receipt.objects.get()
    assert receipt.full_number == "CH-000001" and receipt.amount == Decimal("1210.00")
    assert receipt.date == _today() and receipt.payment.allocations.get().invoice_id == inv.pk
    assert "receipt CH-000001 issued" in capsys.readouterr().out
    assert "una mie două sute zece lei" in _text(out.read_bytes())

    # Refused with the field named; nothing written (no payment, no number taken).
    with pytest.raises(CommandError, match="client: .*not found"):
        call_command("receipt", "issue", "--client", "RO0", "--amount", "10")
    future = (_today() + timedelta(days=1)).isoformat()
    with pytest.raises(CommandError, match="date: "):
        call_command("receipt", "issue", "--client", "RO13548146", "--amount", "10",
                     "--date", future)  # fmt: skip
    assert Payment.objects.count() == 1 and Receipt.objects.count() == 1


def test_the_api_warns_of_cash_above_the_legal_daily_limit(world, accountant_api):  # noqa: F811
    # A company pays 3,000 + 2,500 lei in cash on one day: 5,500 > 5,000 (Legea 70/2015 art. 3).
    # The second receipt is still issued (the money was received), marked and the caller told.
    cl = f.client(world.company)
    body = {"client_id": cl.pk, "date": _today().isoformat(), "method": "cash",
            "issue_receipt": True, "allocations": []}  # fmt: skip
    first = accountant_api.post("/payments", {**body, "amount": "3000.00"}).json()
    assert first["cash_limit_warning"] == ""
    second = accountant_api.post("/payments", {**body, "amount": "2500.00"})
    assert second.status_code == 201, second.content
    warning = second.json()["cash_limit_warning"]
    assert (
        "5.000" in warning and Receipt.objects.get(payment_id=second.json()["id"]).over_cash_limit
    )
    listed = accountant_api.get(f"/payments/{second.json()['id']}").json()
    assert listed["cash_limit_warning"] == warning
