"""One invoice per client (issue 18): a client's contracts due together, one invoice."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from recurent.contracts.charges import charge_add
from recurent.invoices.grouping import invoice_storno_group, line_groups
from recurent.invoices.models import Invoice, InvoicePeriod, InvoiceStatus
from recurent.invoices.services import issue_due
from recurent.invoices.storno import invoice_storno
from tests import factories as f
from tests.factories import local

JAN = local(2026, 1, 31)


def grouping_client(world, **kw):
    return f.client(world.company, one_invoice_per_client=True, **kw)


def contracts_of(world, client, n, **kw):
    return [f.contract(world.company, issuer=world.user, client_=client, first=JAN, **kw)
            for _ in range(n)]  # fmt: skip


def test_three_contracts_of_a_grouping_client_make_one_invoice_and_a_rerun_nothing(world):
    # Given a client who wants one invoice, with three contracts due the same day
    cl = grouping_client(world)
    cs = contracts_of(world, cl, 3)
    # When the run issues, twice
    first = issue_due(as_of=local(2026, 1, 31, 10))
    again = issue_due(as_of=local(2026, 1, 31, 10))
    # Then one invoice carries the three contracts' lines, each naming its contract and period
    assert (first.issued, again.issued) == (1, 0)
    inv = Invoice.objects.get()
    lines = list(inv.lines.order_by("position"))
    assert [li.position for li in lines] == [1, 2, 3]
    assert [li.contract_id for li in lines] == [c.pk for c in cs]
    assert {(li.period_start, li.period_end) for li in lines} == {
        (date(2026, 1, 31), date(2026, 2, 27))
    }
    assert lines[0].description.startswith(
        f"Contract {cs[0].number}, perioada 31.01.2026 - 27.02.2026"
    )
    assert inv.net_total == Decimal("300.00") and inv.gross_total == Decimal("363.00")
    # and it covers the three periods, once each; every cursor moved on
    periods = list(InvoicePeriod.objects.filter(invoice=inv).values_list("contract_id", "sequence"))
    assert periods == [(c.pk, i) for i, c in enumerate(cs, start=1)]
    for c in cs:
        c.refresh_from_db()
        assert c.next_index == 1


def test_a_client_without_the_option_keeps_one_invoice_per_contract(world):
    cl = f.client(world.company)
    cs = contracts_of(world, cl, 2)
    assert issue_due(as_of=local(2026, 1, 31, 10)).issued == 2
    for c in cs:
        (inv,) = Invoice.objects.filter(contract=c)
        assert inv.lines.get().contract_id is None  # today's line: the invoice names the contract
        assert list(InvoicePeriod.objects.filter(invoice=inv).values_list("contract_id", "period_start")) == [
            (c.pk, date(2026, 1, 31))
        ]  # fmt: skip


def test_vat_of_a_grouped_invoice_is_rounded_once_over_all_its_lines(world):
    # 0.07 at 21 %: 0.0147 per contract (0.01 each, 0.02 if rounded per contract), 0.03 together
    cl = grouping_client(world)
    p = f.product(world.company, unit_price=Decimal("0.07"))
    contracts_of(world, cl, 2, lines=[(p, "1")])
    issue_due(as_of=local(2026, 1, 31, 10))
    inv = Invoice.objects.get()
    assert (inv.net_total, inv.vat_total, inv.gross_total) == (
        Decimal("0.14"), Decimal("0.03"), Decimal("0.17")
    )  # fmt: skip
    assert [g["vat"] for g in inv.vat_breakdown] == ["0.03"]


def test_contracts_in_other_series_or_currencies_get_their_own_invoice(world):
    cl = grouping_client(world)
    other = f.series(world.company, code="ALT")
    f.contract(world.company, issuer=world.user, client_=cl, first=JAN)
    f.contract(world.company, issuer=world.user, client_=cl, first=JAN)
    f.contract(world.company, issuer=world.user, client_=cl, first=JAN, series=other)
    assert issue_due(as_of=local(2026, 1, 31, 10)).issued == 2
    sizes = sorted(inv.lines.count() for inv in Invoice.objects.all())
    assert sizes == [1, 2]
    lone = Invoice.objects.get(series=other)
    assert lone.lines.get().contract_id is None  # alone: exactly today's invoice


def test_a_client_split_by_the_block_size_still_gets_one_invoice(world):
    cl = grouping_client(world)
    for _ in range(3):
        f.contract(world.company, issuer=world.user, first=JAN)  # other clients first
    contracts_of(world, cl, 3)
    res = issue_due(as_of=local(2026, 1, 31, 10), batch_size=2)
    assert res.issued == 4
    grouped = Invoice.objects.get(client=cl)
    assert grouped.lines.count() == 3 and grouped.periods.count() == 3
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [1, 2, 3, 4]


def test_catch_up_groups_each_period_and_numbers_stay_gapless(world):
    cl = grouping_client(world)
    cs = contracts_of(world, cl, 2)
    assert issue_due(as_of=local(2026, 3, 31, 12)).issued == 3  # Jan 31, Feb 28, Mar 31
    starts = [
        sorted(InvoicePeriod.objects.filter(invoice=inv).values_list("period_start", flat=True))
        for inv in Invoice.objects.order_by("number")
    ]
    assert starts == [[date(2026, 1, 31)] * 2, [date(2026, 2, 28)] * 2, [date(2026, 3, 31)] * 2]
    for c in cs:
        c.refresh_from_db()
        assert c.next_index == 3


def test_a_second_invoice_for_a_grouped_contract_period_is_refused_by_the_database(world):
    cl = grouping_client(world)
    cs = contracts_of(world, cl, 2)
    issue_due(as_of=local(2026, 1, 31, 10))
    inv = Invoice.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoicePeriod.objects.create(invoice=inv, contract=cs[1], period_index=0, sequence=3,
                                     period_start=date(2026, 1, 31), period_end=date(2026, 2, 27))  # fmt: skip


def test_a_one_off_charge_of_a_grouped_contract_lands_on_the_grouped_invoice_once(world):
    cl = grouping_client(world)
    cs = contracts_of(world, cl, 2)
    ch = charge_add(contract=cs[1], user=world.user, as_of=local(2026, 1, 10), description="Setup",
                    quantity="1", unit_price="50")  # fmt: skip
    issue_due(as_of=local(2026, 1, 31, 10))
    inv = Invoice.objects.get()
    ch.refresh_from_db()
    assert ch.invoice_id == inv.pk
    assert [li.contract_id for li in inv.lines.order_by("position")] == [
        cs[0].pk,
        cs[1].pk,
        cs[1].pk,
    ]
    assert inv.net_total == Decimal("250.00")
    issue_due(as_of=local(2026, 2, 28, 10))
    assert Invoice.objects.order_by("-number").first().net_total == Decimal("200.00")


def test_storno_of_one_line_group_then_the_other_cancels_the_invoice(world):
    cl = grouping_client(world)
    cs = contracts_of(world, cl, 2)
    issue_due(as_of=local(2026, 1, 31, 10))
    inv = Invoice.objects.get()
    assert set(line_groups(inv)) == {cs[0].pk, cs[1].pk}
    # When the second contract's group is reversed
    cn = invoice_storno_group(
        invoice=inv, contract_id=cs[1].pk, as_of=local(2026, 2, 2), user=world.user
    )
    # Then the credit note holds that group's lines only, still naming its contract
    (line,) = cn.lines.all()
    assert line.contract_id == cs[1].pk and line.quantity == Decimal("-1")
    assert cn.gross_total == Decimal("-121.00")
    inv.refresh_from_db()
    assert inv.status == InvoiceStatus.PARTIALLY_CREDITED
    # and the same group cannot be reversed twice
    with pytest.raises(ValidationError) as e:
        invoice_storno_group(
            invoice=inv, contract_id=cs[1].pk, as_of=local(2026, 2, 2), user=world.user
        )
    assert e.value.error_dict["contract"][0].code == "group_credited"
    # When the first group is reversed too, the invoice is cancelled
    invoice_storno_group(
        invoice=inv, contract_id=cs[0].pk, as_of=local(2026, 2, 3), user=world.user
    )
    inv.refresh_from_db()
    assert inv.status == InvoiceStatus.CANCELLED


def test_storno_of_a_contract_not_on_the_invoice_names_the_field(world):
    cl = grouping_client(world)
    contracts_of(world, cl, 2)
    stranger = f.contract(world.company, issuer=world.user)
    issue_due(as_of=local(2026, 1, 31, 10))
    inv = Invoice.objects.get(client=cl)
    with pytest.raises(ValidationError) as e:
        invoice_storno_group(
            invoice=inv, contract_id=stranger.pk, as_of=local(2026, 2, 2), user=world.user
        )
    assert e.value.error_dict["contract"][0].code == "not_in_invoice"


def test_a_grouped_invoice_is_reversed_whole_by_the_ordinary_storno(world):
    cl = grouping_client(world)
    contracts_of(world, cl, 3)
    issue_due(as_of=local(2026, 1, 31, 10))
    inv = Invoice.objects.get()
    cn = invoice_storno(invoice=inv, lines=None, as_of=local(2026, 2, 2), user=world.user)
    assert cn.gross_total == -inv.gross_total and cn.lines.count() == 3
    inv.refresh_from_db()
    assert inv.status == InvoiceStatus.CANCELLED


def test_the_pdf_line_says_its_contract_and_period(world):
    from recurent.documents import pdf
    from recurent.documents.snapshot import from_invoice

    cl = grouping_client(world)
    cs = contracts_of(world, cl, 2)
    issue_due(as_of=local(2026, 1, 31, 10))
    lines = pdf.payload(from_invoice(Invoice.objects.get()), pdf.Style())["lines"]
    assert [li["description"] for li in lines] == [
        f"Contract {c.number}, perioada 31.01.2026 - 27.02.2026" for c in cs
    ]
