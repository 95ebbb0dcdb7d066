"""The application's own e-Factura check: UBL 2.1 XSD plus the CIUS-RO / EN16931 rules that matter.

ANAF runs the XSD and a schematron (CIUS-RO 1.0.9, embedding EN16931 1.3.8). Running that
schematron needs an XSLT 2.0 engine and ~1 s to compile, so the application re-implements in
Python the rules an invoice of this application can break, with ANAF's rule ids, and keeps
the official checker for the test suite (tests/documents assert that both agree on ANAF's
samples and on every XML the tests generate).

``check_xml(bytes) -> list[Finding]``: an empty list means ANAF would accept it.

The Python rules are the ones an invoice of this application can break, plus every rule the
agreement test (tests/documents/test_own_check_agreement.py) meets on ANAF's samples and on
real-world files. What they leave out (code lists: currencies, units, countries, payment
means, exemption codes...; allowance/charge details; line-level allowances; electronic
addresses) can be checked by the official rules at run time: set
``RECURENT_EFACTURA_OFFICIAL_XSLT`` to ANAF's compiled schematron
(``anaf-EN16931-CIUS_RO-UBL-validation-1.0.9.schxslt.xsl``) and install ``saxonche``; every
fatal finding of it that the Python rules did not already name is added (1-3 s once per
process to compile, then 3-25 ms per invoice; the Python check alone takes about 3 ms).
``check_party(snapshot, role) -> list[(field, message)]``: a company or client whose data
cannot make a valid e-Factura (no street, a Bucharest address without its sector...),
for the web forms to show when it is saved rather than when an invoice goes out.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from lxml import etree

from recurent.engine import geo
from recurent.engine.parties import check_party

from .ubl import CAC, CBC, CIUS_RO, NS_CREDIT, NS_INVOICE

XSD_DIR = Path(__file__).resolve().parent / "xsd"
_C = f"{{{CAC}}}"
_B = f"{{{CBC}}}"
SECTORS = set(geo.BUCHAREST_SECTORS)
# BR-CL-24 (MIME codes of attached documents, BT-125).
MIME_CODES = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.spreadsheet",
}
VAT_RULE_PREFIX = {
    "S": "BR-S",
    "Z": "BR-Z",
    "E": "BR-E",
    "AE": "BR-AE",
    "K": "BR-IC",
    "G": "BR-G",
    "O": "BR-O",
    "L": "BR-AF",
    "M": "BR-AG",
}
NEEDS_REASON = {"E", "AE", "K", "G", "O"}
ZERO_VAT = {"Z", "E", "AE", "K", "G", "O"}  # BR-x-09: the VAT amount of their breakdown is 0
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str
    flag: str = "fatal"

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}"


def xsd_dir() -> Path:
    # Tests point this at ../shared/efactura/ubl-2.1-xsd to prove the shipped copy is the same.
    explicit = getattr(settings, "RECURENT_UBL_XSD_DIR", None) if settings.configured else None
    return Path(explicit or XSD_DIR)


def official_xslt() -> str:
    if not settings.configured:
        return ""
    return str(getattr(settings, "RECURENT_EFACTURA_OFFICIAL_XSLT", "") or "")


_SVRL = "http://purl.oclc.org/dsdl/svrl"
_official_lock = threading.Lock()


@cache
def _official_rules(xslt: str) -> Any:
    try:
        from saxonche import PySaxonProcessor
    except ImportError as e:  # a setting that cannot work must say so, not pass silently
        raise ImproperlyConfigured(
            "RECURENT_EFACTURA_OFFICIAL_XSLT is set but saxonche is not installed"
        ) from e
    if not Path(xslt).is_file():
        raise ImproperlyConfigured(f"RECURENT_EFACTURA_OFFICIAL_XSLT: no file at {xslt}")
    proc = PySaxonProcessor(license=False)
    return proc, proc.new_xslt30_processor().compile_stylesheet(stylesheet_file=xslt)


def official_findings(data: bytes, xslt: str) -> list[Finding]:
    """ANAF's own schematron on ``data`` (failed asserts and successful reports, warnings
    left out), the way ../shared/efactura/validate.py runs it."""
    # One compiled stylesheet per process, used by one thread at a time (Saxon/C's
    # processor is not documented as thread-safe).
    with _official_lock:
        proc, rules = _official_rules(xslt)
        node = proc.parse_xml(xml_text=data.decode("utf-8", errors="replace"))
        svrl = etree.fromstring(rules.transform_to_string(xdm_node=node).encode())
    out = []
    for el in svrl.iter(f"{{{_SVRL}}}failed-assert", f"{{{_SVRL}}}successful-report"):
        if (el.get("flag") or "fatal") != "warning":
            out.append(Finding(el.get("id") or "?", " ".join("".join(el.itertext()).split())[:300]))
    return out


@cache
def _schema(root_name: str, where: str) -> etree.XMLSchema:
    name = "UBL-Invoice-2.1.xsd" if root_name == "Invoice" else "UBL-CreditNote-2.1.xsd"
    return etree.XMLSchema(etree.parse(str(Path(where) / "maindoc" / name)))


def _t(el: etree._Element | None) -> str:
    return " ".join((el.text or "").split()) if el is not None else ""


def _dec(el: etree._Element | None) -> Decimal | None:
    if el is None:
        return None
    try:
        return Decimal((el.text or "").strip())
    except InvalidOperation:
        return None


def _sum(els: list[etree._Element]) -> Decimal:
    return sum((_dec(e) or Decimal(0) for e in els), Decimal(0))


def _decimals(el: etree._Element) -> int:
    text = (el.text or "").strip()
    return len(text.partition(".")[2])


# Amount elements and the decimal rules ANAF names for them (EN16931 id, CIUS-RO id).
_DEC_TOTALS = {
    "LineExtensionAmount": "09",
    "AllowanceTotalAmount": "10",
    "ChargeTotalAmount": "11",
    "TaxExclusiveAmount": "12",
    "TaxInclusiveAmount": "14",
    "PrepaidAmount": "16",
    "PayableRoundingAmount": "17",
    "PayableAmount": "18",
}

# (path from the root, maximum length, rule id, what it is)
_LENGTHS = [
    (f"{_B}ID", 200, "BR-RO-L155", "Invoice number (BT-1)"),
    (f"{_C}ContractDocumentReference/{_B}ID", 200, "BR-RO-L0302", "Contract reference (BT-12)"),
    (f"{_C}OrderReference/{_B}ID", 200, "BR-RO-L0303", "Purchase order reference (BT-13)"),
    (f"{_C}AccountingSupplierParty/{_C}Party/{_C}PartyLegalEntity/{_B}RegistrationName", 200, "BR-RO-L201", "Seller name (BT-27)"),
    (f"{_C}AccountingCustomerParty/{_C}Party/{_C}PartyLegalEntity/{_B}RegistrationName", 200, "BR-RO-L203", "Buyer name (BT-44)"),
    (f"{_C}AccountingSupplierParty/{_C}Party/{_C}PostalAddress/{_B}StreetName", 150, "BR-RO-L151", "Seller address line 1 (BT-35)"),
    (f"{_C}AccountingCustomerParty/{_C}Party/{_C}PostalAddress/{_B}StreetName", 150, "BR-RO-L152", "Buyer address line 1 (BT-50)"),
    (f"{_C}AccountingSupplierParty/{_C}Party/{_C}PostalAddress/{_B}AdditionalStreetName", 100, "BR-RO-L1002", "Seller address line 2 (BT-36)"),
    (f"{_C}AccountingCustomerParty/{_C}Party/{_C}PostalAddress/{_B}AdditionalStreetName", 100, "BR-RO-L1007", "Buyer address line 2 (BT-51)"),
    (f"{_C}AccountingSupplierParty/{_C}Party/{_C}PostalAddress/{_B}CityName", 50, "BR-RO-L0501", "Seller city (BT-37)"),
    (f"{_C}AccountingCustomerParty/{_C}Party/{_C}PostalAddress/{_B}CityName", 50, "BR-RO-L0502", "Buyer city (BT-52)"),
    (f"{_C}AccountingSupplierParty/{_C}Party/{_C}PostalAddress/{_B}PostalZone", 20, "BR-RO-L0201", "Seller post code (BT-38)"),
    (f"{_C}AccountingCustomerParty/{_C}Party/{_C}PostalAddress/{_B}PostalZone", 20, "BR-RO-L0202", "Buyer post code (BT-53)"),
    (f"{_C}AccountingSupplierParty/{_C}Party/{_C}Contact/{_B}Telephone", 100, "BR-RO-L1005", "Seller telephone (BT-42)"),
    (f"{_C}AccountingSupplierParty/{_C}Party/{_C}Contact/{_B}ElectronicMail", 100, "BR-RO-L1006", "Seller email (BT-43)"),
    (f"{_C}PaymentTerms/{_B}Note", 300, "BR-RO-L301", "Payment terms (BT-20)"),
    (f"{_C}PaymentMeans/{_B}PaymentID", 140, "BR-RO-L140", "Remittance information (BT-83)"),
    (f"{_C}PaymentMeans/{_C}PayeeFinancialAccount/{_B}Name", 200, "BR-RO-L208", "Payment account name (BT-85)"),
    (f"{_C}BillingReference/{_C}InvoiceDocumentReference/{_B}ID", 200, "BR-RO-L156", "Preceding invoice number (BT-25)"),
    (f"{_C}TaxTotal/{_C}TaxSubtotal/{_C}TaxCategory/{_B}TaxExemptionReason", 100, "BR-RO-L1019", "VAT exemption reason text (BT-120)"),
    (f"{_C}AdditionalDocumentReference/{_B}ID", 200, "BR-RO-L0308", "Supporting document reference (BT-122)"),
    (f"{_C}AdditionalDocumentReference/{_B}DocumentDescription", 100, "BR-RO-L1020", "Supporting document description (BT-123)"),
    (f"{_C}Delivery/{_C}DeliveryLocation/{_C}Address/{_B}StreetName", 150, "BR-RO-L154", "Deliver to address line 1 (BT-75)"),
    (f"{_C}Delivery/{_C}DeliveryLocation/{_C}Address/{_B}AdditionalStreetName", 100, "BR-RO-L1014", "Deliver to address line 2 (BT-76)"),
    (f"{_C}Delivery/{_C}DeliveryLocation/{_C}Address/{_C}AddressLine/{_B}Line", 100, "BR-RO-L1015", "Deliver to address line 3 (BT-165)"),
    (f"{_C}Delivery/{_C}DeliveryLocation/{_C}Address/{_B}CityName", 50, "BR-RO-L0504", "Deliver to city (BT-77)"),
    (f"{_C}Delivery/{_C}DeliveryLocation/{_C}Address/{_B}PostalZone", 20, "BR-RO-L0204", "Deliver to post code (BT-78)"),
    (f"{_C}Delivery/{_C}DeliveryParty/{_C}PartyName/{_B}Name", 200, "BR-RO-L207", "Deliver to party name (BT-70)"),
]  # fmt: skip
_LINE_LENGTHS = [
    (f"{_C}Item/{_B}Name", 100, "BR-RO-L1024", "Item name (BT-153)"),
    (f"{_C}Item/{_B}Description", 200, "BR-RO-L212", "Item description (BT-154)"),
    (f"{_B}Note", 300, "BR-RO-L303", "Invoice line note (BT-127)"),
]
_DATES = {
    "IssueDate": "BR-RO-DT001",
    "TaxPointDate": "BR-RO-DT002",
    "DueDate": "BR-RO-DT003",
    "PaymentDueDate": "BR-RO-DT003_CN",
    "ActualDeliveryDate": "BR-RO-DT004",
    "StartDate": "BR-RO-DT005",
    "EndDate": "BR-RO-DT006",
}


def check_xml(data: bytes) -> list[Finding]:
    """Every finding ANAF's rules would report as fatal for this XML (XSD first)."""
    try:
        doc = etree.fromstring(data)
    except etree.XMLSyntaxError as e:
        return [Finding("XML", f"not well-formed XML: {e}")]
    qn = etree.QName(doc)
    if (qn.namespace, qn.localname) not in {(NS_INVOICE, "Invoice"), (NS_CREDIT, "CreditNote")}:
        return [
            Finding("XSD", f"root element {qn.localname} is neither an Invoice nor a CreditNote")
        ]
    findings: list[Finding] = []
    schema = _schema(qn.localname, str(xsd_dir()))
    if not schema.validate(doc):
        findings.extend(
            Finding("XSD", f"line {e.line}: {e.message}")
            for e in schema.error_log  # type: ignore[attr-defined]
        )
    findings.extend(_rules(doc, credit=qn.localname == "CreditNote"))
    xslt = official_xslt()
    if xslt and not any(f.rule == "XSD" for f in findings):
        named = {f.rule for f in findings}
        findings.extend(f for f in official_findings(data, xslt) if f.rule not in named)
    return findings


