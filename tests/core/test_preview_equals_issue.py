"""A preview shows what the run then issues: one drafting path for both."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from recurent.clients.models import Client
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due, preview_due
from recurent.rates.models import ExchangeRate
from tests import factories as f
from tests.factories import local

AS_OF = local(2026, 4, 2, 10)


def _world(world):  # type: ignore[no-untyped-def]
    c = world.company
    ExchangeRate.objects.create(
        currency="EUR", date=date(2026, 4, 1), rate=Decimal("5.0975"),
        published_value=Decimal("5.0975"),
    )  # fmt: skip
    odd = f.product(c, unit_price=Decimal("33.333"), vat_rate="standard")
    food = f.product(c, unit_price=Decimal("10.005"), vat_rate="reduced")
    eur = f.product(c, currency="EUR", unit_price=Decimal("99.99"))
    # Catch-up: three missed monthly periods, mixed VAT rates and rounding.
    f.contract(c, issuer=world.user, lines=[(odd, "3"), (food, "7")], first=local(2026, 1, 31))
    # Prices in EUR invoiced in RON at BNR's rate, and invoiced in EUR.
    f.contract(c, issuer=world.user, lines=[(eur, "2")], currency="EUR", first=local(2026, 3, 1))
    f.contract(c, issuer=world.user, lines=[(eur, "1")], currency="EUR", invoice_currency="EUR",
               first=local(2026, 4, 1))  # fmt: skip
    # Held for bad data: neither previewed nor issued.
    held = f.contract(c, issuer=world.user, first=local(2026, 4, 1))
    Client.objects.filter(pk=held.client_id).update(street="")


def test_the_preview_of_a_run_equals_what_the_run_then_issues(world):
    _world(world)
    preview = preview_due(as_of=AS_OF)
    assert len(preview.previews) == 3 + 2 + 1 and len(preview.held) == 1
    run = issue_due(as_of=AS_OF)
    issued = [
        {
            "contract": i.contract_number,
            "client": i.buyer_name,
            "period_start": i.period_start.isoformat(),
            "period_end": i.period_end.isoformat(),
            "issue_date": i.issue_date.isoformat(),
            "due_date": i.due_date.isoformat(),
            "currency": i.currency,
            "net": str(i.net_total),
            "vat": str(i.vat_total),
            "total": str(i.gross_total),
        }  # fmt: skip
        for i in Invoice.objects.order_by("contract_id", "period_index")
    ]
    shown = [{k: v for k, v in p.items() if k not in ("number", "kind")} for p in preview.previews]
    key = lambda r: (r["contract"], r["period_start"])  # noqa: E731
    assert sorted(shown, key=key) == sorted(issued, key=key)
    assert [c for c, _ in preview.held] == [c for c, _ in run.held]
    assert [r for _, r in preview.held] == [r for _, r in run.held]
