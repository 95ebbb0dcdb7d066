"""The next invoices with their amounts (contract page, `recurent schedule`), drafted as issued."""

import json
from decimal import Decimal
from io import StringIO

from django.core.management import call_command
from django.test import Client

from recurent.contracts.charges import charge_add
from recurent.contracts.services import LineSpec, contract_change_lines
from recurent.invoices.models import Invoice
from recurent.invoices.services import contract_upcoming, issue_due
from tests import factories as f
from tests.factories import local


def _contract(world, first=None):
    p = f.product(world.company, unit_price=Decimal("100"), vat_rate="standard")
    c = f.contract(
        world.company, issuer=world.user, lines=[(p, "1")], first=first or local(2026, 1, 31)
    )
    return c, p


def test_the_next_invoices_show_the_pending_charge_once_and_equal_what_is_then_issued(world):
    c, _ = _contract(world)
    charge_add(contract=c, user=world.user, as_of=local(2026, 1, 2), description="Setup",
               quantity="1", unit_price="50")  # fmt: skip
    up = contract_upcoming(contract=c, as_of=local(2026, 1, 2), count=3)
    assert [u["total"] for u in up] == [Decimal("181.50"), Decimal("121.00"), Decimal("121.00")]
    assert [u["lines"] for u in up] == [2, 1, 1]
    issue_due(as_of=local(2026, 3, 31))
    issued = [i.gross_total for i in Invoice.objects.filter(contract=c).order_by("number")]
    assert issued == [u["total"] for u in up]


def test_a_line_change_and_a_vat_change_show_in_the_periods_they_apply_to(world):
    c, p = _contract(world, first=local(2025, 6, 30))
    issue_due(as_of=local(2025, 6, 30))
    contract_change_lines(contract=c, user=world.user, lines=[LineSpec(p, Decimal(2))])
    up = contract_upcoming(contract=c, as_of=local(2025, 7, 1), count=2)
    # July 30 at 19 % (two units now), August 30 at 21 % (Law 141/2025)
    assert [(u["net"], u["vat"]) for u in up] == [
        (Decimal("200.00"), Decimal("38.00")),
        (Decimal("200.00"), Decimal("42.00")),
    ]


def test_recurent_schedule_prints_the_amounts_of_a_saved_contract(world):
    c, _ = _contract(world)
    out = StringIO()
    call_command("schedule", str(c.pk), "--count", "2", "--json", stdout=out)
    rows = json.loads(out.getvalue())
    assert [r["total"] for r in rows] == ["121.00", "121.00"] and rows[0]["currency"] == "RON"
    text = StringIO()
    call_command("schedule", str(c.pk), "--count", "1", stdout=text)
    assert "total 121.00 RON (net 100.00, VAT 21.00)" in text.getvalue()


def test_the_contract_page_lists_the_next_invoices_with_their_totals(world):
    c, _ = _contract(world)
    web = Client()
    web.force_login(world.user)
    page = web.get(f"/contracts/{c.pk}/").content.decode()
    assert page.count('class="num upcoming-total"') == 12
    assert "121,00" in page.split('class="num upcoming-total"')[1]
