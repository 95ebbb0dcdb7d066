"""What other apps (mail, e-Factura, API, portal) read of an invoice's documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q

from .models import Annex, CompanyRenderPause, DocumentKind, InvoiceDocument, RenderFailure


def attachments(invoice_id: int) -> list[tuple[str, bytes, str]]:
    """(filename, content, MIME type) of every stored document of the invoice, PDF first,
    then the e-Factura XML, then its annexes (the contract's and the invoice's own).

    A PDF not rendered yet (the worker renders PDFs only for the emails waiting for them) is
    rendered now, once the XML exists. An XML that failed the e-Factura check is never handed
    out."""
    return attachments_of([invoice_id])[invoice_id]


def attachments_of(invoice_ids: list[int]) -> dict[int, list[tuple[str, bytes, str]]]:
    """``attachments`` of several invoices in two queries (their documents, then their annexes
    and their contracts'), for the email sender's batches."""
    from recurent.invoices.models import Invoice

    every: dict[int, list[InvoiceDocument]] = {i: [] for i in invoice_ids}
    for d in InvoiceDocument.objects.filter(invoice_id__in=invoice_ids):
        every[d.invoice_id].append(d)
    contract_of = dict(
        Invoice.objects.filter(pk__in=invoice_ids, contract__isnull=False).values_list(
            "pk", "contract_id"
        )
    )
    annexes = list(
        Annex.objects.filter(
            Q(invoice_id__in=invoice_ids) | Q(contract_id__in=set(contract_of.values()))
        ).order_by("created_at", "pk")
    )
    out: dict[int, list[tuple[str, bytes, str]]] = {}
    order = {DocumentKind.PDF: 0, DocumentKind.XML: 1}
    for invoice_id, stored in every.items():
        docs = [d for d in stored if d.valid]
        kinds = {d.kind for d in stored}
        if DocumentKind.XML in kinds and DocumentKind.PDF not in kinds:
            pdf = _render_now(invoice_id, DocumentKind.PDF)
            if pdf is not None:
                docs.append(pdf)
        files = [
            (d.filename, bytes(d.content), d.content_type)
            for d in sorted(docs, key=lambda d: order.get(d.kind, 9))  # type: ignore[call-overload]
        ]
        # Once the XML is stored, only the annexes that existed then (they are inside it).
        rendered_at = next((d.created_at for d in stored if d.kind == DocumentKind.XML), None)
        contract_id = contract_of.get(invoice_id)
        files += [
            (a.filename, bytes(a.content), a.mime)
            for a in annexes
            if (a.invoice_id == invoice_id or (contract_id and a.contract_id == contract_id))
            and (rendered_at is None or a.created_at <= rendered_at)
        ]
        out[invoice_id] = files
    return out


def document(invoice_id: int, kind: str) -> InvoiceDocument | None:
    """The document of that kind (a PDF is rendered and stored the first time it is asked for),
    if it exists and (for the XML) passed the check."""
    doc = InvoiceDocument.objects.filter(invoice_id=invoice_id, kind=kind, valid=True).first()
    if doc is None and kind == DocumentKind.PDF:
        doc = _render_now(invoice_id, kind)
    return doc


def _render_now(invoice_id: int, kind: str) -> InvoiceDocument | None:
    from recurent.invoices.models import Invoice

    from .services import invoice_render

    invoice = Invoice.objects.select_related("company", "credited_invoice").get(pk=invoice_id)
    [doc] = invoice_render(invoice=invoice, kinds=(kind,))
    return doc if doc.valid else None


def annexes_of(invoice_id: int, rendered_at: Any = None) -> list[Annex]:
    """The annexes travelling with an invoice: its own and its contract's. Once the XML is
    stored, only those that existed when it was rendered (they are inside it). One query when
    the caller already knows when the XML was stored (``rendered_at``)."""
    from recurent.invoices.models import Invoice

    if rendered_at is None:
        rendered_at = (
            InvoiceDocument.objects.filter(invoice_id=invoice_id, kind=DocumentKind.XML)
            .values_list("created_at", flat=True)
            .first()
        )
    contract = Invoice.objects.filter(pk=invoice_id, contract__isnull=False).values("contract_id")
    qs = Annex.objects.filter(Q(invoice_id=invoice_id) | Q(contract_id__in=contract))
    if rendered_at is not None:
        qs = qs.filter(created_at__lte=rendered_at)
    return list(qs.order_by("created_at", "pk"))


def render_failure(invoice_id: int) -> RenderFailure | None:
    """Why the invoice's documents are not rendered yet, if rendering failed (the invoice page)."""
    return RenderFailure.objects.filter(invoice_id=invoice_id).first()


def render_problems(company_id: int, as_of: datetime, limit: int = 10) -> dict[str, Any]:
    """The dashboard's attention item: invoices whose documents failed to render (newest
    failures first), how many, and whether the company's renders are paused and why."""
    qs = RenderFailure.objects.filter(company_id=company_id)
    rows = list(
        qs.select_related("invoice")
        .only("invoice__full_number", "attempts", "reason", "last_failed_at", "next_attempt_at")
        .order_by("-last_failed_at", "-pk")[:limit]
    )
    pause = CompanyRenderPause.objects.filter(company_id=company_id).first()
    return {
        "rows": rows,
        "count": len(rows) if len(rows) < limit else qs.count(),
        "paused_until": pause.paused_until
        if pause and pause.paused_until and pause.paused_until > as_of
        else None,
        "reason": pause.reason if pause else "",
    }