def check_file(path: str | Path) -> list[Finding]:
    return check_xml(Path(path).read_bytes())


def _rules(doc: etree._Element, *, credit: bool) -> list[Finding]:
    out: list[Finding] = []

    def fail(rule: str, message: str) -> None:
        out.append(Finding(rule, message))

    find, findall = doc.find, doc.findall
    # --- document level -------------------------------------------------------------
    if _t(find(_B + "CustomizationID")) != CIUS_RO:
        fail("BR-RO-001", f"Specification identifier (BT-24) must be {CIUS_RO}")
    number = _t(find(_B + "ID"))
    if not number:
        fail("BR-02", "An Invoice shall have an Invoice number (BT-1)")
    elif not re.search(r"[0-9]", number):
        fail("BR-RO-010", "Invoice number (BT-1) must include at least one digit")
    if credit:
        if _t(find(_B + "CreditNoteTypeCode")) != "381":
            fail("BR-RO-020_2", "A credit note's type code (BT-3) must be 381")
    elif _t(find(_B + "InvoiceTypeCode")) not in {"380", "384", "389", "751"}:
        fail("BR-RO-020_1", "Invoice type code (BT-3) must be 380, 384, 389 or 751")
    for el in doc.iter(*(_B + n for n in _DATES)):
        text = (el.text or "").strip()
        ok = len(text) == 10
        if ok:
            try:
                date.fromisoformat(text)
            except ValueError:
                ok = False
        if not ok:
            rule = _DATES[etree.QName(el).localname]
            fail(
                rule, f"A date must be written YYYY-MM-DD ({etree.QName(el).localname} = {text!r})"
            )
    notes = findall(_B + "Note")
    if len(notes) > 20:
        fail("BR-RO-A020", "At most 20 invoice notes (BG-1) are allowed")
    for n in notes:
        if len(_t(n)) > 300:
            fail("BR-RO-L302", "An invoice note (BT-22) has at most 300 characters")
    for path, limit, rule, label in _LENGTHS:
        for el in findall(path):
            if len(_t(el)) > limit:
                fail(rule, f"{label} has at most {limit} characters (got {len(_t(el))})")
    refs = findall(_C + "AdditionalDocumentReference")
    if len(refs) > 50:
        fail("BR-RO-A051", "At most 50 supporting documents (BG-24) are allowed")
    for ref in refs:
        obj = ref.find(f"{_C}Attachment/{_B}EmbeddedDocumentBinaryObject")
        if obj is not None:
            if obj.get("mimeCode") not in MIME_CODES:
                fail("BR-CL-24", f"Attached document type {obj.get('mimeCode')!r} is not accepted")
            if len(obj.get("filename") or "") > 200:
                fail(
                    "BR-RO-L211",
                    "Attached document file name (BT-125-2) has at most 200 characters",
                )

    # --- currencies ------------------------------------------------------------------
    cur = _t(find(_B + "DocumentCurrencyCode"))
    tax_cur = _t(find(_B + "TaxCurrencyCode"))
    if not cur:
        fail("BR-05", "An Invoice shall have an Invoice currency code (BT-5)")
    if cur and cur != "RON" and tax_cur != "RON":
        fail(
            "BR-RO-030",
            f"An invoice in {cur} must have the VAT accounting currency (BT-6) RON",
        )
    tax_totals = findall(_C + "TaxTotal")
    by_cur = {
        tt.find(_B + "TaxAmount").get("currencyID"): tt
        for tt in tax_totals
        if tt.find(_B + "TaxAmount") is not None
    }  # type: ignore[union-attr]
    if tax_cur and tax_cur not in by_cur:
        fail(
            "BR-53",
            f"With a VAT accounting currency (BT-6) the total VAT in {tax_cur} (BT-111) must be given",
        )

    # --- parties ---------------------------------------------------------------------
    seller = find(f"{_C}AccountingSupplierParty/{_C}Party")
    buyer = find(f"{_C}AccountingCustomerParty/{_C}Party")
    _party_rules(seller, "seller", fail)
    _party_rules(buyer, "buyer", fail)
    rep_addr = find(f"{_C}TaxRepresentativeParty/{_C}PostalAddress")
    if rep_addr is not None and _t(rep_addr.find(f"{_C}Country/{_B}IdentificationCode")) == "RO":
        rep_county = _t(rep_addr.find(_B + "CountrySubentity"))
        if rep_county not in geo.COUNTIES:
            fail(
                "BR-RO-170", "The tax representative's county must be an ISO 3166-2 code (RO-CJ...)"
            )
        elif rep_county == "RO-B" and _t(rep_addr.find(_B + "CityName")) not in SECTORS:
            fail(
                "BR-RO-160", "In Bucharest the tax representative's city must be SECTOR1 to SECTOR6"
            )

    lines = findall(_C + ("CreditNoteLine" if credit else "InvoiceLine"))
    if not lines:
        fail("BR-16", "An Invoice shall have at least one Invoice line (BG-25)")
    line_cats = [_t(li.find(f"{_C}Item/{_C}ClassifiedTaxCategory/{_B}ID")) for li in lines]
    allowances = [
        a for a in findall(_C + "AllowanceCharge") if _t(a.find(_B + "ChargeIndicator")) == "false"
    ]
    charges = [
        a for a in findall(_C + "AllowanceCharge") if _t(a.find(_B + "ChargeIndicator")) == "true"
    ]
    doc_cats = [_t(a.find(f"{_C}TaxCategory/{_B}ID")) for a in allowances + charges]
    vat_like = {"S", "Z", "E", "AE", "K", "G", "L", "M"}

    def vat_ids(party: etree._Element | None) -> list[str]:
        if party is None:
            return []
        return [
            _t(p.find(_B + "CompanyID"))
            for p in party.findall(_C + "PartyTaxScheme")
            if _t(p.find(f"{_C}TaxScheme/{_B}ID")) == "VAT" and _t(p.find(_B + "CompanyID"))
        ]

    def tax_ids(party: etree._Element | None) -> list[str]:
        if party is None:
            return []
        return [
            _t(p.find(_B + "CompanyID"))
            for p in party.findall(_C + "PartyTaxScheme")
            if _t(p.find(_B + "CompanyID"))
        ]

    rep = find(_C + "TaxRepresentativeParty")
    # ANAF's BR-RO-065/120 look at invoice lines only (their XPath names cac:InvoiceLine).
    ro_cats = set(doc_cats) | (set() if credit else set(line_cats))
    if ro_cats & vat_like and not (tax_ids(seller) or tax_ids(rep)):
        fail(
            "BR-RO-065",
            "The Seller VAT identifier (BT-31) or tax registration identifier (BT-32) must be given",
        )
    if ro_cats & vat_like and buyer is not None:
        if not (_t(buyer.find(f"{_C}PartyLegalEntity/{_B}CompanyID")) or tax_ids(buyer)):
            fail(
                "BR-RO-120",
                "The Buyer legal registration identifier (BT-47) or VAT identifier (BT-48) must be given",
            )
    # Who must be identified for each VAT category (BR-x-02 for lines, -03 allowances, -04
    # charges). As ANAF runs them: for S, Z, E and AE any seller tax identifier will do, the
    # VAT id (BT-31) or the tax registration id (BT-32, a non-VAT payer's CUI); K and G need
    # the seller's VAT id; K also the buyer's VAT id, AE the buyer's VAT or legal id.
    seller_any = bool(tax_ids(seller) or vat_ids(rep))
    seller_vat = bool(vat_ids(seller) or vat_ids(rep))
    buyer_vat = bool(vat_ids(buyer))
    buyer_legal = buyer is not None and bool(_t(buyer.find(f"{_C}PartyLegalEntity/{_B}CompanyID")))
    need = {
        "S": (seller_any, "the Seller VAT identifier (BT-31) or tax registration identifier (BT-32)"),
        "Z": (seller_any, "the Seller VAT identifier (BT-31) or tax registration identifier (BT-32)"),
        "E": (seller_any, "the Seller VAT identifier (BT-31) or tax registration identifier (BT-32)"),
        "AE": (seller_any and (buyer_vat or buyer_legal),
               "the Seller VAT or tax registration identifier and the Buyer VAT identifier (BT-48) or legal registration identifier (BT-47)"),
        "K": (seller_vat and buyer_vat, "the Seller VAT identifier (BT-31) and the Buyer VAT identifier (BT-48)"),
        "G": (seller_vat, "the Seller VAT identifier (BT-31)"),
    }  # fmt: skip
    for cats, num, what in (
        (set(line_cats), "02", "lines"),
        ({_t(a.find(f"{_C}TaxCategory/{_B}ID")) for a in allowances}, "03", "document allowances"),
        ({_t(a.find(f"{_C}TaxCategory/{_B}ID")) for a in charges}, "04", "document charges"),
    ):
        for cat in sorted(cats & need.keys()):
            ok, who = need[cat]
            if not ok:
                fail(
                    f"{VAT_RULE_PREFIX[cat]}-{num}",
                    f"An invoice with {what} in VAT category {cat} must carry {who}",
                )
    for vid in vat_ids(seller) + vat_ids(buyer) + vat_ids(rep):
        if not re.match(r"^[A-Z]{2}", vid):
            fail("BR-CO-09", f"VAT identifier {vid!r} must start with a country prefix (e.g. RO)")
    if "O" in line_cats and (vat_ids(seller) or vat_ids(buyer) or vat_ids(rep)):
        fail(
            "BR-O-02",
            "An invoice outside the VAT scope (O) must not carry Seller or Buyer VAT identifiers",
        )

    # --- lines -----------------------------------------------------------------------
    line_sum = Decimal(0)
    bases: dict[tuple[str, Decimal | None], Decimal] = defaultdict(Decimal)
    for li, cat in zip(lines, line_cats, strict=True):
        lid = _t(li.find(_B + "ID")) or "?"
        qty = li.find(_B + ("CreditedQuantity" if credit else "InvoicedQuantity"))
        if qty is None or not _t(qty):
            fail("BR-22", f"Line {lid}: the invoiced quantity (BT-129) is missing")
        elif not qty.get("unitCode"):
            fail("BR-23", f"Line {lid}: the unit of measure (BT-130) is missing")
        net = _dec(li.find(_B + "LineExtensionAmount"))
        if net is None:
            fail("BR-24", f"Line {lid}: the line net amount (BT-131) is missing")
            net = Decimal(0)
        line_sum += net
        if not _t(li.find(f"{_C}Item/{_B}Name")):
            fail("BR-25", f"Line {lid}: the item name (BT-153) is missing")
        price = _dec(li.find(f"{_C}Price/{_B}PriceAmount"))
        if price is None:
            fail("BR-26", f"Line {lid}: the item net price (BT-146) is missing")
        elif price < 0:
            fail("BR-27", f"Line {lid}: the item net price (BT-146) cannot be negative")
        if not cat:
            fail("BR-CO-04", f"Line {lid}: the VAT category (BT-151) is missing")
        pct = _dec(li.find(f"{_C}Item/{_C}ClassifiedTaxCategory/{_B}Percent"))
        _rate_rules(cat, pct, f"Line {lid}", "05", fail)
        for path, limit, rule, label in _LINE_LENGTHS:
            el = li.find(path)
            if el is not None and len(_t(el)) > limit:
                fail(rule, f"Line {lid}: {label} has at most {limit} characters")
        bases[_key(cat, pct)] += net
    for a in allowances + charges:
        amount = _dec(a.find(_B + "Amount")) or Decimal(0)
        cat = _t(a.find(f"{_C}TaxCategory/{_B}ID"))
        pct = _dec(a.find(f"{_C}TaxCategory/{_B}Percent"))
        bases[_key(cat, pct)] += amount if a in charges else -amount

    # --- VAT breakdown ---------------------------------------------------------------
    doc_tax = by_cur.get(cur)
    subtotals = doc_tax.findall(_C + "TaxSubtotal") if doc_tax is not None else []
    seen_cats = set()
    for st in subtotals:
        cat = _t(st.find(f"{_C}TaxCategory/{_B}ID"))
        seen_cats.add(cat)
        pct = _dec(st.find(f"{_C}TaxCategory/{_B}Percent"))
        taxable = _dec(st.find(_B + "TaxableAmount")) or Decimal(0)
        vat = _dec(st.find(_B + "TaxAmount")) or Decimal(0)
        prefix = VAT_RULE_PREFIX.get(cat, "BR-CO")
        _rate_rules(cat, pct, "VAT breakdown", "06", fail)
        expected_base = bases.get(_key(cat, pct), Decimal(0))
        # ANAF's BR-S-08 tolerates a difference under one unit; the other categories do not.
        if (abs(taxable - expected_base) >= 1) if cat == "S" else (taxable != expected_base):
            fail(
                f"{prefix}-08",
                f"VAT breakdown {cat} {pct if pct is not None else ''}: taxable amount {taxable} is "
                f"not the sum of the lines in that category ({bases.get(_key(cat, pct), Decimal(0))})",
            )
        if pct is not None:
            expected = (taxable * pct / 100).quantize(CENT, rounding=ROUND_HALF_UP)
            # BR-CO-17 as ANAF runs it: within one unit of taxable x rate (rounded).
            if abs(abs(vat) - abs(expected)) >= 1 or (round(pct) == 0 and round(vat) != 0):
                fail(
                    "BR-CO-17",
                    f"VAT breakdown {cat} {pct}%: VAT {vat} is not {taxable} x {pct}% = {expected}",
                )
        if cat in ZERO_VAT and vat != 0:
            fail(
                f"{prefix}-09",
                f"VAT category {cat} carries no VAT: its VAT amount must be 0 (got {vat})",
            )
        if cat in NEEDS_REASON:
            tc = st.find(_C + "TaxCategory")
            if tc is None or not (
                _t(tc.find(_B + "TaxExemptionReasonCode")) or _t(tc.find(_B + "TaxExemptionReason"))
            ):
                fail(f"{prefix}-10", f"VAT category {cat} needs an exemption reason (BT-120/121)")
    for cat in sorted(set(line_cats) - seen_cats):
        if cat:
            fail(
                f"{VAT_RULE_PREFIX.get(cat, 'BR-CO')}-01",
                f"Lines in VAT category {cat} need a VAT breakdown (BG-23) for that category",
            )
    if "O" in seen_cats and len(seen_cats) > 1:
        fail("BR-O-11", "An invoice with category O cannot have other VAT categories")
    if "K" in seen_cats:
        if not (
            len(_t(find(f"{_C}Delivery/{_B}ActualDeliveryDate"))) > 1
            or len(find(_C + "InvoicePeriod") if find(_C + "InvoicePeriod") is not None else ()) > 0
        ):
            fail(
                "BR-IC-11",
                "An intra-community supply (K) needs the actual delivery date (BT-72) "
                "or the invoicing period (BG-14)",
            )
        country = _t(
            find(
                f"{_C}Delivery/{_C}DeliveryLocation/{_C}Address/{_C}Country/{_B}IdentificationCode"
            )
        )
        if len(country) <= 1:
            fail(
                "BR-IC-12",
                "An intra-community supply (K) needs the deliver to country code (BT-80)",
            )
    for daddr in findall(f"{_C}Delivery/{_C}DeliveryLocation/{_C}Address"):
        _delivery_address_rules(daddr, fail)

    # --- totals ----------------------------------------------------------------------
    lmt = find(_C + "LegalMonetaryTotal")
    payable = _dec(lmt.find(_B + "PayableAmount")) if lmt is not None else None
    # BR-CO-25 as ANAF's rules state it: invoices only (its context is /ubl:Invoice).
    if (
        not credit
        and payable is not None
        and payable > 0
        and doc.find(f".//{_B}DueDate") is None
        and doc.find(f".//{_C}PaymentTerms/{_B}Note") is None
    ):
        fail(
            "BR-CO-25",
            "An invoice with an amount due (BT-115) must give the payment due date (BT-9) "
            "or the payment terms (BT-20)",
        )
    if lmt is None:
        fail("BR-12", "The document totals (BG-22) are missing")
    else:

        def amt(name: str) -> Decimal:
            return _dec(lmt.find(_B + name)) or Decimal(0)

        allow_total, charge_total = (
            _sum([a.find(_B + "Amount") for a in allowances]),
            _sum([a.find(_B + "Amount") for a in charges]),
        )
        if amt("LineExtensionAmount") != line_sum:
            fail(
                "BR-CO-10",
                f"Sum of line net amounts (BT-106) {amt('LineExtensionAmount')} is not "
                f"the sum of the lines ({line_sum})",
            )
        if (
            lmt.find(_B + "AllowanceTotalAmount") is not None
            and amt("AllowanceTotalAmount") != allow_total
        ):
            fail("BR-CO-11", "Sum of allowances on document level (BT-107) does not add up")
        if (
            lmt.find(_B + "ChargeTotalAmount") is not None
            and amt("ChargeTotalAmount") != charge_total
        ):
            fail("BR-CO-12", "Sum of charges on document level (BT-108) does not add up")
        exclusive = amt("TaxExclusiveAmount")
        if exclusive != amt("LineExtensionAmount") - amt("AllowanceTotalAmount") + amt(
            "ChargeTotalAmount"
        ):
            fail(
                "BR-CO-13",
                "Total without VAT (BT-109) must be the line total minus allowances plus charges",
            )
        total_vat = (
            (_dec(doc_tax.find(_B + "TaxAmount")) or Decimal(0))
            if doc_tax is not None
            else Decimal(0)
        )
        if doc_tax is not None and total_vat != _sum(
            [st.find(_B + "TaxAmount") for st in subtotals]
        ):
            fail(
                "BR-CO-14",
                f"Total VAT (BT-110) {total_vat} is not the sum of the VAT breakdown",
            )
        if amt("TaxInclusiveAmount") != exclusive + total_vat:
            fail(
                "BR-CO-15",
                f"Total with VAT (BT-112) {amt('TaxInclusiveAmount')} is not "
                f"{exclusive} + {total_vat}",
            )
        if amt("PayableAmount") != amt("TaxInclusiveAmount") - amt("PrepaidAmount") + amt(
            "PayableRoundingAmount"
        ):
            fail(
                "BR-CO-16",
                "Amount due (BT-115) must be the total with VAT minus paid amounts plus rounding",
            )
        for name, num in _DEC_TOTALS.items():
            el = lmt.find(_B + name)
            if el is not None and _decimals(el) > 2:
                _dec_fail(fail, num, name)
    for tt in tax_totals:
        el = tt.find(_B + "TaxAmount")
        if el is not None and _decimals(el) > 2:
            _dec_fail(fail, "13" if el.get("currencyID") == cur else "15", "TaxAmount")
        for st in tt.findall(_C + "TaxSubtotal"):
            for name, ro in (("TaxableAmount", "1009"), ("TaxAmount", "1010")):
                sub = st.find(_B + name)
                if sub is not None and _decimals(sub) > 2:
                    fail(f"BR-DEC-RO-{ro}", f"{name} has at most 2 decimals")
                    fail("UBL-DT-01", "Amounts shall be decimal up to two fraction digits")
    for li in lines:
        el = li.find(_B + "LineExtensionAmount")
        if el is not None and _decimals(el) > 2:
            _dec_fail(fail, "23", "line LineExtensionAmount")
    for a in allowances + charges:
        for name in ("Amount", "BaseAmount"):
            el = a.find(_B + name)
            if el is not None and _decimals(el) > 2:
                fail("UBL-DT-01", "Amounts shall be decimal up to two fraction digits")
    return out


