"""Correcting an invoice ANAF rejected, and sending it again under the same number.

A rejected upload means the invoice was not delivered through e-Factura: it is corrected and
sent again, with the same number and date (docs/efactura.md). Only what does not change the
amounts may be corrected here: the buyer's data, the delivery data and the notes. Amounts
and lines need a storno.

The invoice row is never updated (invoices are immutable, a database trigger enforces it).
A correction is a new ``InvoiceCorrection`` row, versioned per invoice, holding the buyer,
delivery data and notes as they are from that version on, who made it, when and why, the
XML it produced and the rejected XML it replaced. ``documents.snapshot.from_invoice`` applies
the latest one (this module registers ``latest_corrections`` there), so the stored PDF and
XML, the portal and any later render show the corrected data. An invoice ANAF accepted is
never changed again: the correction is refused under the lock of its e-Factura state row,
the same row the upload moves on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from recurent.companies.models import Membership, Role
from recurent.invoices.models import Invoice, InvoiceStatus

from .models import EfacturaState, EState, InvoiceCorrection

# What a correction may change (the keys of the buyer snapshot, invoices.snapshots).
BUYER_FIELDS = (
    "kind",
    "name",
    "tax_id",
    "trade_register",
    "street",
    "city",
    "county",
    "country",
    "postal_code",
    "region",  # outside Romania: state or region as free text (BT-54)
)
# Deliver-to data (BG-13/BG-15, documents.snapshot.Delivery): BT-72 date, BT-75..BT-80 address.
DELIVERY_FIELDS = ("date", "street", "city", "postal_code", "county", "country")
SECTIONS = ("buyer", "delivery", "notes")
ROLES_ALLOWED = (Role.ACCOUNTANT, Role.ADMIN)
NOTES_MAX = 2000


def latest_corrections(invoice_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The latest correction of each invoice that has one (the snapshot's lookup, one query)."""
    out: dict[int, dict[str, Any]] = {}
    rows = (
        InvoiceCorrection.objects.filter(invoice_id__in=list(invoice_ids))
        .order_by("invoice_id", "-version")
        .values("invoice_id", "buyer", "delivery", "notes")
    )
    for r in rows:
        out.setdefault(
            r["invoice_id"], {"buyer": r["buyer"], "delivery": r["delivery"], "notes": r["notes"]}
        )
    return out


def current_data(invoice: Invoice) -> dict[str, Any]:
    """The buyer, delivery data and notes the invoice's documents show now."""
    latest = latest_corrections([invoice.pk]).get(invoice.pk)
    if latest:
        return {
            "buyer": dict(latest["buyer"]),
            "delivery": dict(latest["delivery"] or {}),
            "notes": latest["notes"],
        }
    return {"buyer": dict(invoice.buyer or {}), "delivery": {}, "notes": invoice.notes}


def buyer_of(invoice: Invoice) -> dict[str, Any]:
    """The buyer as the invoice's e-Factura carries it now (corrected or as issued)."""
    return current_data(invoice)["buyer"]


def corrections_of(invoice: Invoice) -> list[InvoiceCorrection]:
    return list(
        InvoiceCorrection.objects.filter(invoice=invoice)
        .defer("xml", "previous_xml", "rejected_answer_zip")
        .order_by("version")
    )


# --- checks ---------------------------------------------------------------------------------


def _require_role(user: Any, company_id: int) -> None:
    if user is None or getattr(user, "pk", None) is None:
        raise PermissionDenied(_("correcting an invoice needs the accountant or admin role"))
    role = (
        Membership.objects.filter(user_id=user.pk, company_id=company_id)
        .values_list("role", flat=True)
        .first()
    )
    if role not in ROLES_ALLOWED:
        raise PermissionDenied(_("correcting an invoice needs the accountant or admin role"))


