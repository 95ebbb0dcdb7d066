"""Rendering and storing an invoice's documents (PDF and e-Factura XML).

Documents are rendered after the invoice is committed (by the worker task
``render_pending``, or on demand by ``document_bytes``), never inside the numbering
transaction, and stored once: a download returns the stored bytes, so it never renders
differently later. An XML is checked by ``validation.check_xml`` before it is stored as
valid; a failing one is kept with its findings (rule id + message) and never handed out.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q

from recurent.invoices.models import Invoice

from . import pdf, ubl
from .models import Annex, DocumentKind, DocumentSettings, InvoiceDocument
from .snapshot import Annex as AnnexData
from .snapshot import DocData, corrections_of, from_invoice
from .validation import check_xml

log = logging.getLogger("recurent.documents")

CONTENT_TYPES = {DocumentKind.PDF: "application/pdf", DocumentKind.XML: "application/xml"}


class DocumentInvalid(Exception):
    """The invoice's e-Factura XML fails the check; ``findings`` says why."""

    def __init__(self, invoice: Invoice, findings: list[dict[str, str]]) -> None:
        text = "; ".join(f"[{f['rule']}] {f['message']}" for f in findings[:5])
        super().__init__(f"{invoice.full_number}: the e-Factura XML is not valid: {text}")
        self.findings = findings


def style_for(company: Any) -> pdf.Style:
    ds = DocumentSettings.objects.filter(company_id=company.pk).first()
    logo = None
    if company.logo:
        try:
            with company.logo.open("rb") as fh:
                logo = fh.read()
        except OSError:
            log.warning("logo of company %s cannot be read; rendering without it", company.pk)
    if ds is None:
        return pdf.Style(logo=logo)
    return pdf.Style(
        accent=ds.accent_color, footer=ds.footer_text, bilingual=ds.bilingual, logo=logo
    )


def doc_data(invoice: Invoice, correction: Any = None) -> DocData:
    """``correction``: a correction not stored yet (efactura.correction checks its XML before
    storing it); ``None``: the invoice's latest stored one, if any."""
    from .api import annexes_of

    annexes = tuple(
        AnnexData(a.filename, a.mime, bytes(a.content), a.description)
        for a in annexes_of(invoice.pk)
    )
    return from_invoice(invoice, annexes, correction=correction)


def _store(
    invoice: Invoice, kind: str, content: bytes, valid: bool = True, findings: list | None = None
) -> InvoiceDocument:
    ext = "pdf" if kind == DocumentKind.PDF else "xml"
    doc = InvoiceDocument(
        invoice=invoice,
        kind=kind,
        filename=f"{invoice.full_number}.{ext}"[:120],
        content_type=CONTENT_TYPES[kind],  # type: ignore[index]
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        valid=valid,
        findings=findings or [],
    )
    try:
        with transaction.atomic():
            doc.save()
    except IntegrityError:
        # Someone else stored it first: theirs is the document, ours is dropped.
        return InvoiceDocument.objects.get(invoice=invoice, kind=kind)
    return doc


def build_xml(data: DocData) -> tuple[bytes, list[dict[str, str]]]:
    """The XML and the findings of the check (empty when ANAF would accept it)."""
    try:
        xml = ubl.build(data)
    except ubl.UblError as e:
        return b"", [{"rule": "UBL", "field": e.field, "message": e.message}]
    return xml, [{"rule": f.rule, "message": f.message} for f in check_xml(xml)]


def invoice_render(
    *, invoice: Invoice, kinds: tuple[str, ...] = ("pdf", "xml")
) -> list[InvoiceDocument]:
    """Render and store the missing documents of ``invoice``; existing ones are kept."""
    have = {d.kind: d for d in InvoiceDocument.objects.filter(invoice=invoice)}
    missing = [k for k in kinds if k not in have]
    if not missing:
        return [have[k] for k in kinds]
    data = doc_data(invoice)
    for kind in missing:
        if kind == DocumentKind.XML:
            xml, findings = build_xml(data)
            if findings:
                log.warning("%s: e-Factura XML invalid: %s", invoice.full_number, findings[:3])
            have[kind] = _store(invoice, kind, xml, valid=not findings, findings=findings)
        else:
            have[kind] = _store(invoice, kind, pdf.render(data, style_for(invoice.company)))
    return [have[k] for k in kinds]


def pending_invoices():  # type: ignore[no-untyped-def]
    """Issued invoices (and credit notes) with a document still to render, oldest first."""
    docs = InvoiceDocument.objects.filter(invoice=OuterRef("pk"))
    return (
        Invoice.objects.filter(
            ~Exists(docs.filter(kind=DocumentKind.PDF))
            | ~Exists(docs.filter(kind=DocumentKind.XML))
        )
        .select_related("company", "credited_invoice")
        .order_by("pk")
    )


# Invoices claimed per transaction by render_pending: their row locks are held while they
# render (about 20 ms each), so a storno or payment touching one waits at most that long.
CLAIM_CHUNK = 20


def _new_document(
    invoice: Invoice, kind: str, content: bytes, valid: bool = True, findings: list | None = None
) -> InvoiceDocument:
    ext = "pdf" if kind == DocumentKind.PDF else "xml"
    return InvoiceDocument(
        invoice=invoice,
        kind=kind,
        filename=f"{invoice.full_number}.{ext}"[:120],
        content_type=CONTENT_TYPES[kind],  # type: ignore[index]
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        valid=valid,
        findings=findings or [],
    )