def _dec_fail(fail: Any, num: str, name: str) -> None:
    fail(f"BR-DEC-{num}", f"{name} has at most 2 decimals")
    fail(f"BR-DEC-RO-{num}", f"{name} has at most 2 decimals")
    fail("UBL-DT-01", "Amounts shall be decimal up to two fraction digits")


def _key(cat: str, pct: Decimal | None) -> tuple[str, Decimal | None]:
    # EN16931 groups standard-rated amounts per rate and every other category as one group.
    return (cat, pct.normalize() if cat == "S" and pct is not None else None)


def _rate_rules(cat: str, pct: Decimal | None, where: str, num: str, fail: Any) -> None:
    prefix = VAT_RULE_PREFIX.get(cat)
    if prefix is None:
        return
    if cat == "S":
        if pct is None or pct <= 0:
            fail(f"BR-S-{num}", f"{where}: a standard-rated (S) VAT rate must be greater than 0")
    elif cat == "O":
        if pct is not None:
            fail(f"BR-O-{num}", f"{where}: category O (outside the VAT scope) has no VAT rate")
    elif cat in {"Z", "E", "AE", "K", "G"} and (pct is None or pct != 0):
        fail(f"{prefix}-{num}", f"{where}: VAT category {cat} has a VAT rate of 0")


