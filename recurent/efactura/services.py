"""Invoices to ANAF: queue, upload exactly once, follow the answer, archive it.

The one rule that shapes this module: an invoice is never uploaded twice. Before the
upload call the state becomes UPLOADING in its own committed transaction; only a
definite answer moves it on. A state still UPLOADING after ``RECONCILE_AFTER_MINUTES``
(timeout, 5xx, crash) is reconciled through ``listaMesajeFactura``: the invoice is looked
for among the messages ANAF created for the company since the upload started, and only
when nothing was found for ``RECONCILE_GRACE_HOURS`` is it queued again.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy

from recurent.common import bulk, clock, events
from recurent.common.errors import field_error
from recurent.documents import api as documents
from recurent.engine.cycles import BUCHAREST
from recurent.invoices.models import Invoice, InvoiceKind

from . import conf
from .answers import errors_in_zip, invoice_in_zip, plain_all
from .connection import NeedsReconnect, connection_access_token, spv_client
from .http import (
    AnafError,
    AnafMalformed,
    AnafRateLimited,
    AnafUnauthorized,
    AnafUnavailable,
    RateLimiter,
)
from .models import (
    Attempt,
    ConnectionStatus,
    EfacturaState,
    EState,
    IncomingInvoice,
    InvoiceCorrection,
    SpvConnection,
)
from .spv import (
    STANDARD_CREDIT_NOTE,
    STANDARD_INVOICE,
    STATE_NOK,
    STATE_OK,
    STATE_PROCESSING,
    STATE_XML_ERRORS,
    AnafRefused,
    Message,
    SpvClient,
    UploadRoute,
    upload_route,
)

log = logging.getLogger("recurent.efactura")

STATUS_QUOTA = 100  # stareMesaj per message per day (ANAF)
DOWNLOAD_QUOTA = 10  # descarcare per message per day (ANAF)
KIND_SENT = "FACTURA TRIMISA"
KIND_ERRORS = "ERORI FACTURA"
KIND_RECEIVED = "FACTURA PRIMITA"

_limiters: dict[str, RateLimiter] = {}


def _limiter(base: str) -> RateLimiter:
    lim = _limiters.get(base)
    if lim is None:
        lim = _limiters[base] = RateLimiter(per_minute=int(conf.get("RATE_PER_MINUTE")))
    return lim


class NotSendable(Exception):
    """Why an invoice cannot be sent now (no XML yet, not connected…); the caller shows it."""


# --- queueing -----------------------------------------------------------------------------


def on_invoices_issued(invoices: list[Invoice]) -> None:
    """AFTER_ISSUE hook, inside the issuing transaction: the invoices of companies that chose
    automatic upload get their e-Factura row, queued. The others get none: no row means
    "not sent" everywhere (the invoice list and page, the deadline watch), and the row is
    made when a person sends the invoice (``state_for``). A billing run of a company
    without automatic upload therefore writes nothing here: one query per batch.
    """
    if not invoices:
        return
    auto = set(
        SpvConnection.objects.filter(
            company_id__in={i.company_id for i in invoices}, auto_upload=True
        ).values_list("company_id", flat=True)
    )
    queued = [i for i in invoices if i.company_id in auto]
    if queued:
        _insert_queued(queued)


def _insert_queued(invoices: list[Invoice]) -> None:
    """One multi-row INSERT of QUEUED states (``bulk_create`` compiled every value of every
    row through the ORM: a quarter of a billing block's time, docs/benchmarks/billing.md).
    An invoice that already has its row keeps it (ON CONFLICT DO NOTHING)."""
    now = clock.now()
    rows = [
        {
            "invoice_id": i.pk,
            "company_id": i.company_id,
            "state": EState.QUEUED.value,
            "queued_at": i.issued_at,
            "next_attempt_at": i.issued_at,
            "updated_at": now,
        }
        for i in invoices
    ]
    bulk.insert_dicts(EfacturaState, rows, ignore_conflicts=True)


def state_for(*, invoice: Invoice) -> EfacturaState:
    st, _ = EfacturaState.objects.get_or_create(
        invoice=invoice, defaults={"company_id": invoice.company_id}
    )
    return st


def efactura_queue(
    *, invoice: Invoice, as_of: datetime, resend_rejected: bool = False
) -> EfacturaState:
    """Put an invoice in the upload queue (by hand). Refuses what is already at ANAF."""
    state_for(invoice=invoice)
    with transaction.atomic():
        st = EfacturaState.objects.select_for_update().get(pk=invoice.pk)
        if st.state == EState.QUEUED:
            st.next_attempt_at = as_of
        elif st.state == EState.NOT_SENT or (st.state == EState.REJECTED and resend_rejected):
            st.state = EState.QUEUED
            st.queued_at = st.next_attempt_at = as_of
            st.retries = 0
        else:
            raise field_error(
                "invoice",
                gettext_lazy("%(full_number)s is already %(value)s at ANAF"),
                "already_anaf",
                full_number=invoice.full_number,
                value=st.get_state_display(),
            )
        st.save()
    return st


def efactura_send(
    *, invoice: Invoice, as_of: datetime, resend_rejected: bool = False
) -> EfacturaState:
    """By hand (invoice page, ``recurent efactura send``): queue and upload now."""
    efactura_queue(invoice=invoice, as_of=as_of, resend_rejected=resend_rejected)
    st = efactura_upload(invoice_id=invoice.pk, as_of=as_of)
    if st.state == EState.QUEUED:
        raise NotSendable(st.anaf_state or "not uploaded; it stays queued")
    return st


# --- helpers ------------------------------------------------------------------------------


def _attempt(st: EfacturaState, action: str, as_of: datetime) -> Attempt:
    return Attempt.objects.create(state=st, action=action, started_at=as_of)


def _finish(
    a: Attempt, outcome: str, detail: str = "", *, as_of: datetime, upload_index: str = ""
) -> None:
    a.finished_at, a.outcome, a.detail = as_of, outcome, detail[:4000]
    a.upload_index = upload_index or a.upload_index
    a.save(update_fields=["finished_at", "outcome", "detail", "upload_index"])


def _backoff(n: int, *, base: float = 60.0, cap: float = 3600.0) -> timedelta:
    return timedelta(seconds=min(base * (2 ** min(n, 16)), cap))


def _connection_trouble(conn_id: int, err: AnafError, as_of: datetime) -> datetime:
    """ANAF down or limiting us: every call for this company waits until the returned instant."""
    with transaction.atomic():
        conn = SpvConnection.objects.select_for_update().get(pk=conn_id)
        delay = _backoff(conn.failures, base=30.0, cap=1800.0)
        if isinstance(err, AnafRateLimited) and err.retry_after:
            delay = max(delay, timedelta(seconds=err.retry_after))
        conn.failures += 1
        conn.backoff_until = as_of + delay
        conn.save(update_fields=["failures", "backoff_until", "updated_at"])
    log.warning(
        "company %s: ANAF trouble (%s); backing off until %s",
        conn.company_id,
        err,
        conn.backoff_until,
    )
    return conn.backoff_until


def _connection_ok(conn: SpvConnection) -> None:
    if conn.failures or conn.backoff_until:
        SpvConnection.objects.filter(pk=conn.pk).update(failures=0, backoff_until=None)


def _client(conn: SpvConnection, as_of: datetime, refused: str | None = None) -> SpvClient:
    token = connection_access_token(company_id=conn.company_id, as_of=as_of, refused=refused)
    return spv_client(conn=conn, token=token, limiter=_limiter(conf.api_url(conn.environment)))


def _call(conn: SpvConnection, as_of: datetime, fn):  # type: ignore[no-untyped-def]
    """Run ``fn(client)``; on 401 refresh the token once (it may have been revoked) and retry."""
    client = _client(conn, as_of)
    try:
        return fn(client)
    except AnafUnauthorized:
        client = _client(conn, as_of, refused=client._token)
        try:
            return fn(client)
        except AnafUnauthorized:
            from .connection import connection_mark_reconnect

            connection_mark_reconnect(
                company_id=conn.company_id, reason="ANAF refused a freshly refreshed token"
            )
            raise NeedsReconnect("ANAF refused a freshly refreshed token") from None


def _today(as_of: datetime):  # type: ignore[no-untyped-def]
    return as_of.astimezone(BUCHAREST).date()


def _tomorrow(as_of: datetime) -> datetime:
    d = _today(as_of) + timedelta(days=1)
    return datetime(d.year, d.month, d.day, 0, 5, tzinfo=BUCHAREST)


def _reset_quota(st: EfacturaState, as_of: datetime) -> None:
    if st.quota_day != _today(as_of):
        st.quota_day = _today(as_of)
        st.status_queries = st.downloads = 0


def _emit(st: EfacturaState, event: str) -> None:
    inv = st.invoice
    events.emit(
        st.company_id,
        event,
        {
            "invoice_id": inv.pk,
            "number": inv.full_number,
            "upload_index": st.upload_index,
            "download_id": st.download_id,
            "errors": list(st.errors),
        },
    )


def _standard(inv: Invoice) -> str:
    return STANDARD_CREDIT_NOTE if inv.kind == InvoiceKind.CREDIT_NOTE else STANDARD_INVOICE


def upload_route_for(inv: Invoice) -> UploadRoute:
    """Endpoint and parameters of an invoice's upload, read from the buyer as its e-Factura
    carries it (a buyer corrected after a rejection is routed by its corrected data)."""
    from .correction import buyer_of

    buyer = buyer_of(inv)
    return upload_route(
        buyer_kind=buyer.get("kind") or "company",
        buyer_country=buyer.get("country") or "RO",
        credit_note=_standard(inv) == STANDARD_CREDIT_NOTE,
    )


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


# --- upload -------------------------------------------------------------------------------


def efactura_upload(*, invoice_id: int, as_of: datetime) -> EfacturaState:
    """Upload one QUEUED invoice. Anything else is returned untouched (safe to call twice)."""
    st = EfacturaState.objects.select_related("invoice").get(pk=invoice_id)
    if st.state != EState.QUEUED:
        return st
    conn = SpvConnection.objects.filter(company_id=st.company_id).first()
    doc = documents.document(invoice_id, "xml")
    wait: str | None = None
    if doc is None:
        wait, delay = (
            "waiting for the e-Factura XML to be rendered and checked",
            timedelta(minutes=5),
        )
    elif conn is None or conn.status != ConnectionStatus.CONNECTED:
        wait, delay = "the company is not connected to SPV", timedelta(hours=1)
    if wait:
        EfacturaState.objects.filter(pk=st.pk, state=EState.QUEUED).update(
            anaf_state=wait, next_attempt_at=as_of + delay
        )
        st.anaf_state = wait
        return st
    assert conn is not None and doc is not None
    xml = bytes(doc.content)
    try:
        client = _client(conn, as_of)
    except NeedsReconnect as e:
        EfacturaState.objects.filter(pk=st.pk).update(
            anaf_state=f"reconnect to SPV: {e}", next_attempt_at=as_of + timedelta(hours=1)
        )
        st.anaf_state = f"reconnect to SPV: {e}"
        return st

    # Record the intent, committed, before the call: a crash from here on leaves UPLOADING,
    # which only reconciliation can move on.
    with transaction.atomic():
        locked = EfacturaState.objects.select_for_update().get(pk=st.pk)
        if locked.state != EState.QUEUED:
            return locked  # another worker took it
        locked.state = EState.UPLOADING
        locked.uploading_since = as_of
        locked.xml_sha256 = _sha(xml)
        locked.anaf_state = ""
        locked.next_attempt_at = as_of + conf.minutes("RECONCILE_AFTER_MINUTES")
        locked.save()
        attempt = _attempt(locked, Attempt.Action.UPLOAD, as_of)
    st = locked
    st.invoice = Invoice.objects.get(pk=invoice_id)
    cif = st.invoice.seller.get("cui") or st.invoice.company.cui
    route = upload_route_for(st.invoice)
    try:
        try:
            answer = client.upload(xml, cif=cif, route=route)
        except AnafUnauthorized:
            # 401 means the file was refused at the door: safe to refresh and send once more.
            client = _client(conn, as_of, refused=client._token)
            answer = client.upload(xml, cif=cif, route=route)
    except (AnafRateLimited, AnafUnauthorized, NeedsReconnect) as e:
        # Refused at the door (429, 401) or never sent: nothing reached ANAF's processing.
        _back_to_queue(st, attempt, f"not accepted for processing: {e}", as_of)
        if isinstance(e, AnafRateLimited):
            _connection_trouble(conn.pk, e, as_of)
        return st
    except AnafUnavailable as e:
        if not e.sent:
            _back_to_queue(st, attempt, str(e), as_of)
        else:
            _finish(attempt, "unknown", f"{e}; will reconcile before any retry", as_of=as_of)
        _connection_trouble(conn.pk, e, as_of)
        return st
    except AnafMalformed as e:
        _finish(attempt, "unknown", f"{e}; will reconcile before any retry", as_of=as_of)
        return st
    _connection_ok(conn)
    with transaction.atomic():
        st = EfacturaState.objects.select_for_update().select_related("invoice").get(pk=st.pk)
        if answer.upload_index:
            st.state = EState.UPLOADED
            st.upload_index = answer.upload_index
            st.uploaded_at = as_of
            st.next_attempt_at = as_of + timedelta(minutes=1)
            st.retries = 0
            st.save()
            _finish(
                attempt,
                "ok",
                f"accepted for processing at {route.endpoint}"
                + (" (extern=DA)" if route.extern else ""),
                as_of=as_of,
                upload_index=answer.upload_index,
            )
        else:
            _reject(st, answer.errors, as_of)
            _finish(attempt, "refused", "; ".join(answer.errors), as_of=as_of)
    return st


def _back_to_queue(st: EfacturaState, attempt: Attempt, detail: str, as_of: datetime) -> None:
    with transaction.atomic():
        locked = EfacturaState.objects.select_for_update().get(pk=st.pk)
        if locked.state == EState.UPLOADING:
            locked.state = EState.QUEUED
            locked.uploading_since = None
            locked.retries += 1
            locked.next_attempt_at = as_of + _backoff(locked.retries)
            locked.anaf_state = detail[:60]
            locked.save()
        _finish(attempt, "not_sent", detail, as_of=as_of)
    st.state = EState.QUEUED


def _reject(st: EfacturaState, raw: list[str], as_of: datetime) -> None:
    st.state = EState.REJECTED
    st.raw_errors = raw
    st.errors = plain_all(raw)
    st.decided_at = as_of
    st.next_attempt_at = None
    st.save()
    _emit(st, "efactura.rejected")


def _accept(st: EfacturaState, zip_bytes: bytes, as_of: datetime) -> None:
    st.state = EState.ACCEPTED
    st.answer_zip = zip_bytes
    st.answer_sha256 = _sha(zip_bytes)
    st.answer_downloaded_at = as_of
    st.decided_at = as_of
    st.next_attempt_at = None
    st.errors = st.raw_errors = []
    st.save()
    _emit(st, "efactura.accepted")


# --- reconciliation -----------------------------------------------------------------------

_BUYER = re.compile(r"cif_beneficiar\s*=\s*(\d+)")


def efactura_reconcile(*, invoice_id: int, as_of: datetime) -> EfacturaState:
    """An upload whose answer was lost: find it at ANAF, or (after the grace period) queue it again."""
    st = EfacturaState.objects.select_related("invoice").get(pk=invoice_id)
    if st.state != EState.UPLOADING:
        return st
    conn = SpvConnection.objects.get(company_id=st.company_id)
    started = st.uploading_since or as_of
    inv = st.invoice
    cif = inv.seller.get("cui") or inv.company.cui
    # The buyer as the uploaded XML carries it (corrected after a rejection, or as issued).
    from .correction import buyer_of

    buyer = re.sub(r"\D", "", buyer_of(inv).get("tax_id", "") or "")
    days = min(60, max(1, (as_of - started).days + 2))
    attempt = _attempt(st, Attempt.Action.RECONCILE, as_of)
    try:
        messages = _call(conn, as_of, lambda c: c.messages(cif=cif, days=days))
    except (AnafUnavailable, AnafRateLimited) as e:
        _finish(attempt, "unavailable", str(e), as_of=as_of)
        EfacturaState.objects.filter(pk=st.pk).update(
            next_attempt_at=_connection_trouble(conn.pk, e, as_of)
        )
        return st
    except (AnafError, NeedsReconnect) as e:
        _finish(attempt, "failed", str(e), as_of=as_of)
        EfacturaState.objects.filter(pk=st.pk).update(next_attempt_at=as_of + timedelta(minutes=30))
        return st
    claimed = set(
        EfacturaState.objects.filter(company_id=st.company_id)
        .exclude(upload_index="")
        .values_list("upload_index", flat=True)
    ) | set(  # uploads ANAF rejected before a correction: their error files are not this one's
        InvoiceCorrection.objects.filter(company_id=st.company_id)
        .exclude(rejected_upload_index="")
        .values_list("rejected_upload_index", flat=True)
    )
    # ANAF's data_creare is Bucharest wall time; a few minutes of slack for clock differences.
    since = (started - timedelta(minutes=5)).astimezone(BUCHAREST).replace(tzinfo=None)
    fresh = [
        m for m in messages
        if m.upload_index not in claimed and (m.created_at is None or m.created_at >= since)
    ]  # fmt: skip
    for m in fresh:
        if m.kind != KIND_SENT:
            continue
        b = _BUYER.search(m.details)
        if b and buyer and b.group(1) != buyer:
            continue  # another client's invoice: no need to download it
        try:
            zip_bytes = _call(conn, as_of, lambda c, mid=m.id: c.download(mid))
        except (AnafError, NeedsReconnect) as e:
            _finish(attempt, "failed", f"download {m.id}: {e}", as_of=as_of)
            EfacturaState.objects.filter(pk=st.pk).update(
                next_attempt_at=as_of + timedelta(minutes=15)
            )
            return st
        found = invoice_in_zip(zip_bytes)
        if (
            found
            and found.number == inv.full_number
            and found.issue_date == inv.issue_date.isoformat()
        ):
            with transaction.atomic():
                st = (
                    EfacturaState.objects.select_for_update()
                    .select_related("invoice")
                    .get(pk=st.pk)
                )
                st.upload_index, st.download_id = m.upload_index, m.id
                st.uploaded_at = st.uploaded_at or as_of
                st.anaf_state = STATE_OK
                _accept(st, zip_bytes, as_of)
                _finish(
                    attempt,
                    "found",
                    f"accepted as upload {m.upload_index}",
                    as_of=as_of,
                    upload_index=m.upload_index,
                )
            return st
    errors = [m for m in fresh if m.kind == KIND_ERRORS]
    lost_here = EfacturaState.objects.filter(
        company_id=st.company_id, state=EState.UPLOADING
    ).count()
    if len(errors) == 1 and lost_here == 1:
        # An error file does not name the invoice: it is ours only when nothing else is unaccounted for.
        m = errors[0]
        try:
            zip_bytes = _call(conn, as_of, lambda c: c.download(m.id))
        except (AnafError, NeedsReconnect) as e:
            _finish(attempt, "failed", f"download {m.id}: {e}", as_of=as_of)
            EfacturaState.objects.filter(pk=st.pk).update(
                next_attempt_at=as_of + timedelta(minutes=15)
            )
            return st
        with transaction.atomic():
            st = EfacturaState.objects.select_for_update().select_related("invoice").get(pk=st.pk)
            st.upload_index, st.download_id, st.anaf_state = m.upload_index, m.id, STATE_NOK
            st.answer_zip, st.answer_sha256, st.answer_downloaded_at = (
                zip_bytes,
                _sha(zip_bytes),
                as_of,
            )
            _reject(
                st, errors_in_zip(zip_bytes) or ["ANAF rejected the invoice (no message)"], as_of
            )
            _finish(
                attempt,
                "found",
                f"rejected as upload {m.upload_index}",
                as_of=as_of,
                upload_index=m.upload_index,
            )
        return st
    if as_of - started >= conf.hours("RECONCILE_GRACE_HOURS"):
        _back_to_queue(st, attempt, "not found at ANAF after the grace period; upload again", as_of)
        EfacturaState.objects.filter(pk=st.pk).update(next_attempt_at=as_of)
        return st
    _finish(attempt, "not_yet", f"{len(messages)} messages, none of them this invoice", as_of=as_of)
    EfacturaState.objects.filter(pk=st.pk).update(next_attempt_at=as_of + timedelta(minutes=15))
    return st


# --- polling ------------------------------------------------------------------------------


def _poll_delay(queries: int) -> timedelta:
    """1, 2, 4… minutes, at most 30: a message rarely takes long, and 100 queries/day must last."""
    return timedelta(minutes=min(2**queries, 30))


def _counted_call(
    st: EfacturaState, conn: SpvConnection, action: str, fn: Any, as_of: datetime
) -> tuple[bool, Any, Any]:
    """One status or download request against the per-message daily quota (the counter was just
    incremented by the caller and is saved before the call, so a crash still counts it).

    Returns (True, answer, attempt) on success; on failure the attempt is finished, the next
    try scheduled, and (False, None, attempt) returned. A refusal on a status query keeps ANAF's
    word as the invoice's ANAF state.
    """
    attempt = _attempt(st, action, as_of)
    st.save(update_fields=["quota_day", "status_queries", "downloads", "updated_at"])
    try:
        answer = _call(conn, as_of, fn)
    except (AnafUnavailable, AnafRateLimited) as e:
        _finish(attempt, "unavailable", str(e), as_of=as_of)
        st.next_attempt_at = _connection_trouble(conn.pk, e, as_of)
        st.save(update_fields=["next_attempt_at", "updated_at"])
        return False, None, attempt
    except AnafRefused as e:
        _finish(attempt, "refused", str(e), as_of=as_of)
        if action == Attempt.Action.STATUS:
            st.anaf_state = e.errors[0][:60]
        st.next_attempt_at = _tomorrow(as_of) if e.quota_exceeded else as_of + timedelta(hours=1)
        st.save()
        return False, None, attempt
    except (AnafError, NeedsReconnect) as e:
        _finish(attempt, "failed", str(e), as_of=as_of)
        st.retries += 1
        st.next_attempt_at = as_of + _backoff(st.retries)
        st.save()
        return False, None, attempt
    _connection_ok(conn)
    return True, answer, attempt


def efactura_poll(*, invoice_id: int, as_of: datetime) -> EfacturaState:
    """Follow one UPLOADED invoice: stareMesaj, then descarcare of the answer."""
    st = EfacturaState.objects.select_related("invoice").get(pk=invoice_id)
    if st.state != EState.UPLOADED:
        return st
    conn = SpvConnection.objects.get(company_id=st.company_id)
    _reset_quota(st, as_of)
    if not st.download_id:
        if st.status_queries >= STATUS_QUOTA:
            st.next_attempt_at = _tomorrow(as_of)
            st.save()
            return st
        st.status_queries += 1
        done, answer, attempt = _counted_call(
            st, conn, Attempt.Action.STATUS, lambda c: c.status(st.upload_index), as_of
        )
        if not done:
            return st
        _finish(attempt, "ok", answer.state, as_of=as_of)
        st.anaf_state = answer.state
        if answer.state == STATE_PROCESSING:
            st.next_attempt_at = as_of + _poll_delay(st.status_queries)
            st.save()
            return st
        if answer.state == STATE_XML_ERRORS:
            with transaction.atomic():
                _reject(
                    st,
                    answer.errors
                    or ["ANAF could not read the XML (XML cu erori nepreluat de sistem)"],
                    as_of,
                )
            return st
        st.download_id = answer.download_id or ""
        st.save()
    return _download_answer(st, conn, as_of)


def _download_answer(st: EfacturaState, conn: SpvConnection, as_of: datetime) -> EfacturaState:
    if st.downloads >= DOWNLOAD_QUOTA:
        st.next_attempt_at = _tomorrow(as_of)
        st.save()
        return st
    st.downloads += 1
    done, zip_bytes, attempt = _counted_call(
        st, conn, Attempt.Action.DOWNLOAD, lambda c: c.download(st.download_id), as_of
    )
    if not done:
        return st
    _finish(attempt, "ok", f"{len(zip_bytes)} bytes", as_of=as_of)
    with transaction.atomic():
        if st.anaf_state == STATE_NOK:
            st.answer_zip, st.answer_sha256, st.answer_downloaded_at = (
                zip_bytes,
                _sha(zip_bytes),
                as_of,
            )
            _reject(
                st,
                errors_in_zip(zip_bytes)
                or ["ANAF rejected the invoice (no message in its answer)"],
                as_of,
            )
        else:
            _accept(st, zip_bytes, as_of)
    return st


# --- the worker task ----------------------------------------------------------------------


def _due(as_of: datetime, limit: int) -> list[EfacturaState]:
    paused = SpvConnection.objects.filter(backoff_until__gt=as_of).values_list(
        "company_id", flat=True
    )
    qs = (
        EfacturaState.objects.filter(
            state__in=[EState.QUEUED, EState.UPLOADING, EState.UPLOADED],
            next_attempt_at__lte=as_of,
        )
        .exclude(company_id__in=paused)
        .order_by("next_attempt_at", "pk")
    )
    return list(qs[:limit])


def efactura_tick(*, limit: int = 50, as_of: datetime | None = None) -> int:
    """One pass of the poller (registered as worker task "efactura"): how many items it handled."""
    from recurent.common import clock

    handled = 0
    while handled < limit:
        now = as_of or clock.now()
        batch = _due(now, min(limit - handled, 50))
        if not batch:
            break
        progressed = False
        for st in batch:
            if SpvConnection.objects.filter(
                company_id=st.company_id, backoff_until__gt=now
            ).exists():
                continue  # ANAF trouble found earlier in this pass
            before = (st.state, st.next_attempt_at)
            if st.state == EState.QUEUED:
                st = efactura_upload(invoice_id=st.pk, as_of=now)
            elif st.state == EState.UPLOADING:
                st = efactura_reconcile(invoice_id=st.pk, as_of=now)
            else:
                st = efactura_poll(invoice_id=st.pk, as_of=now)
            handled += 1
            st.refresh_from_db(fields=["state", "next_attempt_at"])
            progressed = progressed or (st.state, st.next_attempt_at) != before
        if not progressed:
            break
    handled += incoming_tick(limit=max(0, limit - handled), as_of=as_of or clock.now())
    return handled


# --- incoming supplier invoices -----------------------------------------------------------


def incoming_sync(*, company_id: int, as_of: datetime, days: int = 60) -> int:
    """List supplier invoices (filter P) into IncomingInvoice rows; returns how many were new."""
    conn = SpvConnection.objects.select_related("company").get(company_id=company_id)
    messages: list[Message] = _call(
        conn, as_of, lambda c: c.messages(cif=conn.company.cui, days=days, filter="P")
    )
    _connection_ok(conn)
    existing = set(
        IncomingInvoice.objects.filter(company_id=company_id).values_list("message_id", flat=True)
    )
    new = []
    for m in messages:
        if m.id in existing:
            continue
        supplier = re.search(r"cif_emitent\s*=\s*(\d+)", m.details)
        created = m.created_at.replace(tzinfo=BUCHAREST) if m.created_at else None
        new.append(
            IncomingInvoice(
                company_id=company_id,
                message_id=m.id,
                upload_index=m.upload_index,
                supplier_cif=supplier.group(1) if supplier else "",
                details=m.details[:2000],
                anaf_created_at=created,
                listed_at=as_of,
            )  # fmt: skip
        )
    IncomingInvoice.objects.bulk_create(new, ignore_conflicts=True)
    SpvConnection.objects.filter(pk=conn.pk).update(incoming_checked_at=as_of)
    return len(new)


def incoming_download(*, incoming: IncomingInvoice, as_of: datetime) -> IncomingInvoice:
    """The supplier's ZIP, fetched once and kept (ANAF deletes it after ~60 days)."""
    if incoming.zip is not None:
        return incoming
    conn = SpvConnection.objects.get(company_id=incoming.company_id)
    zip_bytes = _call(conn, as_of, lambda c: c.download(incoming.message_id))
    IncomingInvoice.objects.filter(pk=incoming.pk).update(zip=zip_bytes, downloaded_at=as_of)
    incoming.zip, incoming.downloaded_at = zip_bytes, as_of
    return incoming


def incoming_tick(*, limit: int, as_of: datetime) -> int:
    """List each connected company's supplier invoices every INCOMING_EVERY_MINUTES."""
    if limit <= 0:
        return 0
    stale = as_of - conf.minutes("INCOMING_EVERY_MINUTES")
    conns = (
        SpvConnection.objects.filter(status=ConnectionStatus.CONNECTED)
        .filter(Q(incoming_checked_at__isnull=True) | Q(incoming_checked_at__lte=stale))
        .exclude(backoff_until__gt=as_of)
        .order_by("incoming_checked_at", "pk")[:limit]
    )
    done = 0
    for conn in conns:
        try:
            incoming_sync(company_id=conn.company_id, as_of=as_of)
        except (AnafUnavailable, AnafRateLimited) as e:
            _connection_trouble(conn.pk, e, as_of)
        except (AnafError, NeedsReconnect) as e:
            log.warning("company %s: listing supplier invoices failed: %s", conn.company_id, e)
            SpvConnection.objects.filter(pk=conn.pk).update(incoming_checked_at=as_of)
        done += 1
    return done


def history(*, invoice: Invoice) -> list[dict[str, Any]]:
    """The attempts of an invoice, oldest first, for the invoice page."""
    fields = ("action", "started_at", "finished_at", "outcome", "detail", "upload_index")
    return [{f: getattr(a, f) for f in fields} for a in Attempt.objects.filter(state_id=invoice.pk)]
