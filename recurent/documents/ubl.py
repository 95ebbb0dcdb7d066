"""RO e-Factura XML: UBL 2.1 Invoice (380) and CreditNote (381) under CIUS-RO 1.0.1.

Built with lxml from a ``DocData`` snapshot: every amount is the one the engine stored,
printed with two decimals; nothing is recomputed or rounded again. A value that cannot
be written legally (a county that is not a Romanian county, a Bucharest address without
its sector, an amount with more than two decimals, a name longer than ANAF accepts) is
refused with ``UblError(field, message)``; free text (descriptions, notes) is cut to the
maximum length instead, because cutting it does not change what the invoice means.

Credit notes: the engine stores a storno with negative quantities and amounts (it reads
as a negative invoice on screen and in the ledger). A UBL ``CreditNote`` states what is
credited, so its quantities and amounts are those same figures with the sign flipped.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from decimal import Decimal

from lxml import etree

from recurent.engine import geo
from recurent.engine.money import round_money
from recurent.engine.vat import EXEMPTION_REASONS, VatCategory

from .snapshot import Delivery, DocData, Line, Party

CIUS_RO = "urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.1"
NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_C = f"{{{CAC}}}"
_B = f"{{{CBC}}}"

# The placeholder ANAF accepts for an individual buyer who gave no CNP (13 zeros).
NO_CNP = "0000000000000"
MAX_NOTES = 20  # BR-RO-A020
NOTE_MAX = 300  # BR-RO-L302
DESCRIPTION_MAX = 200  # BR-RO-L212

# Categories whose VAT breakdown needs an exemption reason (BR-E-10, BR-AE-10, BR-IC-10, ...).
NEEDS_REASON = {"E", "AE", "K", "G", "O"}
# Categories whose invoice states the delivery (BG-13): an intra-EU supply must name the
# deliver-to country (BR-IC-12) and the delivery date or invoicing period (BR-IC-11); an
# export states the same so that the goods' destination outside the EU is on the invoice.
NEEDS_DELIVERY = {"K", "G"}


class UblError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _amount(value: Decimal, field: str) -> str:
    if value != round_money(value):
        raise UblError(field, f"{value} has more than two decimals; amounts are stored rounded")
    return f"{value:.2f}"


def _plain(value: Decimal, min_places: int = 0) -> str:
    """A decimal without exponent or needless trailing zeros (quantities, prices, rates)."""
    text = format(value.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if min_places:
        whole, _, frac = text.partition(".")
        text = f"{whole}.{frac.ljust(min_places, '0')}"
    return text


def _limit(value: str, max_len: int, field: str) -> str:
    value = " ".join((value or "").split())
    if len(value) > max_len:
        raise UblError(
            field, f"{len(value)} characters; e-Factura accepts at most {max_len} ({value[:40]}...)"
        )
    return value


def _cut(value: str, max_len: int) -> str:
    value = " ".join((value or "").split())
    return value if len(value) <= max_len else value[: max_len - 1] + "…"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, tag, attrs or None)  # type: ignore[arg-type]
    if text is not None:
        el.text = text
    return el


def _money(parent: etree._Element, tag: str, value: Decimal, currency: str, field: str) -> None:
    _sub(parent, _B + tag, _amount(value, field), currencyID=currency)


def _address(
    parent: etree._Element, p: Party | Delivery, role: str, tag: str = "PostalAddress"
) -> None:
    addr = _sub(parent, _C + tag)
    street = _limit(p.street, 150, f"{role}.street")
    city = _limit(p.city, 50, f"{role}.city")
    if not street:
        raise UblError(f"{role}.street", "the street is required on an e-Factura invoice")
    if not city:
        raise UblError(f"{role}.city", "the city is required on an e-Factura invoice")
    county = ""
    country = (p.country or "RO").upper()
    if country == "RO":
        try:
            county = geo.clean_county(p.county, f"{role}.county")
            if county == "RO-B":
                city = geo.clean_bucharest_city(city, f"{role}.city")
        except geo.AddressError as e:
            raise UblError(e.field, e.message) from None
    elif getattr(p, "region", "") or p.county:
        # Outside Romania the region is free text (a state, a province): BT-39/54/79.
        county = _limit(getattr(p, "region", "") or p.county, 100, f"{role}.region")
    elif tag == "Address":
        # CIUS-RO asks every deliver-to address for a subdivision (BR-RO-211), also abroad;
        # without a region the city is the closest honest value.
        county = city
    _sub(addr, _B + "StreetName", street)
    _sub(addr, _B + "CityName", city)
    if p.postal_code:
        _sub(addr, _B + "PostalZone", _limit(p.postal_code, 20, f"{role}.postal_code"))
    if county:
        _sub(addr, _B + "CountrySubentity", county)
    _sub(_sub(addr, _C + "Country"), _B + "IdentificationCode", country)


def _tax_scheme(parent: etree._Element, company_id: str) -> None:
    pts = _sub(parent, _C + "PartyTaxScheme")
    _sub(pts, _B + "CompanyID", company_id)
    _sub(_sub(pts, _C + "TaxScheme"), _B + "ID", "VAT")


def _seller(root: etree._Element, d: DocData) -> None:
    s = d.seller
    party = _sub(_sub(root, _C + "AccountingSupplierParty"), _C + "Party")
    _address(party, s, "seller")
    cui = (s.tax_id or "").upper().replace(" ", "")
    digits = cui.removeprefix("RO")
    if not digits:
        raise UblError("seller.cui", "the company has no CUI/CIF")
    if s.vat_payer:
        _tax_scheme(party, "RO" + digits if s.country == "RO" else cui)
    legal = _sub(party, _C + "PartyLegalEntity")
    _sub(legal, _B + "RegistrationName", _limit(s.name, 200, "seller.name"))
    # BT-30: the trade-register number for a VAT payer (its VAT id identifies it); a
    # non-VAT payer has no VAT id, so its CUI goes here and the register number below.
    _sub(legal, _B + "CompanyID", s.trade_register if s.vat_payer and s.trade_register else digits)
    extra = []
    if s.trade_register and not s.vat_payer:
        extra.append(f"Nr. Reg. Com.: {s.trade_register}")
    if s.share_capital:
        extra.append(f"Capital social: {s.share_capital}")
    if extra:
        _sub(legal, _B + "CompanyLegalForm", "; ".join(extra))
    if s.email or s.phone:
        contact = _sub(party, _C + "Contact")
        if s.phone:
            _sub(contact, _B + "Telephone", _cut(s.phone, 100))
        if s.email:
            _sub(contact, _B + "ElectronicMail", _cut(s.email, 100))


def _buyer(root: etree._Element, d: DocData, outside_scope: bool) -> None:
    b = d.buyer
    party = _sub(_sub(root, _C + "AccountingCustomerParty"), _C + "Party")
    _address(party, b, "buyer")
    tax_id = (b.tax_id or "").upper().replace(" ", "")
    country = (b.country or "RO").upper()
    if b.kind == "individual":
        legal_id = tax_id.removeprefix("RO") or NO_CNP
    else:
        if not tax_id:
            raise UblError("buyer.tax_id", "a legal entity buyer needs its CUI/CIF or VAT id")
        has_prefix = tax_id[:2].isalpha()
        # BR-O-02: an invoice outside the VAT scope must not carry the buyer's VAT id.
        if has_prefix and not outside_scope:
            _tax_scheme(party, tax_id)
        legal_id = tax_id.removeprefix("RO") if country == "RO" else tax_id
    legal = _sub(party, _C + "PartyLegalEntity")
    _sub(legal, _B + "RegistrationName", _limit(b.name, 200, "buyer.name"))
    _sub(legal, _B + "CompanyID", legal_id)


def delivery_for(d: DocData) -> Delivery | None:
    """The delivery the invoice states: the one given (a correction may give only a date, or
    only an address), completed from the buyer's address; for K and G, when none is given,
    the buyer's address. The actual delivery date is the one given, else the issue date when
    the invoice has no period (BR-IC-11 takes either)."""
    given = d.delivery
    if given is None and not NEEDS_DELIVERY & {li.vat_category for li in d.lines}:
        return None
    has_period = bool(d.period_start and d.period_end)
    when = given.date if given else None
    if when is None and not has_period:
        when = d.issue_date
    if given is not None and (given.street or given.city):
        return replace(given, date=when)
    b = d.buyer
    return Delivery(
        street=b.street,
        city=b.city,
        country=(b.country or "RO").upper(),
        county=b.county if (b.country or "RO").upper() == "RO" else (b.region or b.county),
        postal_code=b.postal_code,
        date=when,
    )


def _delivery(root: etree._Element, d: DocData) -> None:
    dl = delivery_for(d)
    if dl is None:
        return
    el = _sub(root, _C + "Delivery")
    if dl.date:
        _sub(el, _B + "ActualDeliveryDate", dl.date.isoformat())
    _address(_sub(el, _C + "DeliveryLocation"), dl, "delivery", tag="Address")


def _category(
    parent: etree._Element, tag: str, category: str, rate: Decimal, with_reason: bool,
    reason: str = "",
) -> None:  # fmt: skip
    cat = _sub(parent, _C + tag)
    _sub(cat, _B + "ID", category)
    if category != "O":  # BR-O-05/09: no rate outside the VAT scope
        _sub(cat, _B + "Percent", _plain(rate))
    if with_reason and category in NEEDS_REASON:
        # An invoice's own legal basis replaces the category's usual code and text (BR-E-10
        # asks for either; no VATEX code says "outside the taxable base").
        code, text = ("", reason) if reason else EXEMPTION_REASONS[VatCategory(category)]
        if code:
            _sub(cat, _B + "TaxExemptionReasonCode", code)
        if text:
            _sub(cat, _B + "TaxExemptionReason", _cut(text, 100))
    _sub(_sub(cat, _C + "TaxScheme"), _B + "ID", "VAT")


def _notes(d: DocData) -> list[str]:
    notes: list[str] = []
    if d.is_credit_note and d.credited_number:
        when = d.credited_issue_date.strftime("%d.%m.%Y") if d.credited_issue_date else ""
        notes.append(f"Stornare factura {d.credited_number} din {when}".strip())
    if d.vat_on_collection:
        notes.append("TVA la încasare")
    if d.currency != "RON" and d.fx_rate:
        on = f" din {d.fx_date.strftime('%d.%m.%Y')}" if d.fx_date else ""
        notes.append(f"Curs BNR{on}: 1 {d.currency} = {_plain(d.fx_rate, 4)} RON")
    text = " ".join((d.notes or "").split())
    while text:
        notes.append(text[:NOTE_MAX])
        text = text[NOTE_MAX:]
    return notes[:MAX_NOTES]


def build(d: DocData) -> bytes:
    """The e-Factura XML of an invoice or credit note (UTF-8 bytes with declaration)."""
    credit = d.is_credit_note
    sign = Decimal(-1) if credit else Decimal(1)
    cur = d.currency
    ns = NS_CREDIT if credit else NS_INVOICE
    root = etree.Element(
        f"{{{ns}}}{'CreditNote' if credit else 'Invoice'}",
        nsmap={None: ns, "cac": CAC, "cbc": CBC},
    )
    _sub(root, _B + "CustomizationID", CIUS_RO)
    _sub(root, _B + "ID", _limit(d.number, 200, "number"))
    _sub(root, _B + "IssueDate", d.issue_date.isoformat())
    if not credit and d.due_date:
        _sub(root, _B + "DueDate", d.due_date.isoformat())
    _sub(
        root,
        _B + ("CreditNoteTypeCode" if credit else "InvoiceTypeCode"),
        "381" if credit else "380",
    )
    for note in _notes(d):
        _sub(root, _B + "Note", note)
    _sub(root, _B + "DocumentCurrencyCode", cur)
    if cur != "RON":
        _sub(root, _B + "TaxCurrencyCode", "RON")
    if d.period_start and d.period_end:
        period = _sub(root, _C + "InvoicePeriod")
        _sub(period, _B + "StartDate", d.period_start.isoformat())
        _sub(period, _B + "EndDate", d.period_end.isoformat())
    if credit:
        if not d.credited_number:
            raise UblError(
                "credited_invoice", "a credit note must reference the invoice it credits"
            )
        ref = _sub(_sub(root, _C + "BillingReference"), _C + "InvoiceDocumentReference")
        _sub(ref, _B + "ID", _limit(d.credited_number, 200, "credited_invoice"))
        if d.credited_issue_date:
            _sub(ref, _B + "IssueDate", d.credited_issue_date.isoformat())
    if d.contract_number:
        cref = _sub(root, _C + "ContractDocumentReference")
        _sub(cref, _B + "ID", _limit(d.contract_number, 200, "contract_number"))
    for i, annex in enumerate(d.annexes, start=1):
        adr = _sub(root, _C + "AdditionalDocumentReference")
        _sub(adr, _B + "ID", _limit(annex.filename, 200, f"annexes[{i}].filename"))
        if annex.description:
            _sub(adr, _B + "DocumentDescription", _cut(annex.description, 100))
        att = _sub(adr, _C + "Attachment")
        _sub(
            att,
            _B + "EmbeddedDocumentBinaryObject",
            base64.b64encode(annex.content).decode("ascii"),
            mimeCode=annex.mime,
            filename=annex.filename,
        )

    outside_scope = any(li.vat_category == "O" for li in d.lines)
    _seller(root, d)
    _buyer(root, d, outside_scope)
    _delivery(root, d)

    if d.seller.iban:
        pm = _sub(root, _C + "PaymentMeans")
        _sub(pm, _B + "PaymentMeansCode", "42")  # payment to a bank account
        _sub(pm, _B + "PaymentID", d.number[:140])
        acct = _sub(pm, _C + "PayeeFinancialAccount")
        _sub(acct, _B + "ID", d.seller.iban.replace(" ", ""))
        _sub(acct, _B + "Name", _limit(d.seller.name, 200, "seller.name"))
    if not credit and d.due_date:
        terms = _sub(root, _C + "PaymentTerms")
        _sub(terms, _B + "Note", f"Termen de plată: {d.due_date.strftime('%d.%m.%Y')}")

    tax = _sub(root, _C + "TaxTotal")
    _money(tax, "TaxAmount", sign * d.vat_total, cur, "vat_total")
    for r in d.vat_rows:
        st = _sub(tax, _C + "TaxSubtotal")
        _money(st, "TaxableAmount", sign * r.base, cur, "vat_breakdown.base")
        _money(st, "TaxAmount", sign * r.vat, cur, "vat_breakdown.vat")
        _category(st, "TaxCategory", r.category, r.rate, with_reason=True, reason=r.reason)
    if cur != "RON":
        if d.vat_total_ron is None:
            raise UblError("vat_total_ron", f"an invoice in {cur} must state its VAT in RON")
        ron = _sub(root, _C + "TaxTotal")
        _money(ron, "TaxAmount", sign * d.vat_total_ron, "RON", "vat_total_ron")

    totals = _sub(root, _C + "LegalMonetaryTotal")
    _money(totals, "LineExtensionAmount", sign * d.net_total, cur, "net_total")
    _money(totals, "TaxExclusiveAmount", sign * d.net_total, cur, "net_total")
    _money(totals, "TaxInclusiveAmount", sign * d.gross_total, cur, "gross_total")
    _money(totals, "PayableAmount", sign * d.gross_total, cur, "gross_total")

    for li in d.lines:
        _line(root, li, cur, sign, credit)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _line(root: etree._Element, li: Line, cur: str, sign: Decimal, credit: bool) -> None:
    field = f"lines[{li.position}]"
    el = _sub(root, _C + ("CreditNoteLine" if credit else "InvoiceLine"))
    _sub(el, _B + "ID", str(li.position))
    _sub(
        el,
        _B + ("CreditedQuantity" if credit else "InvoicedQuantity"),
        _plain(sign * li.quantity),
        unitCode=li.unit_code,
    )
    _money(el, "LineExtensionAmount", sign * li.net, cur, f"{field}.net")
    for amount, reason in li.allowances:
        # BG-27: the line's net (BT-131) is quantity x price minus these; a reason is required
        # (BR-42) and code 95 ("discount", UNCL5189) names it for the buyer's software.
        ac = _sub(el, _C + "AllowanceCharge")
        _sub(ac, _B + "ChargeIndicator", "false")
        _sub(ac, _B + "AllowanceChargeReasonCode", "95")
        _sub(ac, _B + "AllowanceChargeReason", _limit(reason, 100, f"{field}.allowance"))
        _money(ac, "Amount", sign * amount, cur, f"{field}.allowance")
    item = _sub(el, _C + "Item")
    if li.description and li.description.strip() != li.name.strip():
        _sub(item, _B + "Description", _cut(li.description, DESCRIPTION_MAX))
    _sub(item, _B + "Name", _limit(li.name, 100, f"{field}.name"))
    if li.product_code:
        _sub(_sub(item, _C + "SellersItemIdentification"), _B + "ID", li.product_code)
    _category(item, "ClassifiedTaxCategory", li.vat_category, li.vat_rate, with_reason=False)
    if li.unit_price < 0:
        raise UblError(f"{field}.unit_price", "a unit price cannot be negative (BR-27)")
    price = _sub(el, _C + "Price")
    _sub(price, _B + "PriceAmount", _plain(li.unit_price, 2), currencyID=cur)
