"""Supplier invoices: ANAF's ZIPs read into a list a person can use, and a readable PDF.

A ZIP that SPV hands out (``descarcare``, or downloaded by hand from the SPV site) holds one
XML document, named after its upload index (ANAF's id of the invoice, e.g. ``5004552043.xml``),
and ANAF's signature (``semnatura_<index>.xml``). The document is either the supplier's UBL
``Invoice``/``CreditNote`` (CIUS-RO) or, when ANAF refused the upload, ANAF's error file
(``header`` in ``mfp:anaf:dgti:efactura:mesajEroriFactuta:v1``): the first is read into the
``IncomingInvoice`` fields, the second is kept as what it is, with ANAF's messages.

The ZIP is kept as it came (it is the signed original). The PDF view is rendered from the
XML with the same typst template as our own invoices (documents/pdf.py), so a supplier's
invoice reads like ours. Duplicates are kept once: the same ANAF id (upload index) is one
row (a database constraint), and a second upload of the same supplier's number is marked
``duplicate_of`` the first and left out of the list.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from lxml import etree

from recurent.common.safezip import ArchiveRefused, Limits, open_zip
from recurent.documents.snapshot import DocData, Line, Party, VatRow

from .answers import plain_all
from .models import IncomingInvoice, IncomingKind

log = logging.getLogger("recurent.efactura")

NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_INDEX = re.compile(r"^(?:semnatura_)?(\d+)\.xml$", re.IGNORECASE)
MAX_ZIP = 20 * 1024 * 1024  # ANAF's invoices are at most 10 MB; their ZIP with the signature less


class NotReadable(Exception):
    """The file is not an ANAF ZIP with an e-Factura document; the message says why."""


@dataclass(frozen=True)
class SupplierDocument:
    """What one ANAF ZIP holds, read."""

    kind: str  # IncomingKind: invoice | credit_note | errors
    upload_index: str
    xml: bytes
    number: str = ""
    issue_date: date | None = None
    due_date: date | None = None
    currency: str = ""
    supplier_name: str = ""
    supplier_cif: str = ""  # digits for a Romanian CUI, the VAT id as written otherwise
    buyer_name: str = ""
    buyer_cif: str = ""
    net_total: Decimal | None = None
    vat_total: Decimal | None = None
    gross_total: Decimal | None = None
    payable: Decimal | None = None
    vat_breakdown: list[dict[str, str]] = field(default_factory=list)
    lines: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # ANAF's messages (an error file)


# --- reading --------------------------------------------------------------------------------


def _t(el: Any, path: str) -> str:
    found = el.find(path, NS) if el is not None else None
    return (found.text or "").strip() if found is not None and found.text else ""


def _d(el: Any, path: str) -> Decimal | None:
    text = _t(el, path)
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def cui_digits(value: str) -> str:
    """RO18547290 / 18547290 -> 18547290; a foreign VAT id stays as written."""
    v = (value or "").upper().replace(" ", "")
    rest = v.removeprefix("RO")
    return rest if rest.isdigit() else v


def _party_of(root: Any, role: str) -> Any:
    return root.find(f"cac:{role}/cac:Party", NS)


def _party_cif(party: Any) -> str:
    vat = _t(party, "cac:PartyTaxScheme/cbc:CompanyID")
    legal = _t(party, "cac:PartyLegalEntity/cbc:CompanyID")
    # A VAT id (BT-31/BT-48) names the party unambiguously; otherwise its legal id (BT-30/BT-47),
    # which for a Romanian non-VAT payer is its CUI.
    return cui_digits(vat or legal or _t(party, "cbc:EndpointID"))


def _party_name(party: Any) -> str:
    return _t(party, "cac:PartyLegalEntity/cbc:RegistrationName") or _t(
        party, "cac:PartyName/cbc:Name"
    )


def read_zip(content: bytes) -> SupplierDocument:
    """Read one ANAF ZIP. Raises ``NotReadable`` naming what is wrong with the file."""
    if len(content) > MAX_ZIP:
        raise NotReadable(_("the file is larger than an e-Factura ZIP can be"))
    try:
        # Limits on every member, the total and the ratio: an upload can be a ZIP bomb.
        with open_zip(content, Limits(max_member=MAX_ZIP, max_total=2 * MAX_ZIP)) as z:
            names = [n for n in z.namelist() if n.lower().endswith(".xml")]
            members = {n: z.read(n) for n in names}
    except ArchiveRefused as e:
        raise NotReadable(_("not a ZIP file") if e.code == "not_zip" else str(e)) from None
    documents = {n: b for n, b in members.items() if not n.lower().startswith("semnatura")}
    if not documents:
        raise NotReadable(_("the ZIP holds no e-Factura XML (only ANAF's signature, or nothing)"))
    name, xml = sorted(documents.items())[0]
    m = _INDEX.match(name.rsplit("/", 1)[-1])
    index = m.group(1) if m else ""
    return read_xml(xml, upload_index=index)


def read_xml(xml: bytes, *, upload_index: str = "") -> SupplierDocument:
    try:
        root = etree.fromstring(xml, parser=_PARSER)
    except etree.XMLSyntaxError as e:
        raise NotReadable(
            _("the XML in the ZIP cannot be read (%(error)s)") % {"error": e.msg}
        ) from None
    local = etree.QName(root).localname
    if local == "header":
        # ANAF's error file: the supplier's upload was refused, there is no invoice in it.
        errors = [
            (el.get("errorMessage") or "").strip()
            for el in root.iter()
            if etree.QName(el).localname in ("Error", "Errors") and el.get("errorMessage")
        ]
        return SupplierDocument(
            kind=IncomingKind.ERRORS,
            upload_index=root.get("Index_incarcare") or upload_index,
            xml=xml,
            supplier_cif=cui_digits(root.get("Cif_emitent") or ""),
            errors=errors,
        )
    if local not in ("Invoice", "CreditNote"):
        raise NotReadable(
            _("the XML is a <%(tag)s>, not an e-Factura invoice or credit note") % {"tag": local}
        )
    credit = local == "CreditNote"
    currency = _t(root, "cbc:DocumentCurrencyCode")
    supplier = _party_of(root, "AccountingSupplierParty")
    buyer = _party_of(root, "AccountingCustomerParty")
    vat_total = None
    vat_rows: list[dict[str, str]] = []
    for total in root.findall("cac:TaxTotal", NS):
        amount = total.find("cbc:TaxAmount", NS)
        if amount is None or (currency and amount.get("currencyID", currency) != currency):
            continue  # the second TaxTotal: the VAT in lei of a foreign-currency invoice
        vat_total = _d(total, "cbc:TaxAmount")
        for sub in total.findall("cac:TaxSubtotal", NS):
            vat_rows.append(
                {
                    "category": _t(sub, "cac:TaxCategory/cbc:ID"),
                    "rate": _t(sub, "cac:TaxCategory/cbc:Percent") or "0",
                    "base": _t(sub, "cbc:TaxableAmount") or "0",
                    "vat": _t(sub, "cbc:TaxAmount") or "0",
                }
            )
    due = _t(root, "cbc:DueDate") or _t(root, "cac:PaymentMeans/cbc:PaymentDueDate")
    lines = []
    line_tag, qty_tag = (
        ("CreditNoteLine", "CreditedQuantity") if credit else ("InvoiceLine", "InvoicedQuantity")
    )
    for li in root.findall(f"cac:{line_tag}", NS):
        qty = li.find(f"cbc:{qty_tag}", NS)
        lines.append(
            {
                "id": _t(li, "cbc:ID"),
                "name": _t(li, "cac:Item/cbc:Name"),
                "description": _t(li, "cac:Item/cbc:Description"),
                "quantity": (qty.text or "").strip() if qty is not None else "",
                "unit": qty.get("unitCode", "") if qty is not None else "",
                "price": _t(li, "cac:Price/cbc:PriceAmount"),
                "net": _t(li, "cbc:LineExtensionAmount"),
                "category": _t(li, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID"),
                "rate": _t(li, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent"),
            }
        )
    return SupplierDocument(
        kind=IncomingKind.CREDIT_NOTE if credit else IncomingKind.INVOICE,
        upload_index=upload_index,
        xml=xml,
        number=_t(root, "cbc:ID"),
        issue_date=_date(_t(root, "cbc:IssueDate")),
        due_date=_date(due),
        currency=currency,
        supplier_name=_party_name(supplier),
        supplier_cif=_party_cif(supplier),
        buyer_name=_party_name(buyer),
        buyer_cif=_party_cif(buyer),
        net_total=_d(root, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount"),
        vat_total=vat_total,
        gross_total=_d(root, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount"),
        payable=_d(root, "cac:LegalMonetaryTotal/cbc:PayableAmount"),
        vat_breakdown=vat_rows,
        lines=lines,
    )


# --- the readable view ----------------------------------------------------------------------


def _party(p: Any, kind: str = "company") -> Party:
    vat = _t(p, "cac:PartyTaxScheme/cbc:CompanyID")
    return Party(
        name=_party_name(p),
        tax_id=vat or _t(p, "cac:PartyLegalEntity/cbc:CompanyID"),
        street=_t(p, "cac:PostalAddress/cbc:StreetName"),
        city=_t(p, "cac:PostalAddress/cbc:CityName"),
        county=_t(p, "cac:PostalAddress/cbc:CountrySubentity"),
        country=_t(p, "cac:PostalAddress/cac:Country/cbc:IdentificationCode") or "RO",
        postal_code=_t(p, "cac:PostalAddress/cbc:PostalZone"),
        vat_payer=bool(vat),
        email=_t(p, "cac:Contact/cbc:ElectronicMail"),
        phone=_t(p, "cac:Contact/cbc:Telephone"),
        kind=kind,
    )


def _dec(text: str) -> Decimal:
    try:
        return Decimal(text or "0")
    except InvalidOperation:
        return Decimal(0)


def doc_data(doc: SupplierDocument) -> DocData:
    """The supplier's invoice as the snapshot our PDF template renders (amounts as written)."""
    if doc.kind not in (IncomingKind.INVOICE, IncomingKind.CREDIT_NOTE):
        raise NotReadable(_("ANAF's error answer holds no invoice to show"))
    root = etree.fromstring(doc.xml, parser=_PARSER)
    supplier = _party_of(root, "AccountingSupplierParty")
    iban = _t(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID")
    seller = _party(supplier)
    if iban:
        from dataclasses import replace

        seller = replace(seller, iban=iban)
    notes = [n.text.strip() for n in root.findall("cbc:Note", NS) if n.text and n.text.strip()]
    notes.append(
        f"Vizualizare generată din XML-ul e-Factura primit prin SPV (index {doc.upload_index})."
        if doc.upload_index
        else "Vizualizare generată din XML-ul e-Factura primit."
    )
    vat_ron = None
    for total in root.findall("cac:TaxTotal", NS):
        amount = total.find("cbc:TaxAmount", NS)
        if amount is not None and doc.currency != "RON" and amount.get("currencyID") == "RON":
            vat_ron = _dec(amount.text or "")
    return DocData(
        kind="credit_note" if doc.kind == IncomingKind.CREDIT_NOTE else "invoice",
        number=doc.number,
        issue_date=doc.issue_date or date.min,
        due_date=doc.due_date,
        currency=doc.currency or "RON",
        seller=seller,
        buyer=_party(_party_of(root, "AccountingCustomerParty")),
        lines=tuple(
            Line(
                position=i,
                name=li["name"] or li["description"],
                quantity=_dec(li["quantity"]),
                unit_code=li["unit"],
                unit_price=_dec(li["price"]),
                vat_category=li["category"],
                vat_rate=_dec(li["rate"]),
                net=_dec(li["net"]),
                description=li["description"],
            )
            for i, li in enumerate(doc.lines, start=1)
        ),
        vat_rows=tuple(
            VatRow(r["category"], _dec(r["rate"]), _dec(r["base"]), _dec(r["vat"]))
            for r in doc.vat_breakdown
        ),
        net_total=doc.net_total or Decimal(0),
        vat_total=doc.vat_total or Decimal(0),
        gross_total=doc.payable if doc.payable is not None else (doc.gross_total or Decimal(0)),
        vat_total_ron=vat_ron,
        notes="\n".join(notes),
    )


def supplier_invoice_pdf(*, incoming: IncomingInvoice) -> bytes:
    """The readable PDF of a supplier's invoice, rendered from the XML in its ZIP."""
    from recurent.documents import pdf

    if incoming.zip is None:
        raise NotReadable(_("the ZIP is not downloaded yet"))
    return pdf.render(doc_data(read_zip(bytes(incoming.zip))), pdf.Style())


# --- storing --------------------------------------------------------------------------------


def _fill(row: IncomingInvoice, doc: SupplierDocument, as_of: datetime) -> None:
    row.kind = doc.kind
    row.read_at = as_of
    row.upload_index = row.upload_index or doc.upload_index
    if doc.kind == IncomingKind.ERRORS:
        row.problem = "\n".join(plain_all(doc.errors)) or "ANAF refused this upload"
        row.supplier_cif = row.supplier_cif or doc.supplier_cif
        return
    for name in ("number", "issue_date", "due_date", "currency", "supplier_name", "buyer_cif",
                 "net_total", "vat_total", "gross_total", "payable", "vat_breakdown", "lines"):  # fmt: skip
        setattr(row, name, getattr(doc, name))
    row.number = row.number[:200]
    row.supplier_cif = doc.supplier_cif[:16] or row.supplier_cif
    row.problem = ""


def _first_of(row: IncomingInvoice) -> IncomingInvoice | None:
    if not row.number:
        return None
    return (
        IncomingInvoice.objects.filter(
            company_id=row.company_id,
            supplier_cif=row.supplier_cif,
            number=row.number,
            duplicate_of__isnull=True,
        )
        .exclude(pk=row.pk)
        .defer("zip")
        .first()
    )


def supplier_invoice_read(*, incoming: IncomingInvoice, as_of: datetime) -> IncomingInvoice:
    """Fill a downloaded row's fields from its ZIP (again, if asked: the ZIP does not change).
    A second upload of a number the supplier already sent becomes a duplicate of the first."""
    if incoming.zip is None:
        return incoming
    try:
        doc = read_zip(bytes(incoming.zip))
    except NotReadable as e:
        incoming.kind, incoming.problem, incoming.read_at = IncomingKind.UNREADABLE, str(e), as_of
        incoming.save(update_fields=["kind", "problem", "read_at"])
        return incoming
    _fill(incoming, doc, as_of)
    for _attempt in range(2):
        incoming.duplicate_of = _first_of(incoming)
        try:
            with transaction.atomic():
                incoming.save()
            return incoming
        except IntegrityError:
            # Another row with the same supplier and number was saved meanwhile: retry, as
            # its duplicate (incoming_supplier_number_once).
            continue
    raise IntegrityError(f"supplier invoice {incoming.pk} could not be saved")  # pragma: no cover


def supplier_invoice_import(
    *, company: Any, content: bytes, as_of: datetime
) -> tuple[IncomingInvoice, bool]:
    """A ZIP downloaded from SPV by hand: (its row, whether it is new). The same ANAF id or
    the same supplier's number already here returns the row already kept."""
    try:
        doc = read_zip(content)
    except NotReadable as e:
        raise ValidationError({"zip": [ValidationError(str(e), code="unreadable")]}) from None
    if doc.kind == IncomingKind.ERRORS:
        raise ValidationError(
            {
                "zip": [
                    ValidationError(
                        _("this ZIP is ANAF's answer to a refused upload (%(index)s), not an "
                          "invoice: %(errors)s"),
                        code="anaf_errors",
                        params={"index": doc.upload_index, "errors": "; ".join(plain_all(doc.errors))},
                    )
                ]
            }
        )  # fmt: skip
    own = cui_digits(company.cui)
    if doc.buyer_cif and doc.buyer_cif != own:
        raise ValidationError(
            {
                "zip": [
                    ValidationError(
                        _("this invoice is addressed to %(buyer)s (CUI %(cui)s), not to your company"),
                        code="other_buyer",
                        params={"buyer": doc.buyer_name, "cui": doc.buyer_cif},
                    )
                ]
            }
        )  # fmt: skip
    same = IncomingInvoice.objects.filter(company=company).defer("zip")
    existing = (
        same.filter(upload_index=doc.upload_index).first() if doc.upload_index else None
    ) or same.filter(
        supplier_cif=doc.supplier_cif[:16], number=doc.number[:200], duplicate_of__isnull=True
    ).first()
    if existing is not None:
        return existing, False
    row = IncomingInvoice(
        company=company, message_id="", upload_index=doc.upload_index, listed_at=as_of,
        zip=content, downloaded_at=as_of, details="",
    )  # fmt: skip
    _fill(row, doc, as_of)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        # The same invoice was stored meanwhile (by the SPV check or another import).
        found = (
            same.filter(upload_index=doc.upload_index).first()
            or same.filter(
                supplier_cif=row.supplier_cif, number=row.number, duplicate_of__isnull=True
            ).first()
        )
        if found is None:
            raise
        return found, False
    return row, True


def supplier_invoices_fetch(*, company_id: int, as_of: datetime, limit: int = 10) -> int:
    """Download and read the listed supplier invoices not downloaded yet (ANAF keeps them ~60
    days); returns how many were read. ANAF's 10 downloads per message a day are not a
    concern: each is downloaded once."""
    from .services import incoming_download
    from .spv import AnafRefused

    done = 0
    rows = IncomingInvoice.objects.filter(
        company_id=company_id, downloaded_at__isnull=True, read_at__isnull=True
    ).order_by("anaf_created_at", "pk")[:limit]
    for row in rows:
        try:
            row = incoming_download(incoming=row, as_of=as_of)
        except AnafRefused as e:
            if e.quota_exceeded:
                raise
            # ANAF's definite no (the message is gone after ~60 days…): recorded, not asked again.
            row.kind, row.problem, row.read_at = IncomingKind.UNREADABLE, str(e), as_of
            row.save(update_fields=["kind", "problem", "read_at"])
            done += 1
            continue
        supplier_invoice_read(incoming=row, as_of=as_of)
        done += 1
    return done


def supplier_tick(*, limit: int, as_of: datetime | None = None) -> int:
    """Worker task "efactura-suppliers": download and read the listed supplier invoices of
    connected companies (oldest first), so the list fills itself. ANAF trouble for one company
    puts that company in back-off and moves on to the next."""
    from recurent.common import clock

    from .connection import NeedsReconnect
    from .http import AnafError, AnafRateLimited, AnafUnavailable
    from .models import ConnectionStatus, SpvConnection
    from .services import _connection_trouble

    now = as_of or clock.now()
    conns = {
        c.company_id: c.pk
        for c in SpvConnection.objects.filter(status=ConnectionStatus.CONNECTED).exclude(
            backoff_until__gt=now
        )
    }
    waiting = (
        IncomingInvoice.objects.filter(
            company_id__in=list(conns), downloaded_at__isnull=True, read_at__isnull=True
        )
        .values_list("company_id", flat=True)
        .distinct()
    )
    done = 0
    for company_id in sorted(set(waiting)):
        if done >= limit:
            break
        try:
            done += supplier_invoices_fetch(company_id=company_id, as_of=now, limit=limit - done)
        except (AnafUnavailable, AnafRateLimited) as e:
            _connection_trouble(conns[company_id], e, now)
        except (AnafError, NeedsReconnect) as e:
            log.warning("company %s: downloading supplier invoices failed: %s", company_id, e)
    return done


def supplier_invoices(*, company_id: int) -> QuerySet[IncomingInvoice]:
    """The list: one row per invoice (duplicates left out), newest first, without the ZIPs."""
    return (
        IncomingInvoice.objects.filter(company_id=company_id, duplicate_of__isnull=True)
        .defer("zip", "lines", "details")
        .order_by("-issue_date", "-anaf_created_at", "-pk")
    )
