"""Late-payment interest invoices (recurent.payments.interest): worked examples by hand, through
the real billing engine, payments, one-off invoicing and the shipped BNR reference rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from recurent.companies.models import Company
from recurent.invoices.models import Invoice
from recurent.payments.interest import interest_due, interest_invoice
from recurent.payments.models import InterestCharge
from recurent.payments.services import payment_record
from tests.factories import local
from tests.payments.helpers import credit_note, issued

D = Decimal


def _enable(company: Company, **kw) -> None:
    fields = {"interest_enabled": True, "interest_rule": "legal", **kw}
    Company.objects.filter(pk=company.pk).update(**fields)
    company.refresh_from_db()


def _late(world):
    """1,000.00 + 21 % VAT = 1,210.00 issued 2026-01-31, due 2026-02-15 (15 days); 210.00 paid
    on 2026-03-02."""
    cl, [inv] = issued(world, price="1000.00")
    assert (inv.gross_total, inv.due_date) == (D("1210.00"), date(2026, 2, 15))
    payment_record(company=world.company, client=cl, date=date(2026, 3, 2), amount="210.00",
                   allocations=[(inv, D("210.00"))], as_of=local(2026, 3, 2), user=world.user)  # fmt: skip
    return cl, inv


@pytest.mark.django_db
def test_professional_interest_invoiced_once_then_the_new_days(world):
    _enable(world.company)
    cl, inv = _late(world)
    # Reference rate in force on 2026-01-01: 6.50 (shipped by rates 0003) -> 14.50 % a year.
    #   16 Feb - 2 Mar : 15 days * 1210 * 14.5 % / 365 = 2631.75 / 365
    #    3 Mar - 31 Mar: 29 days * 1000 * 14.5 % / 365 = 4205.00 / 365
    #   total 6836.75 / 365 = 18.7308... -> 18.73
    [done] = interest_invoice(company=world.company, as_of=local(2026, 3, 31, 10), user=world.user)
    out = done.invoice
    assert done.total == D("18.73") and out.gross_total == D("18.73")
    assert out.vat_total == 0 and out.client_id == cl.pk and out.due_date == date(2026, 4, 15)
    [line] = out.lines.all()
    assert line.name == f"Penalități de întârziere factura {inv.full_number} din 31.01.2026"
    assert line.vat_category == "E" and line.net == D("18.73")
    assert "14,5% / 365" in out.notes and "286" in out.notes
    [charge] = InterestCharge.objects.all()
    assert (charge.invoice_id, charge.since, charge.until, charge.amount) == (
        inv.pk, date(2026, 2, 16), date(2026, 3, 31), D("18.73"))  # fmt: skip
    assert [s["days"] for s in charge.statement["segments"]] == [15, 29]

    # The same day again: nothing left to invoice.
    assert (
        interest_invoice(company=world.company, as_of=local(2026, 3, 31, 11), user=world.user) == []
    )
    # Ten days later: only 1 - 10 April, 10 * 1000 * 14.5 % / 365 = 1450 / 365 = 3.972... -> 3.97
    [more] = interest_invoice(company=world.company, as_of=local(2026, 4, 10, 10), user=world.user)
    assert more.total == D("3.97")
    assert InterestCharge.objects.order_by("pk").last().since == date(2026, 4, 1)
    # The interest invoices themselves never bear interest (due 15 April, asked on 30 June).
    [last] = interest_invoice(company=world.company, as_of=local(2026, 6, 30, 10), user=world.user)
    assert [i.invoice.pk for i in last.items] == [inv.pk]
    # 11 Apr - 30 Jun = 20 + 31 + 30 = 81 days: 1000 * 0.145 * 81 / 365 = 11745 / 365 = 32.178 -> 32.18
    assert last.total == D("32.18")


@pytest.mark.django_db
def test_contractual_rate_capped_and_storno_frees_the_days(world):
    _enable(world.company, interest_rule="contractual", interest_daily_percent=D("1"))
    cl, inv = _late(world)
    # 1 % a day: 15 days * 12.10 + 29 days * 10.00 = 181.50 + 290.00 = 471.50 on 31 March.
    [a] = interest_invoice(company=world.company, as_of=local(2026, 3, 31, 10), user=world.user)
    assert a.total == D("471.50")
    # Up to 31 December the days would make far more; capped at the principal 1,210.00:
    # 1,210.00 - 471.50 already invoiced = 738.50.
    [b] = interest_invoice(company=world.company, as_of=local(2026, 12, 31, 10), user=world.user)
    assert b.total == D("738.50") and b.items[0].result.capped
    assert "plafonat" in b.invoice.notes
    # A penalty is outside the taxable base by art. 286 (4) b); its storno states the same basis.
    penalty = (
        "Penalități neincluse în baza de impozitare TVA (art. 286 alin. (4) lit. b) Cod fiscal)"
    )
    assert [g.get("reason") for g in b.invoice.vat_breakdown] == [penalty]
    # A storno of the second interest invoice gives its days back.
    storno = credit_note(b.invoice)
    assert [g.get("reason") for g in storno.vat_breakdown] == [penalty]
    [c] = interest_invoice(company=world.company, as_of=local(2026, 12, 31, 12), user=world.user)
    assert c.total == D("738.50") and c.items[0].since == date(2026, 4, 1)


@pytest.mark.django_db
def test_settings_off_minimum_override_and_dry_run(world):
    cl, inv = _late(world)
    day = local(2026, 3, 31, 10)
    assert interest_invoice(company=world.company, as_of=day, user=world.user) == []  # off
    _enable(world.company, interest_min_amount=D("20.00"))
    assert interest_due(company=world.company, day=date(2026, 3, 31)) == []  # 18.73 < 20.00
    _enable(world.company, interest_min_amount=D("0"))
    contract = inv.contract
    contract.interest_rule = "none"
    contract.save(update_fields=["interest_rule"])
    assert interest_due(company=world.company, day=date(2026, 3, 31)) == []
    # The contract's own rate a day overrides the company's legal rule:
    # 0.05 % a day: 15 * 1210 * 0.0005 + 29 * 1000 * 0.0005 = 9.075 + 14.50 = 23.575 -> 23.58
    contract.interest_rule, contract.interest_daily_percent = "contractual", D("0.05")
    contract.save(update_fields=["interest_rule", "interest_daily_percent"])
    before = Invoice.objects.count()
    [dry] = interest_invoice(company=world.company, as_of=day, user=world.user, dry_run=True)
    assert dry.total == D("23.58") and dry.invoice is None
    assert Invoice.objects.count() == before and not InterestCharge.objects.exists()


@pytest.mark.django_db
def test_consumer_and_paid_on_time(world):
    from tests import factories as f

    _enable(world.company)
    person = f.client(world.company, kind="individual", name="Ion Popescu", tax_id="")
    cl, [inv] = issued(world, client=person, price="1000.00")
    # Consumer: (6.50 + 4) * 0.8 = 8.40 % a year; 16 Feb - 31 Mar = 13 + 31 = 44 days.
    # 1210 * 0.084 * 44 / 365 = 4472.16 / 365 = 12.2524... -> 12.25
    [due] = interest_due(company=world.company, day=date(2026, 3, 31))
    assert due.total == D("12.25") and due.items[0].rule == "legal_consumer"
    # Paid in full on the due date: nothing.
    payment_record(company=world.company, client=cl, date=date(2026, 2, 15), amount="1210.00",
                   allocations=[(inv, D("1210.00"))], as_of=local(2026, 2, 15), user=world.user)  # fmt: skip
    assert interest_due(company=world.company, day=date(2026, 3, 31)) == []


@pytest.mark.django_db
@pytest.mark.parametrize("vat_payer", [True, False])
def test_the_interest_invoice_passes_the_efactura_checks(world, vat_payer, tmp_path):
    from recurent.documents.services import build_xml, doc_data

    _enable(world.company)
    _late(world)
    Company.objects.filter(pk=world.company.pk).update(vat_payer=vat_payer)
    world.company.refresh_from_db()
    [done] = interest_invoice(company=world.company, as_of=local(2026, 3, 31, 10), user=world.user)
    xml, findings = build_xml(doc_data(done.invoice))
    assert findings == [], findings
    # Outside the VAT scope: O for a seller not registered for VAT; E for a VAT payer, as BR-O-02
    # forbids a seller VAT id next to O. No VAT either way.
    category = b"<cbc:ID>E</cbc:ID>" if vat_payer else b"<cbc:ID>O</cbc:ID>"
    assert category in xml and done.invoice.vat_total == 0
    if vat_payer:
        # Interest is outside the taxable base (art. 286 (4) c)), not exempt under art. 292: the
        # E row states that basis, with no exemption code (VATEX-EU-132 would be false).
        basis = "Dobânzi de întârziere neincluse în baza de impozitare TVA (art. 286 alin. (4) lit. c) Cod fiscal)"
        assert f"<cbc:TaxExemptionReason>{basis}</cbc:TaxExemptionReason>".encode() in xml
        assert b"292" not in xml and b"TaxExemptionReasonCode" not in xml
        # The PDF draws the statement in the notes (× and diacritics included) and the basis.
        from recurent.documents import pdf

        assert basis in [m for m in pdf._mentions(doc_data(done.invoice))]
        assert pdf.render(doc_data(done.invoice)).startswith(b"%PDF")
        # ANAF's own checker accepts it.
        from tests.documents.anaf import anaf_check, fatal_rules

        path = tmp_path / "interest.xml"
        path.write_bytes(xml)
        [result] = anaf_check([path])
        assert fatal_rules(result) == set(), result


@pytest.mark.django_db
def test_a_refused_client_does_not_stop_the_others(world):
    from recurent.clients.models import Client

    _enable(world.company)
    bad, bad_inv = _late(world)
    good, good_inv = _late(world)
    Client.objects.filter(pk=bad.pk).update(street="", city="")  # the buyer's address is missing
    done = interest_invoice(company=world.company, as_of=local(2026, 3, 31, 10), user=world.user)
    by_client = {d.client.pk: d for d in done}
    assert by_client[bad.pk].invoice is None and by_client[bad.pk].error.startswith("client:")
    assert by_client[good.pk].invoice is not None and by_client[good.pk].total == D("18.73")
    assert list(InterestCharge.objects.values_list("invoice_id", flat=True)) == [good_inv.pk]
    # Fixed, the next run invoices the refused client's days.
    Client.objects.filter(pk=bad.pk).update(street="Bd. Eroilor 1", city="Cluj-Napoca")
    [later] = interest_invoice(company=world.company, as_of=local(2026, 3, 31, 11), user=world.user)
    assert later.client.pk == bad.pk and later.total == D("18.73") and not later.error
