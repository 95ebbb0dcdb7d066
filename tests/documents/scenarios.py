"""Invoices the engine really issues, one per case the e-Factura rules treat differently."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from recurent.rates.models import ExchangeRate
from tests import factories as f
from tests.factories import local


def _issue(world, contract, when=None) -> Invoice:
    issue_due(as_of=when or local(2026, 1, 31, 10))
    return Invoice.objects.filter(contract=contract).order_by("-number").first()


def eur_rate(on: date = date(2026, 1, 30), rate: str = "5.0975") -> None:
    ExchangeRate.objects.get_or_create(
        currency="EUR", date=on, defaults={"rate": Decimal(rate), "published_value": Decimal(rate)}
    )


def ron_multi_rate(world) -> Invoice:
    c = world.company
    p1 = f.product(
        c, unit_price=Decimal("33.333"), vat_rate="standard", description="Găzduire ștearsă țintă"
    )
    p2 = f.product(
        c, unit_price=Decimal("50"), vat_rate="reduced", unit_code="HUR", unit_name="oră"
    )
    k = f.contract(c, issuer=world.user, lines=[(p1, "3"), (p2, "2.5")])
    return _issue(world, k)


def eur_invoice(world) -> Invoice:
    eur_rate()
    c = world.company
    p = f.product(c, unit_price=Decimal("250.50"), currency="EUR")
    k = f.contract(c, issuer=world.user, lines=[(p, "2")], currency="EUR", invoice_currency="EUR")
    return _issue(world, k)


def eur_priced_ron_invoice(world) -> Invoice:
    eur_rate()
    c = world.company
    p = f.product(c, unit_price=Decimal("99.99"), currency="EUR")
    k = f.contract(c, issuer=world.user, lines=[(p, "1")], currency="EUR", invoice_currency="RON")
    return _issue(world, k)


def reverse_charge(world) -> Invoice:
    c = world.company
    p = f.product(c, vat_category="AE", vat_rate="zero", unit_price=Decimal("1000"))
    k = f.contract(c, issuer=world.user, lines=[(p, "1")])
    return _issue(world, k)


def exempt(world) -> Invoice:
    c = world.company
    p = f.product(c, vat_category="E", vat_rate="zero", unit_price=Decimal("400"))
    p2 = f.product(c, unit_price=Decimal("10"))
    k = f.contract(c, issuer=world.user, lines=[(p, "1"), (p2, "1")])
    return _issue(world, k)


def individual_without_cnp(world) -> Invoice:
    c = world.company
    buyer = f.client(
        c,
        kind="individual",
        name="Ioana Țăranu",
        tax_id="",
        street="Str. Florilor 3",
        city="Iași",
        county="IS",
    )
    k = f.contract(c, issuer=world.user, client_=buyer)
    return _issue(world, k)


def individual_with_cnp(world) -> Invoice:
    c = world.company
    buyer = f.client(
        c,
        kind="individual",
        name="Ștefan Popescu",
        tax_id=f.CNP,
        street="Str. Lungă 9",
        city="Brașov",
        county="BV",
    )
    k = f.contract(c, issuer=world.user, client_=buyer)
    return _issue(world, k)


def bucharest_buyer(world) -> Invoice:
    c = world.company
    buyer = f.client(
        c,
        name="Client București SA",
        street="Bd. Unirii 1",
        city="Sector 3",
        county="B",
        postal_code="030823",
    )
    k = f.contract(c, issuer=world.user, client_=buyer)
    return _issue(world, k)


def non_vat_seller(world) -> Invoice:
    from recurent.companies.services import company_update

    company_update(company=world.company, vat_payer=False, cui="18547290")
    k = f.contract(world.company, issuer=world.user)
    return _issue(world, k)


def vat_on_collection(world) -> Invoice:
    from recurent.companies.services import company_update

    company_update(company=world.company, vat_on_collection=True, share_capital="200 RON")
    k = f.contract(world.company, issuer=world.user)
    return _issue(world, k)


ALL = {
    "ron-multi-rate": ron_multi_rate,
    "eur": eur_invoice,
    "eur-priced-ron": eur_priced_ron_invoice,
    "reverse-charge": reverse_charge,
    "exempt": exempt,
    "individual-no-cnp": individual_without_cnp,
    "individual-cnp": individual_with_cnp,
    "bucharest-buyer": bucharest_buyer,
    "non-vat-seller": non_vat_seller,
    "vat-on-collection": vat_on_collection,
}


def credit_notes(world) -> dict[str, bytes]:
    """Credit notes issued by the storno service: whole (RON, EUR) and partial (multi-rate)."""
    from recurent.documents import ubl
    from recurent.documents.snapshot import from_invoice
    from recurent.invoices.storno import invoice_storno

    out = {}
    when = local(2026, 2, 3, 12)
    # Issue first, then reverse: a storno moves the series clock forward.
    ron, eur, part_of = ron_multi_rate(world), eur_invoice(world), ron_multi_rate(world)
    whole = invoice_storno(invoice=ron, lines=None, as_of=when, user=world.user)
    out["storno-ron-whole"] = ubl.build(from_invoice(whole))
    eur_cn = invoice_storno(invoice=eur, lines=None, as_of=when, user=world.user)
    out["storno-eur-whole"] = ubl.build(from_invoice(eur_cn))
    first = part_of.lines.get(position=1)
    part = invoice_storno(
        invoice=part_of, lines=[(first, Decimal("1"))], as_of=when, user=world.user
    )
    out["storno-ron-partial"] = ubl.build(from_invoice(part))
    return out