def _party_rules(party: etree._Element | None, role: str, fail: Any) -> None:
    seller = role == "seller"
    if party is None:
        fail("BR-06" if seller else "BR-07", f"The {role} is missing")
        return
    if not _t(party.find(f"{_C}PartyLegalEntity/{_B}RegistrationName")):
        fail(
            "BR-06" if seller else "BR-07",
            f"The {role} name (BT-{27 if seller else 44}) is missing",
        )
    addr = party.find(_C + "PostalAddress")
    if addr is None:
        fail("BR-08" if seller else "BR-10", f"The {role} postal address is missing")
    street = _t(addr.find(_B + "StreetName")) if addr is not None else ""
    city = _t(addr.find(_B + "CityName")) if addr is not None else ""
    country = _t(addr.find(f"{_C}Country/{_B}IdentificationCode")) if addr is not None else ""
    county = _t(addr.find(_B + "CountrySubentity")) if addr is not None else ""
    if not street:
        fail(
            "BR-RO-081" if seller else "BR-RO-082",
            f"The {role} street (address line 1) must be given",
        )
    if not city:
        fail("BR-RO-091" if seller else "BR-RO-092", f"The {role} city must be given")
    if addr is not None and not country:
        fail("BR-09" if seller else "BR-11", f"The {role} country code is missing")
    if country == "RO":
        if county not in geo.COUNTIES:
            fail(
                "BR-RO-110" if seller else "BR-RO-111",
                f"The {role} county must be an ISO 3166-2 code such as RO-CJ or RO-B (got {county!r})",
            )
        elif county == "RO-B" and city not in SECTORS:
            fail(
                "BR-RO-100" if seller else "BR-RO-101",
                f"In Bucharest (RO-B) the {role} city must be SECTOR1 to SECTOR6 (got {city!r})",
            )