def _clean_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Only buyer, delivery and notes; anything else (amounts, lines, dates…) is refused."""
    if not isinstance(changes, Mapping):
        raise ValidationError({"changes": [_("give the buyer, delivery or notes to correct")]})
    errors: dict[str, list[Any]] = {}
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in SECTIONS:
            errors[str(key)] = [
                ValidationError(
                    _("only the buyer, the delivery data and the notes can be corrected; "
                      "amounts and lines need a storno"),
                    code="not_correctable",
                )
            ]  # fmt: skip
            continue
        if key == "notes":
            if not isinstance(value, str):
                errors["notes"] = [_("the notes are text")]
            elif len(value) > NOTES_MAX:
                errors["notes"] = [
                    ValidationError(
                        _("at most %(max)s characters"), code="too_long", params={"max": NOTES_MAX}
                    )
                ]
            else:
                out["notes"] = value.strip()
            continue
        allowed = BUYER_FIELDS if key == "buyer" else DELIVERY_FIELDS
        if not isinstance(value, Mapping):
            errors[key] = [_("a set of fields and values")]
            continue
        section: dict[str, str] = {}
        for field, v in value.items():
            if field not in allowed:
                errors[f"{key}.{field}"] = [
                    ValidationError(
                        _("this field cannot be corrected; amounts and lines need a storno"),
                        code="not_correctable",
                    )
                ]
            elif v is not None and not isinstance(v, str):
                errors[f"{key}.{field}"] = [_("the value is text")]
            else:
                section[field] = (v or "").strip()
        out[key] = section
    if errors:
        raise ValidationError(errors)
    return out


def _check_buyer(buyer: dict[str, Any]) -> None:
    from recurent.engine.parties import check_party

    if buyer.get("kind") not in ("company", "individual"):
        raise ValidationError({"buyer.kind": [_("company or individual")]})
    problems = check_party(buyer, "buyer")
    if problems:
        errors: dict[str, list[str]] = {}
        for field, message in problems:
            errors.setdefault(f"buyer.{field}", []).append(message)
        raise ValidationError(errors)


def _check_delivery(delivery: dict[str, Any]) -> None:
    from datetime import date

    when = delivery.get("date") or ""
    if when:
        try:
            date.fromisoformat(when)
        except ValueError:
            raise ValidationError(
                {"delivery.date": [_("a date as YYYY-MM-DD")]}, code="invalid"
            ) from None
    country = delivery.get("country") or ""
    if country and not (len(country) == 2 and country.isalpha()):
        raise ValidationError({"delivery.country": [_("a two-letter country code (ISO 3166-1)")]})
    if country:
        delivery["country"] = country.upper()


def _check_correctable(invoice: Invoice, st: EfacturaState | None) -> None:
    """Only a rejected e-Factura, never an accepted one, never a cancelled invoice."""
    if st is not None and st.state == EState.ACCEPTED:
        raise ValidationError(
            {
                "invoice": ValidationError(
                    _("%(number)s was accepted by ANAF and can never be changed; "
                      "issue a storno to cancel it"),
                    code="accepted",
                    params={"number": invoice.full_number},
                )
            }
        )  # fmt: skip
    if st is None or st.state != EState.REJECTED:
        raise ValidationError(
            {
                "invoice": ValidationError(
                    _("only an invoice whose e-Factura ANAF rejected can be corrected "
                      "(%(number)s is %(state)s)"),
                    code="not_rejected",
                    params={
                        "number": invoice.full_number,
                        "state": (st.get_state_display() if st else EState.NOT_SENT.label),
                    },
                )
            }
        )  # fmt: skip
    if invoice.status == InvoiceStatus.CANCELLED:
        raise ValidationError(
            {
                "invoice": ValidationError(
                    _("%(number)s is cancelled by a storno"),
                    code="cancelled",
                    params={"number": invoice.full_number},
                )
            }
        )


# --- the service ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """What a correction would produce: the changes, the new XML and the check's findings."""

    changes: list[dict[str, Any]]
    xml: bytes
    findings: list[dict[str, str]]

    @property
    def valid(self) -> bool:
        return bool(self.xml) and not self.findings


class _Rollback(Exception):
    def __init__(self, preview: Preview) -> None:
        self.preview = preview


