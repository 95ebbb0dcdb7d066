"""What a document is made of: an issued invoice as plain frozen dataclasses.

The PDF and the UBL builders take a ``DocData`` and never touch the ORM, so they render
exactly the amounts the engine stored (no totals are recomputed here) and they can be
benchmarked and tested without a database. ``from_invoice`` is the one bridge from the
``Invoice`` rows to this snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recurent.invoices.models import Invoice


@dataclass(frozen=True)
class Party:
    name: str
    tax_id: str  # CUI/CIF (RO prefix when VAT-registered), CNP, or a foreign VAT id
    street: str
    city: str
    county: str = ""
    country: str = "RO"
    postal_code: str = ""
    region: str = ""  # outside Romania: state, province, region as free text (BT-39/BT-54)
    trade_register: str = ""
    kind: str = "company"  # company | individual (buyers only)
    vat_payer: bool = True  # sellers only
    iban: str = ""
    bank: str = ""
    email: str = ""
    phone: str = ""
    share_capital: str = ""
    logo: str = ""  # storage name of the seller's logo


@dataclass(frozen=True)
class Delivery:
    """Where and when goods were delivered (BG-13/BG-15): what intra-EU supplies (K) and
    exports (G) must state. Without one, the UBL builder delivers to the buyer's address
    within the invoice period (ubl.delivery_for)."""

    street: str
    city: str
    country: str
    county: str = ""  # a Romanian county code, or a foreign region as free text
    postal_code: str = ""
    date: date | None = None  # BT-72, the actual delivery date


@dataclass(frozen=True)
class Line:
    position: int
    name: str
    quantity: Decimal
    unit_code: str
    unit_price: Decimal
    vat_category: str
    vat_rate: Decimal
    net: Decimal
    unit_name: str = ""
    description: str = ""
    product_code: str = ""
    # Line allowances (discounts, BG-27): (amount, reason) pairs; ``net`` is already after them.
    allowances: tuple[tuple[Decimal, str], ...] = ()


@dataclass(frozen=True)
class VatRow:
    category: str
    rate: Decimal
    base: Decimal
    vat: Decimal
    vat_ron: Decimal | None = None
    # The legal basis (BT-120) the invoice states for this row, when not its category's usual one.
    reason: str = ""


@dataclass(frozen=True)
class Annex:
    filename: str
    mime: str
    content: bytes
    description: str = ""


@dataclass(frozen=True)
class DocData:
    kind: str  # invoice | credit_note
    number: str
    issue_date: date
    due_date: date | None
    currency: str
    seller: Party
    buyer: Party
    lines: tuple[Line, ...]
    vat_rows: tuple[VatRow, ...]
    net_total: Decimal
    vat_total: Decimal
    gross_total: Decimal
    vat_total_ron: Decimal | None = None
    fx_rate: Decimal | None = None
    fx_date: date | None = None
    period_start: date | None = None
    period_end: date | None = None
    contract_number: str = ""
    contract_date: date | None = None
    vat_on_collection: bool = False
    notes: str = ""
    issuer_name: str = ""
    credited_number: str = ""
    credited_issue_date: date | None = None
    annexes: tuple[Annex, ...] = field(default_factory=tuple)
    delivery: Delivery | None = None

    @property
    def is_credit_note(self) -> bool:
        return self.kind == "credit_note"


def _party(snap: dict[str, Any]) -> Party:
    return Party(
        name=snap.get("name", ""),
        tax_id=snap.get("cui") or snap.get("tax_id") or "",
        street=snap.get("street", ""),
        city=snap.get("city", ""),
        county=snap.get("county", "") or "",
        country=snap.get("country", "RO") or "RO",
        postal_code=snap.get("postal_code", "") or "",
        region=snap.get("region", "") or "",
        trade_register=snap.get("trade_register", "") or "",
        kind=snap.get("kind", "company") or "company",
        vat_payer=bool(snap.get("vat_payer", True)),
        iban=snap.get("iban", "") or "",
        bank=snap.get("bank", "") or "",
        email=snap.get("email", "") or "",
        phone=snap.get("phone", "") or "",
        share_capital=snap.get("share_capital", "") or "",
        logo=snap.get("logo", "") or "",
    )


# Corrections of an issued invoice made after ANAF rejected its e-Factura (buyer, delivery
# data, notes; never amounts or lines). The invoice row stays as issued (a trigger forbids
# changing it): the snapshot applies the latest correction instead, so PDF, XML and portal show
# it. recurent.efactura registers its lookup here in AppConfig.ready(): invoice ids ->
# {invoice id: {"buyer": {...}, "notes": "...", "delivery": {...}}}, one query for a block.
CORRECTIONS: list[Callable[[Sequence[int]], Mapping[int, Mapping[str, Any]]]] = []


def corrections_of(invoice_ids: Sequence[int]) -> dict[int, Mapping[str, Any]]:
    found: dict[int, Mapping[str, Any]] = {}
    for lookup in CORRECTIONS:
        found.update(lookup(invoice_ids))
    return found


def _delivery(snap: Mapping[str, Any] | None) -> Delivery | None:
    """The delivery someone stated (a correction's ``delivery``, or ``buyer["delivery"]``):
    street, city, county, country, postal_code, date (ISO); ``None`` lets the UBL builder
    default it from the buyer's address and the invoice period."""
    if not snap:
        return None
    when = snap.get("date")
    return Delivery(
        street=snap.get("street", "") or "",
        city=snap.get("city", "") or "",
        country=snap.get("country", "") or "RO",
        county=snap.get("county", "") or "",
        postal_code=snap.get("postal_code", "") or "",
        date=date.fromisoformat(when) if isinstance(when, str) and when else None,
    )


def _dec(value: Any) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def from_invoice(
    invoice: Invoice,
    annexes: tuple[Annex, ...] = (),
    lines: Iterable[Any] | None = None,
    correction: Mapping[str, Any] | None = None,
) -> DocData:
    """The stored invoice (rows and JSON snapshots) as a ``DocData``; lines are read once
    (``lines``: the invoice's line rows in position order, when the caller loaded them for a
    whole block of invoices). ``correction``: the invoice's latest correction (see
    ``CORRECTIONS``), when the caller looked it up for a block; ``None`` looks it up here."""
    if lines is None:
        lines = invoice.lines.all().order_by("position")
    if correction is None:
        correction = corrections_of([invoice.pk]).get(invoice.pk, {})
    credited = invoice.credited_invoice if invoice.credited_invoice_id else None
    return DocData(
        kind=invoice.kind,
        number=invoice.full_number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        currency=invoice.currency,
        seller=_party(invoice.seller),
        buyer=_party(correction.get("buyer") or invoice.buyer),
        lines=tuple(
            Line(
                position=li.position,
                name=li.name,
                quantity=li.quantity,
                unit_code=li.unit_code,
                unit_price=li.unit_price,
                vat_category=li.vat_category,
                vat_rate=li.vat_rate,
                net=li.net,
                unit_name=li.unit_name,
                description=li.description,
                product_code=li.product_code,
                allowances=tuple(
                    (Decimal(str(a["amount"])), str(a["reason"])) for a in li.allowances or ()
                ),
            )
            for li in lines
        ),
        vat_rows=tuple(
            VatRow(
                category=g["category"],
                rate=Decimal(str(g["rate"])),
                base=Decimal(str(g["base"])),
                vat=Decimal(str(g["vat"])),
                vat_ron=_dec(g.get("vat_ron")),
                reason=g.get("reason") or "",
            )
            for g in invoice.vat_breakdown
        ),
        net_total=invoice.net_total,
        vat_total=invoice.vat_total,
        gross_total=invoice.gross_total,
        vat_total_ron=invoice.vat_total_ron,
        fx_rate=invoice.fx_rate,
        fx_date=invoice.fx_date,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        contract_number=invoice.contract_number,
        contract_date=invoice.contract_date,
        vat_on_collection=invoice.vat_on_collection,
        notes=correction.get("notes", invoice.notes),
        issuer_name=invoice.issuer_name,
        credited_number=credited.full_number if credited else "",
        credited_issue_date=credited.issue_date if credited else None,
        annexes=annexes,
        delivery=_delivery(correction.get("delivery") or (invoice.buyer or {}).get("delivery")),
    )
