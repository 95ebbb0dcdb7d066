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
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy

from recurent.common import clock
from recurent.common.errors import field_error
from recurent.invoices.models import Invoice

from . import pdf, ubl
from .models import (
    Annex,
    CompanyRenderPause,
    DocumentKind,
    DocumentSettings,
    InvoiceDocument,
    RenderFailure,
)
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
    doc = _new_document(invoice, kind, content, valid, findings)
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
    RenderFailure.objects.filter(invoice=invoice).delete()  # rendered on demand after all
    return [have[k] for k in kinds]


def pending_invoices(as_of: datetime | None = None):  # type: ignore[no-untyped-def]
    """Issued invoices (and credit notes) with a document still to render, oldest first.

    ``as_of``: leave out what is backing off at that instant (an invoice that failed until its
    next attempt, a company whose renders keep failing until its pause ends)."""
    docs = InvoiceDocument.objects.filter(invoice=OuterRef("pk"))
    no_pdf, no_xml = (
        ~Exists(docs.filter(kind=DocumentKind.PDF)),
        ~Exists(docs.filter(kind=DocumentKind.XML)),
    )
    qs = Invoice.objects.filter(no_xml | (no_pdf & pdf_wanted()))
    if as_of is not None:
        # What _Backoff needs to know of a claimed invoice, read by the claim itself: the usual
        # block (nothing ever failed) then costs no query more.
        attempts = RenderFailure.objects.filter(invoice=OuterRef("pk")).values("attempts")[:1]
        failing = CompanyRenderPause.objects.filter(
            company=OuterRef("company_id"), consecutive__gt=0
        )
        qs = qs.annotate(
            render_attempts=Coalesce(Subquery(attempts), 0), render_failing=Exists(failing)
        )
        qs = qs.exclude(
            Exists(RenderFailure.objects.filter(invoice=OuterRef("pk"), next_attempt_at__gt=as_of))
        ).exclude(
            Exists(
                CompanyRenderPause.objects.filter(
                    company=OuterRef("company_id"), paused_until__gt=as_of
                )
            )
        )
    return qs.select_related("company", "credited_invoice").order_by("pk")


# Backoff of failed renders (issue 14: 500 invoices with a broken logo blocked every company's
# documents and logged 10,500 identical errors in 90 s). An invoice is tried again after
# RENDER_RETRY_BASE seconds, doubling per attempt up to RENDER_RETRY_MAX; a company whose
# last COMPANY_PAUSE_AFTER renders all failed steps aside for COMPANY_PAUSE_BASE seconds,
# doubling per pause up to RENDER_RETRY_MAX, and comes back with its next success.
RENDER_RETRY_BASE = 60
RENDER_RETRY_MAX = 6 * 3600
COMPANY_PAUSE_AFTER = 5
COMPANY_PAUSE_BASE = 300


def _backoff(base: int, n: int) -> timedelta:
    return timedelta(seconds=min(base * 2 ** max(n - 1, 0), RENDER_RETRY_MAX))