def _delivery_address_rules(addr: etree._Element, fail: Any) -> None:
    """BG-15, the deliver-to address: EN16931 BR-57 and CIUS-RO BR-RO-180..212."""
    country = _t(addr.find(f"{_C}Country/{_B}IdentificationCode"))
    county = _t(addr.find(_B + "CountrySubentity"))
    city = _t(addr.find(_B + "CityName"))
    if addr.find(f"{_C}Country/{_B}IdentificationCode") is None:
        fail("BR-57", "The deliver to address (BG-15) needs its country code (BT-80)")
    if not _t(addr.find(_B + "StreetName")):
        fail("BR-RO-180", "The deliver to address (BG-15) needs its first line (BT-75)")
    if not city:
        fail("BR-RO-201", "The deliver to address (BG-15) needs its city (BT-77)")
    if not county:
        fail("BR-RO-211", "The deliver to address (BG-15) needs its country subdivision (BT-79)")
    if country == "RO":
        if county not in geo.COUNTIES:
            fail(
                "BR-RO-212",
                f"The deliver to county must be an ISO 3166-2 code such as RO-CJ (got {county!r})",
            )
        elif county == "RO-B" and city not in SECTORS:
            fail(
                "BR-RO-202",
                f"In Bucharest (RO-B) the deliver to city must be SECTOR1 to SECTOR6 (got {city!r})",
            )


# --- data checks for the forms (the rules themselves: engine/parties.py) ---------------


def check_company(company: Any) -> list[tuple[str, str]]:
    from recurent.invoices.snapshots import seller_snapshot

    return check_party(seller_snapshot(company), "seller")


def check_client(client: Any) -> list[tuple[str, str]]:
    from recurent.invoices.snapshots import buyer_snapshot

    return check_party(buyer_snapshot(client), "buyer")