def _block_render(invoices: list[Invoice]) -> int:
    """Render and store the missing documents of a claimed block of invoices, reading the
    block's lines, existing documents and annexes in one query each, every company's style
    once, and storing every document with one INSERT. Returns how many invoices were done.

    Same output as ``invoice_render`` one by one (same snapshot, same style, same annexes);
    a failing invoice is logged and skipped, the others are stored."""
    if not invoices:
        return 0
    from recurent.invoices.models import InvoiceLine

    ids = [inv.pk for inv in invoices]
    lines: dict[int, list[Any]] = {pk: [] for pk in ids}
    for li in InvoiceLine.objects.filter(invoice_id__in=ids).order_by("invoice_id", "position"):
        lines[li.invoice_id].append(li)
    have: dict[int, dict[str, Any]] = {pk: {} for pk in ids}
    for inv_id, kind, created_at in InvoiceDocument.objects.filter(invoice_id__in=ids).values_list(
        "invoice_id", "kind", "created_at"
    ):
        have[inv_id][kind] = created_at
    contract_ids = {inv.contract_id for inv in invoices if inv.contract_id}
    annex_q = Q(invoice_id__in=ids)
    if contract_ids:
        annex_q |= Q(contract_id__in=contract_ids)
    all_annexes = list(Annex.objects.filter(annex_q).order_by("created_at", "pk"))
    corrections = corrections_of(ids)
    styles: dict[int, pdf.Style] = {}
    docs: list[InvoiceDocument] = []
    done = 0
    for invoice in invoices:
        missing = [k for k in (DocumentKind.PDF, DocumentKind.XML) if k not in have[invoice.pk]]
        if not missing:
            continue
        try:
            rendered_at = have[invoice.pk].get(DocumentKind.XML)
            annexes = tuple(
                AnnexData(a.filename, a.mime, bytes(a.content), a.description)
                for a in all_annexes
                if (a.invoice_id == invoice.pk or (a.contract_id and a.contract_id == invoice.contract_id))
                and (rendered_at is None or a.created_at <= rendered_at)
            )  # fmt: skip
            data = from_invoice(
                invoice,
                annexes,
                lines=lines[invoice.pk],
                correction=corrections.get(invoice.pk, {}),
            )
            out = []
            for kind in missing:
                if kind == DocumentKind.XML:
                    xml, findings = build_xml(data)
                    if findings:
                        log.warning(
                            "%s: e-Factura XML invalid: %s", invoice.full_number, findings[:3]
                        )
                    out.append(
                        _new_document(invoice, kind, xml, valid=not findings, findings=findings)
                    )
                else:
                    if invoice.company_id not in styles:
                        styles[invoice.company_id] = style_for(invoice.company)
                    content = pdf.render(data, styles[invoice.company_id])
                    out.append(_new_document(invoice, kind, content))
        except Exception:  # one broken invoice must not stop the others
            log.exception("rendering the documents of %s failed", invoice.full_number)
            continue
        docs.extend(out)
        done += 1
    # ignore_conflicts: a document stored meanwhile by an on-demand download (document_bytes,
    # which does not claim) wins, as in _store; ours is dropped.
    InvoiceDocument.objects.bulk_create(docs, ignore_conflicts=True)
    return done


def render_pending(*, limit: int) -> int:
    """The worker task: render up to ``limit`` invoices' missing documents. Returns the count.

    Several worker processes share the work on PostgreSQL: each chunk of invoices is
    claimed with ``FOR NO KEY UPDATE SKIP LOCKED`` on the invoice rows (locked, never
    written: invoices are immutable) inside the transaction that stores their documents,
    so another process skips them and takes the next ones; a crash releases the claim
    with the rollback. (``NO KEY``: rows referencing the invoice — documents, payments —
    can still be inserted meanwhile.) SQLite has one writer: there, one process renders.
    """
    done = 0
    skip_locked = connection.features.has_select_for_update_skip_locked
    candidates = list(pending_invoices().values_list("pk", flat=True)[:limit])
    for start in range(0, len(candidates), CLAIM_CHUNK):
        with transaction.atomic():
            qs = pending_invoices().filter(pk__in=candidates[start : start + CLAIM_CHUNK])
            if skip_locked:
                qs = qs.select_for_update(skip_locked=True, no_key=True, of=("self",))
            done += _block_render(list(qs))
    return done


def document_bytes(invoice: Invoice, kind: str) -> bytes:
    """The stored document (rendering and storing it first if missing).

    Raises DocumentInvalid for an XML that fails the e-Factura check."""
    if kind not in (DocumentKind.PDF, DocumentKind.XML):
        raise ValueError(f"kind: {kind!r} is not pdf or xml")
    [doc] = invoice_render(invoice=invoice, kinds=(kind,))
    if not doc.valid:
        raise DocumentInvalid(invoice, doc.findings)
    return bytes(doc.content)


def annex_add(
    *,
    filename: str,
    content: bytes,
    description: str = "",
    contract: Any = None,
    invoice: Invoice | None = None,
) -> Annex:
    """Attach a file to a contract (every later invoice) or to one invoice (BG-24)."""
    from .annexes import check_annex

    if (contract is None) == (invoice is None):
        from django.core.exceptions import ValidationError

        raise ValidationError({"annex": ["attach the file to a contract or to an invoice"]})
    owner: Any = contract if contract is not None else invoice
    existing = (
        Annex.objects.filter(contract=contract)
        if contract
        else Annex.objects.filter(invoice=invoice)
    )
    mime = check_annex(filename=filename, content=content, description=description,
                       existing_total=sum(a.size for a in existing))  # fmt: skip
    return Annex.objects.create(
        company_id=owner.company_id,
        contract=contract,
        invoice=invoice,
        filename=filename,
        mime=mime,
        size=len(content),
        description=description,
        content=content,
    )