class _Backoff:
    """The failures and successes of one claimed block, written with the block."""

    def __init__(self, invoices: list[Invoice], as_of: datetime) -> None:
        self.as_of = as_of
        # Claimed by render_pending, the invoices say whether they (or their company) failed
        # before; otherwise ask.
        known = all(hasattr(inv, "render_attempts") for inv in invoices)
        ids = [inv.pk for inv in invoices if not known or getattr(inv, "render_attempts", 0) > 0]
        companies = {
            inv.company_id for inv in invoices if not known or getattr(inv, "render_failing", False)
        }
        self.failures: dict[int, RenderFailure] = {}
        self.pauses: dict[int, CompanyRenderPause] = {}
        if ids:
            self.failures = {
                f.invoice_id: f for f in RenderFailure.objects.filter(invoice_id__in=ids)
            }
        if companies:
            self.pauses = {
                p.company_id: p for p in CompanyRenderPause.objects.filter(company_id__in=companies)
            }

    def paused(self, company_id: int) -> bool:
        p = self.pauses.get(company_id)
        return p is not None and p.paused_until is not None and p.paused_until > self.as_of

    def failed(self, invoice: Invoice, error: Exception) -> None:
        reason = f"{type(error).__name__}: {error}"[:1000]
        f = (
            self.failures.get(invoice.pk)
            or RenderFailure.objects.filter(invoice=invoice).first()  # failed meanwhile
            or RenderFailure(
                invoice=invoice, company_id=invoice.company_id, first_failed_at=self.as_of
            )
        )
        f.attempts += 1
        f.reason, f.last_failed_at = reason, self.as_of
        f.next_attempt_at = self.as_of + _backoff(RENDER_RETRY_BASE, f.attempts)
        f.save()
        self.failures[invoice.pk] = f
        p = self.pauses.get(invoice.company_id)
        if p is None:
            p = self.pauses[invoice.company_id] = CompanyRenderPause.objects.filter(
                company_id=invoice.company_id
            ).first() or CompanyRenderPause(company_id=invoice.company_id)
        p.consecutive += 1
        p.reason = reason
        if p.consecutive >= COMPANY_PAUSE_AFTER:
            p.pauses += 1
            p.paused_until = self.as_of + _backoff(COMPANY_PAUSE_BASE, p.pauses)
            log.warning(
                "documents of company %s: %s renders failed in a row, pausing its renders "
                "until %s: %s",
                invoice.company_id, p.consecutive, p.paused_until.isoformat(), reason,
            )  # fmt: skip
        p.save()
        # One line per failure, no traceback: the reason is on the invoice page too.
        log.warning(
            "documents of %s failed (attempt %s, next at %s): %s",
            invoice.full_number, f.attempts, f.next_attempt_at.isoformat(), reason,
        )  # fmt: skip

    def rendered(self, invoice: Invoice) -> None:
        f = self.failures.pop(invoice.pk, None)
        if f is not None:
            f.delete()
        p = self.pauses.get(invoice.company_id)
        if p is not None and (p.consecutive or p.paused_until):
            p.consecutive, p.pauses, p.paused_until, p.reason = 0, 0, None, ""
            p.save()


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


def _block_render(invoices: list[Invoice], as_of: datetime | None = None) -> int:
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
    backoff = _Backoff(invoices, as_of or clock.now())
    wants_pdf = set(Invoice.objects.filter(pdf_wanted(), pk__in=ids).values_list("pk", flat=True))
    for invoice in invoices:
        kinds = (
            (DocumentKind.PDF, DocumentKind.XML) if invoice.pk in wants_pdf else (DocumentKind.XML,)
        )
        missing = [k for k in kinds if k not in have[invoice.pk]]
        if not missing:
            continue
        if backoff.paused(invoice.company_id):
            continue  # paused by a failure earlier in this block: the rest waits with it
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
        except Exception as e:  # one broken invoice must not stop the others
            backoff.failed(invoice, e)
            continue
        backoff.rendered(invoice)
        docs.extend(out)
        done += 1
    # ignore_conflicts: a document stored meanwhile by an on-demand download (document_bytes,
    # which does not claim) wins, as in _store; ours is dropped.
    InvoiceDocument.objects.bulk_create(docs, ignore_conflicts=True)
    return done


# Invoices rendered before the others (recurent/wiring.py lists them, most urgent first): each
# gives a queryset of rows with an ``invoice_id`` column (``.values("invoice_id")``), e.g. mail's
# invoices whose email waits for its attachments.
RENDER_FIRST: list[Callable[[], Any]] = []


def pdf_in_advance() -> bool:
    """``RECURENT_PDF_IN_ADVANCE``: render every invoice's PDF in the worker, as soon as it is
    issued. Off by default: the worker renders the e-Factura XML of every invoice (ANAF needs it
    within days) but a PDF only for an invoice whose email is waiting for it (``RENDER_FIRST``);
    any other PDF is rendered the first time someone asks for it (download, portal, API, the
    month-close package) and stored. Same bytes either way: the PDF is drawn from the snapshot."""
    return bool(getattr(settings, "RECURENT_PDF_IN_ADVANCE", False))


def pdf_wanted() -> Q:
    """The invoices whose PDF the worker renders now (see ``pdf_in_advance``).

    Asked per invoice (EXISTS on the urgent rows' ``invoice_id``), not as one IN list: a claim
    of 20 invoices then probes 20 rows instead of reading every email still waiting (20,000 in
    a 100,000-invoice run, on each of 5,000 claims: issue 22)."""
    if pdf_in_advance():
        return Q()
    wanted = Q(pk__in=[])
    for urgent in RENDER_FIRST:
        wanted |= Q(Exists(urgent().filter(invoice_id=OuterRef("pk"))))
    return wanted