def _diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for section in SECTIONS:
        if section == "notes":
            if (before["notes"] or "") != (after["notes"] or ""):
                out.append({"field": "notes", "old": before["notes"], "new": after["notes"]})
            continue
        old, new = before[section], after[section]
        for key in sorted(set(old) | set(new)):
            if (old.get(key) or "") != (new.get(key) or ""):
                out.append(
                    {"field": f"{section}.{key}", "old": old.get(key, ""), "new": new.get(key, "")}
                )
    return out


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _apply(
    *,
    invoice: Invoice,
    changes: Mapping[str, Any],
    user: Any,
    reason: str,
    as_of: datetime,
    dry_run: bool,
) -> InvoiceCorrection:
    from recurent.documents import pdf
    from recurent.documents.models import DocumentKind, InvoiceDocument
    from recurent.documents.services import build_xml, doc_data, style_for

    _require_role(user, invoice.company_id)
    clean = _clean_changes(changes)
    reason = (reason or "").strip()
    if not dry_run and not reason:
        raise ValidationError({"reason": [_("say why the invoice is corrected")]})
    with transaction.atomic():
        # The state row's lock: the upload, the poller and another correction wait here, so
        # an invoice accepted meanwhile is seen as accepted and refused.
        st = EfacturaState.objects.select_for_update().filter(pk=invoice.pk).first()
        _check_correctable(invoice, st)
        assert st is not None
        before = current_data(invoice)
        after = {
            "buyer": {**before["buyer"], **clean.get("buyer", {})},
            "delivery": {
                k: v for k, v in {**before["delivery"], **clean.get("delivery", {})}.items() if v
            },
            "notes": clean.get("notes", before["notes"]),
        }
        diff = _diff(before, after)
        if not diff:
            raise ValidationError({"changes": [_("nothing differs from the current data")]})
        _check_buyer(after["buyer"])
        _check_delivery(after["delivery"])
        data = doc_data(invoice, correction=after)
        xml, findings = build_xml(data)
        if dry_run:
            raise _Rollback(Preview(diff, xml, findings))
        if findings:
            raise ValidationError(
                {
                    "xml": [
                        ValidationError(
                            _(
                                "the corrected e-Factura XML fails the check: [%(rule)s] %(message)s"
                            ),
                            code="xml_invalid",
                            params={"rule": f["rule"], "message": f["message"]},
                        )
                        for f in findings
                    ]
                }
            )
        docs = {
            d.kind: d for d in InvoiceDocument.objects.select_for_update().filter(invoice=invoice)
        }
        previous = docs.get(DocumentKind.XML)
        previous_xml = bytes(previous.content) if previous is not None else b""
        last = (
            InvoiceCorrection.objects.filter(invoice=invoice)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )
        correction = InvoiceCorrection.objects.create(
            invoice=invoice,
            company_id=invoice.company_id,
            version=(last or 0) + 1,
            buyer=after["buyer"],
            delivery=after["delivery"],
            notes=after["notes"],
            changes=diff,
            reason=reason,
            created_by=user,
            created_by_name=(user.get_full_name() or user.get_username())[:150],
            created_at=as_of,
            xml=xml,
            xml_sha256=_sha(xml),
            previous_xml=previous_xml,
            previous_sha256=_sha(previous_xml),
            rejected_upload_index=st.upload_index,
            rejected_errors=list(st.errors),
            rejected_answer_zip=st.answer_zip,
        )
        # The stored documents are what every download returns: replace them (created_at is
        # kept, so the annexes inside the XML stay the ones it was first rendered with).
        if previous is not None:
            InvoiceDocument.objects.filter(pk=previous.pk).update(
                content=xml, sha256=_sha(xml), valid=True, findings=[]
            )
        else:
            InvoiceDocument.objects.create(
                invoice=invoice,
                kind=DocumentKind.XML,
                filename=f"{invoice.full_number}.xml"[:120],
                content_type="application/xml",
                content=xml,
                sha256=_sha(xml),
            )
        if DocumentKind.PDF in docs:
            content = pdf.render(data, style_for(invoice.company))
            InvoiceDocument.objects.filter(pk=docs[DocumentKind.PDF].pk).update(
                content=content, sha256=_sha(content)
            )
        # Sent again under the same number: a new upload, with its own index and ANAF quotas.
        st.state = EState.QUEUED
        st.queued_at = st.next_attempt_at = as_of
        st.upload_index = st.download_id = st.anaf_state = st.xml_sha256 = st.answer_sha256 = ""
        st.errors, st.raw_errors = [], []
        st.answer_zip = None
        st.answer_downloaded_at = st.uploading_since = st.uploaded_at = st.decided_at = None
        st.retries = st.status_queries = st.downloads = 0
        st.save()
    return correction


def invoice_efactura_correct(
    *, invoice: Invoice, changes: Mapping[str, Any], user: Any, reason: str, as_of: datetime
) -> InvoiceCorrection:
    """Correct the buyer, delivery data or notes of an invoice whose e-Factura ANAF rejected,
    and queue it to be sent again under the same number.

    ``changes``: ``{"buyer": {field: value}, "delivery": {field: value}, "notes": "..."}``,
    each part optional, only the fields that change. Refused (``ValidationError`` naming the
    field) when the invoice was accepted by ANAF, is not rejected, when anything else is
    asked for, or when the new XML fails the e-Factura check; ``PermissionDenied`` for a
    user who is not an accountant or admin of the invoice's company."""
    return _apply(
        invoice=invoice, changes=changes, user=user, reason=reason, as_of=as_of, dry_run=False
    )


def invoice_efactura_correction_preview(
    *, invoice: Invoice, changes: Mapping[str, Any], user: Any, as_of: datetime
) -> Preview:
    """The XML a correction would send and what the check says of it; nothing is stored."""
    try:
        _apply(invoice=invoice, changes=changes, user=user, reason="", as_of=as_of, dry_run=True)
    except _Rollback as done:
        return done.preview
    raise AssertionError("a dry run always rolls back")  # pragma: no cover
