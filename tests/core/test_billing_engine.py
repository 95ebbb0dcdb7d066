"""The billing engine: exactly once, gapless, catch-up, snapshots, holds."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from recurent.contracts.models import ContractStatus
from recurent.contracts.services import contract_cancel, contract_pause, contract_resume
from recurent.invoices.models import ImmutableInvoiceError, Invoice, InvoiceLine
from recurent.invoices.services import SeriesClockError, issue_due
from tests import factories as f
from tests.factories import local


def numbers(series):
    return list(
        Invoice.objects.filter(series=series).order_by("number").values_list("number", flat=True)
    )


def test_a_due_contract_is_invoiced_once_and_the_second_run_creates_nothing(world):
    c = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    first = issue_due(as_of=local(2026, 1, 31, 9, 0))
    again = issue_due(as_of=local(2026, 1, 31, 9, 0))
    assert first.issued == 1 and again.issued == 0
    inv = Invoice.objects.get()
    assert inv.full_number == "REC-000001"
    assert (inv.period_start, inv.period_end) == (date(2026, 1, 31), date(2026, 2, 27))
    c.refresh_from_db()
    assert c.next_index == 1 and c.next_issue_at == local(2026, 2, 28)


def test_nothing_is_issued_before_the_first_instant(world):
    f.contract(world.company, issuer=world.user, first=local(2026, 1, 31, 9, 0))
    assert issue_due(as_of=local(2026, 1, 31, 8, 59)).issued == 0


def test_catch_up_issues_every_missed_period_oldest_first_dated_now(world):
    c = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    res = issue_due(as_of=local(2026, 5, 1, 12, 0))
    assert res.issued == 4  # Jan 31, Feb 28, Mar 31, Apr 30
    invs = list(Invoice.objects.filter(contract=c).order_by("number"))
    assert [i.period_start for i in invs] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]
    assert {i.issue_date for i in invs} == {date(2026, 5, 1)}
    assert numbers(world.series) == [1, 2, 3, 4]


def test_amounts_vat_grouped_and_rounded_once(world):
    p1 = f.product(world.company, unit_price=Decimal("33.333"), vat_rate="standard")
    p2 = f.product(world.company, unit_price=Decimal("10.005"), vat_rate="standard")
    p3 = f.product(world.company, unit_price=Decimal("50"), vat_rate="reduced")
    f.contract(
        world.company,
        issuer=world.user,
        lines=[(p1, "3"), (p2, "1"), (p3, "2")],
        first=local(2026, 1, 31),
    )
    issue_due(as_of=local(2026, 1, 31, 10))
    inv = Invoice.objects.get()
    nets = [li.net for li in inv.lines.all()]
    assert nets == [Decimal("100.00"), Decimal("10.01"), Decimal("100.00")]  # 99.999 -> 100.00
    groups = {(g["category"], g["rate"]): g for g in inv.vat_breakdown}
    assert groups[("S", "21")]["base"] == "110.01" and groups[("S", "21")]["vat"] == "23.10"
    assert groups[("S", "11")]["vat"] == "11.00"
    assert inv.vat_total == Decimal("34.10") and inv.gross_total == Decimal("244.11")


def test_vat_rate_follows_the_invoice_date_across_the_2025_change(world):
    f.contract(world.company, issuer=world.user, first=local(2025, 6, 15), cycle="monthly")
    issue_due(as_of=local(2025, 6, 15, 10))
    issue_due(as_of=local(2025, 7, 15, 10))
    issue_due(as_of=local(2025, 8, 15, 10))
    rates = [Decimal(i.vat_breakdown[0]["rate"]) for i in Invoice.objects.order_by("number")]
    assert rates == [19, 19, 21]


def test_an_issued_invoice_cannot_be_modified_nor_deleted(world):
    f.contract(world.company, issuer=world.user)
    issue_due(as_of=local(2026, 2, 1))
    inv = Invoice.objects.get()
    inv.gross_total = Decimal("1")
    with pytest.raises(ImmutableInvoiceError):
        inv.save()
    with pytest.raises(ImmutableInvoiceError):
        inv.delete()
    with pytest.raises(ImmutableInvoiceError):
        Invoice.objects.all().delete()
    # Even a raw UPDATE is refused by the database trigger.
    with pytest.raises(Exception, match="immutable"), transaction.atomic():
        Invoice.objects.filter(pk=inv.pk).update(gross_total=Decimal("1"))
    with pytest.raises(Exception, match="immutable"), transaction.atomic():
        InvoiceLine.objects.filter(invoice=inv).update(net=Decimal("1"))
    if connection.vendor == "postgresql":
        with (
            pytest.raises(Exception, match="never deleted"),
            transaction.atomic(),
            connection.cursor() as cur,
        ):
            cur.execute("DELETE FROM invoices_invoice")
    # Status is state that follows the invoice, not its content: it may change.
    Invoice.objects.filter(pk=inv.pk).update(status="cancelled")


def test_snapshots_do_not_change_when_the_client_is_edited(world):
    from recurent.clients.services import client_update

    c = f.contract(world.company, issuer=world.user)
    issue_due(as_of=local(2026, 2, 1))
    client_update(client=c.client, name="Renamed SRL", street="Alt drum 9")
    inv = Invoice.objects.get()
    assert inv.buyer["name"] != "Renamed SRL" and inv.buyer_name != "Renamed SRL"


def test_one_bad_contract_is_set_aside_and_the_rest_go_on(world):
    good = f.contract(world.company, issuer=world.user)
    bad = f.contract(world.company, issuer=world.user, currency="EUR", invoice_currency="EUR",
                     lines=[(f.product(world.company, currency="EUR"), "1")])  # fmt: skip
    res = issue_due(as_of=local(2026, 2, 1))
    assert res.issued == 1 and len(res.held) == 1
    bad.refresh_from_db()
    assert bad.hold_kind == "fx" and "EUR" in bad.hold_reason
    assert Invoice.objects.get().contract_id == good.pk


def test_a_data_hold_is_retried_once_the_client_is_fixed(world):
    from recurent.clients.models import Client
    from recurent.clients.services import client_update

    c = f.contract(world.company, issuer=world.user)
    Client.objects.filter(pk=c.client_id).update(street="")  # broken behind the validation's back
    assert issue_due(as_of=local(2026, 2, 1)).issued == 0
    c.refresh_from_db()
    assert c.hold_kind == "data" and "client street" in c.hold_reason
    assert issue_due(as_of=local(2026, 2, 1)).issued == 0  # still broken: not retried
    cl = Client.objects.get(pk=c.client_id)
    client_update(client=cl, street="Str. Nouă 2")
    assert issue_due(as_of=local(2026, 2, 1)).issued == 1


def test_eur_contract_invoiced_in_eur_keeps_the_rate_and_states_vat_in_ron(world):
    from recurent.rates.models import ExchangeRate

    ExchangeRate.objects.create(
        currency="EUR",
        date=date(2026, 1, 30),
        rate=Decimal("5.0975"),
        published_value=Decimal("5.0975"),
    )
    p = f.product(world.company, currency="EUR", unit_price=Decimal("99.99"))
    f.contract(
        world.company, issuer=world.user, lines=[(p, "1")], currency="EUR", invoice_currency="EUR"
    )
    issue_due(as_of=local(2026, 1, 31, 10))  # Saturday: Friday's rate applies
    inv = Invoice.objects.get()
    assert (
        inv.currency == "EUR"
        and inv.fx_rate == Decimal("5.0975")
        and inv.fx_date == date(2026, 1, 30)
    )
    assert inv.vat_total == Decimal("21.00")
    assert inv.vat_total_ron == Decimal(
        "107.04"
    )  # 99.99 * 0.21 * 5.0975 = 107.037..., rounded once


def test_eur_prices_invoiced_in_ron_are_converted(world):
    from recurent.rates.models import ExchangeRate

    ExchangeRate.objects.create(
        currency="EUR",
        date=date(2026, 1, 30),
        rate=Decimal("5.0975"),
        published_value=Decimal("5.0975"),
    )
    p = f.product(world.company, currency="EUR", unit_price=Decimal("100"))
    f.contract(
        world.company, issuer=world.user, lines=[(p, "2")], currency="EUR", invoice_currency="RON"
    )
    issue_due(as_of=local(2026, 1, 31, 10))
    inv = Invoice.objects.get()
    assert inv.currency == "RON" and inv.lines.get().unit_price == Decimal("509.75")
    assert inv.net_total == Decimal("1019.50")


def test_paused_contract_issues_nothing_and_resume_skips_the_pause(world):
    c = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10))
    contract_pause(contract=c, user=world.user, as_of=local(2026, 2, 10))
    assert issue_due(as_of=local(2026, 4, 1)).issued == 0
    contract_resume(contract=c, user=world.user, as_of=local(2026, 4, 15))
    issue_due(as_of=local(2026, 5, 1))
    starts = [i.period_start for i in Invoice.objects.order_by("number")]
    assert starts == [date(2026, 1, 31), date(2026, 4, 30)]


def test_cancel_at_period_end_in_advance_stops_after_the_invoiced_period(world):
    c = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10))
    contract_cancel(contract=c, user=world.user, as_of=local(2026, 2, 10), at_period_end=True)
    assert issue_due(as_of=local(2026, 6, 1)).issued == 0
    c.refresh_from_db()
    assert c.status == ContractStatus.CANCELLED


def test_cancel_at_period_end_in_arrears_still_invoices_the_current_period(world):
    c = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31), in_arrears=True)
    issue_due(as_of=local(2026, 1, 31, 10))
    contract_cancel(contract=c, user=world.user, as_of=local(2026, 2, 10), at_period_end=True)
    assert issue_due(as_of=local(2026, 6, 1)).issued == 1
    last = Invoice.objects.order_by("-number").first()
    assert (last.period_start, last.period_end) == (date(2026, 1, 31), date(2026, 2, 27))
    c.refresh_from_db()
    assert c.status == ContractStatus.ENDED


def test_change_lines_from_the_next_period(world):
    from recurent.contracts.services import LineSpec, contract_change_lines

    p = f.product(world.company, unit_price=Decimal("10"))
    c = f.contract(world.company, issuer=world.user, lines=[(p, "1")], first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 1, 31, 10))
    contract_change_lines(contract=c, user=world.user, lines=[LineSpec(p, Decimal("3"))])
    issue_due(as_of=local(2026, 2, 28, 10))
    nets = [i.net_total for i in Invoice.objects.order_by("number")]
    assert nets == [Decimal("10.00"), Decimal("30.00")]
    assert c.changes.filter(action="lines_changed").exists()


def test_last_invoice_is_strictly_before_the_end(world):
    f.contract(
        world.company, issuer=world.user, first=local(2026, 1, 31), ends_at=local(2026, 3, 31)
    )
    assert issue_due(as_of=local(2026, 12, 31)).issued == 2  # Jan 31, Feb 28; not Mar 31


def test_draft_contract_is_not_invoiced(world):
    f.contract(world.company, issuer=world.user, activate=False)
    assert issue_due(as_of=local(2026, 12, 31)).issued == 0


def test_time_travel_backwards_is_refused_with_a_reason(world):
    f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 3, 1))
    f.contract(world.company, issuer=world.user, first=local(2026, 1, 1))
    with pytest.raises(SeriesClockError, match="cannot go backwards"):
        issue_due(as_of=local(2026, 2, 1))


def test_yearly_restart_numbers_from_one(world):
    from recurent.companies.services import series_create

    s = series_create(company=world.company, code="ANUAL", yearly_restart=True)
    f.contract(world.company, issuer=world.user, series=s, first=local(2026, 11, 30))
    issue_due(as_of=local(2027, 1, 31, 10))
    got = list(
        Invoice.objects.filter(series=s)
        .order_by("issued_at", "number")
        .values_list("year", "number")
    )
    assert got == [(2027, 1), (2027, 2), (2027, 3)]


def test_the_period_unique_constraint_refuses_a_second_invoice(world):
    from recurent.invoices.models import InvoicePeriod

    c = f.contract(world.company, issuer=world.user)
    issue_due(as_of=local(2026, 2, 1))
    inv = Invoice.objects.get()
    clone = Invoice(
        **{
            fld.attname: getattr(inv, fld.attname)
            for fld in Invoice._meta.concrete_fields
            if fld.attname != "id"
        }
    )
    clone.number = 99
    # The rule lives on the periods an invoice covers (issue 18: grouped invoices), which every
    # issuing path writes with the invoice.
    with pytest.raises(IntegrityError), transaction.atomic():
        clone.save()
        (period,) = InvoicePeriod.objects.filter(invoice=inv).values(
            "contract_id", "period_index", "period_start", "period_end"
        )
        InvoicePeriod.objects.create(invoice=clone, **period)
    assert c.invoices.count() == 1


def test_dry_run_previews_every_missed_period_and_writes_nothing(world):
    f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    res = issue_due(as_of=local(2026, 3, 31, 10), dry_run=True)
    assert [p["number"] for p in res.previews] == ["REC-000001", "REC-000002", "REC-000003"]
    assert Invoice.objects.count() == 0


def test_contract_changes_are_announced_as_domain_events_in_the_same_transaction(world):
    from recurent.common import events

    got = []

    def listener(company_id, event_type, payload):
        got.append((company_id, event_type, payload["action"]))

    events.listen(listener)
    try:
        c = f.contract(world.company, issuer=world.user)
        contract_pause(contract=c, user=world.user, as_of=local(2026, 2, 1))
        contract_resume(contract=c, user=world.user, as_of=local(2026, 2, 2))
        contract_cancel(contract=c, user=world.user, as_of=local(2026, 2, 3))
    finally:
        events._listeners.remove(listener)
    cid = world.company.pk
    assert got == [
        (cid, "contract.created", "created"),
        (cid, "contract.changed", "paused"),
        (cid, "contract.changed", "resumed"),
        (cid, "contract.cancelled", "cancelled"),
    ]