# Where the search for invoices still without their XML starts, per database, in this process.
# Walking from the first invoice on every call made the documents phase grow with the square of
# a run (issue 22: 989 s for 100,000 invoices, against 254 s extrapolated from 10,000, most of it
# PostgreSQL stepping over the invoices already rendered). Rendering goes oldest first, so a
# call starts at the lowest invoice the one before it found. From the first invoice again: once
# a minute (on PostgreSQL several workers bill at once, and a block may commit after a later
# one: its lower ids are found then), and while any render is failing or a company is paused
# (their invoices are skipped now and wanted later).
SCAN_FROM_START_EVERY = 60.0
_scan_from: dict[str, tuple[int, float]] = {}


def _scan_start(as_of: datetime) -> int:
    start, swept_at = _scan_from.get(connection.settings_dict["NAME"], (0, 0.0))
    # One query, asked every time (the worker's queries per call stay the same).
    failing = (
        RenderFailure.objects.values("company_id")
        .union(
            CompanyRenderPause.objects.filter(
                Q(consecutive__gt=0) | Q(paused_until__gt=as_of)
            ).values("company_id")
        )
        .exists()
    )
    if failing or time.monotonic() - swept_at > SCAN_FROM_START_EVERY:
        return 0
    return start


def _scan_found(start: int, found: list[int]) -> None:
    """Remember where the next search starts: the lowest invoice found (it may not render this
    time), else after the last invoice there is."""
    key = connection.settings_dict["NAME"]
    swept_at = time.monotonic() if start == 0 else _scan_from.get(key, (0, 0.0))[1]
    if found:
        nxt = min(found)
    else:
        nxt = max(start, (Invoice.objects.aggregate(m=Max("pk"))["m"] or 0) + 1)
    _scan_from[key] = (nxt, swept_at)


def _candidates(as_of: datetime, limit: int) -> list[int]:
    """Up to ``limit`` invoices to render: those RENDER_FIRST names, then the oldest others.

    Asked as separate queries (not one ORDER BY over a condition) so that the usual case, with
    nothing urgent, still walks the primary key and stops at ``limit``."""
    chosen: list[int] = []
    for urgent in RENDER_FIRST:
        if len(chosen) >= limit:
            return chosen
        qs = pending_invoices(as_of).filter(pk__in=urgent()).exclude(pk__in=chosen)
        chosen += qs.values_list("pk", flat=True)[: limit - len(chosen)]
    if len(chosen) < limit:
        start = _scan_start(as_of)
        rest = pending_invoices(as_of).filter(pk__gte=start).exclude(pk__in=chosen)
        found = list(rest.values_list("pk", flat=True)[: limit - len(chosen)])
        _scan_found(start, found)
        chosen += found
    return chosen


def render_pending(*, limit: int, as_of: datetime | None = None) -> int:
    """The worker task: render up to ``limit`` invoices' missing documents. Returns the count.

    Several worker processes share the work on PostgreSQL: each chunk of invoices is
    claimed with ``FOR NO KEY UPDATE SKIP LOCKED`` on the invoice rows (locked, never
    written: invoices are immutable) inside the transaction that stores their documents,
    so another process skips them and takes the next ones; a crash releases the claim
    with the rollback. (``NO KEY``: rows referencing the invoice — documents, payments —
    can still be inserted meanwhile.) SQLite has one writer: there, one process renders.

    A failed invoice backs off, and a company whose renders keep failing steps aside
    (``_Backoff``): the claim leaves both out until their time, so the rest goes on.
    """
    done = 0
    as_of = as_of or clock.now()
    skip_locked = connection.features.has_select_for_update_skip_locked
    candidates = _candidates(as_of, limit)
    for start in range(0, len(candidates), CLAIM_CHUNK):
        with transaction.atomic():
            # Asked again per chunk: a company paused by the chunk before is left out now.
            qs = pending_invoices(as_of).filter(pk__in=candidates[start : start + CLAIM_CHUNK])
            if skip_locked:
                qs = qs.select_for_update(skip_locked=True, no_key=True, of=("self",))
            done += _block_render(list(qs), as_of)
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
        raise field_error(
            "annex",
            gettext_lazy("attach the file to a contract or to an invoice"),
            "required",
        )
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
