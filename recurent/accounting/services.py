"""The accountant's month: accounting exports and the month-close package.

``accounting_export`` writes one format for a period; ``only_new`` takes the invoices that format
has not exported yet, and every export marks what it handed over (a separate table: issued
invoices are never touched). ``month_close_package`` builds the ZIP an accountant files for a
month; it marks nothing, so it can be built again and again.
"""

from __future__ import annotations

import hashlib
import json
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from recurent.clients.models import Client
from recurent.companies.models import Company
from recurent.payments.models import Payment

from . import formats
from .formats import Party, Receipt
from .journal import Accounts, JournalRow, accounts_for, invoices_between, journal
from .models import AccountingExport, ExportedInvoice, ExportFormat

MAX_DAYS = 366


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content_type: str
    content: bytes
    invoice_count: int


def field_error(field: str, message: Any, code: str, **params: Any) -> ValidationError:
    """A ValidationError naming its field, with a code and the parameters of its message (a
    dict given straight to ValidationError would drop both)."""
    return ValidationError({field: ValidationError(message, code=code, params=params or None)})


def check_period(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    if date_from is None:
        raise field_error("date_from", _("give the first day of the period"), "required")
    if date_to is None:
        raise field_error("date_to", _("give the last day of the period"), "required")
    if date_to < date_from:
        raise field_error("date_to", _("the period ends before it starts"), "period_reversed")
    if (date_to - date_from).days >= MAX_DAYS:
        raise field_error(
            "date_to", _("a period is at most %(days)s days"), "period_too_long", days=MAX_DAYS
        )
    return date_from, date_to


def check_format(fmt: str) -> ExportFormat:
    try:
        return ExportFormat(fmt)
    except ValueError:
        raise field_error(
            "format", _("%(value)s is not a format; choose one of %(choices)s"),
            "invalid_choice", value=repr(fmt), choices=", ".join(ExportFormat.values),
        ) from None  # fmt: skip


def month_period(month: str) -> tuple[date, date]:
    """'2026-11' -> (2026-11-01, 2026-11-30)."""
    try:
        year, mon = (int(x) for x in month.split("-"))
        first = date(year, mon, 1)
    except (ValueError, TypeError):
        raise field_error(
            "month", _("%(value)s is not a month; write it as YYYY-MM, e.g. 2026-11"),
            "invalid_month", value=month,
        ) from None  # fmt: skip
    return first, date(year, mon, monthrange(year, mon)[1])


# --- what goes into the files -------------------------------------------------------------


def receipts_between(company_id: int, date_from: date, date_to: date) -> list[Receipt]:
    """Payments of the period, one entry per invoice paid (and one for what paid none)."""
    out: list[Receipt] = []
    payments = (
        Payment.objects.filter(
            company_id=company_id, date__gte=date_from, date__lte=date_to, reversed=False
        )
        .select_related("client")
        .prefetch_related("allocations__invoice")
        .order_by("date", "pk")
    )
    for p in payments:
        number = p.receipt_number or p.reference[:30] or f"P{p.pk}"
        rest = p.amount
        for a in p.allocations.all():
            rest -= a.amount
            out.append(
                Receipt(
                    payment_id=p.pk,
                    date=p.date,
                    number=number,
                    amount=a.amount,
                    currency=p.currency,
                    method=p.method,
                    client_id=p.client_id,
                    client_name=p.client.name,
                    client_tax_id=p.client.tax_id,
                    invoice_id=a.invoice_id,
                    invoice_number=a.invoice.full_number,
                    explanation=f"Incasare {a.invoice.full_number}",
                )  # fmt: skip
            )
        if rest:
            out.append(
                Receipt(
                    payment_id=p.pk,
                    date=p.date,
                    number=number,
                    amount=rest,
                    currency=p.currency,
                    method=p.method,
                    client_id=p.client_id,
                    client_name=p.client.name,
                    client_tax_id=p.client.tax_id,
                    invoice_id=None,
                    invoice_number="",
                    explanation=f"Avans {p.client.name}",
                )  # fmt: skip
            )
    return out


def parties(client_ids: set[int]) -> list[Party]:
    return [
        Party(
            client_id=c.pk,
            name=c.name,
            tax_id=c.tax_id,
            trade_register=c.trade_register,
            country=c.country,
            county=c.county,
            city=c.city,
            street=c.street,
            iban=c.iban,
            bank=c.bank,
            email=", ".join(c.emails or []),
            kind=c.kind,
        )  # fmt: skip
        for c in Client.objects.filter(pk__in=client_ids).order_by("pk")
    ]


def render_format(
    fmt: ExportFormat,
    *,
    company: Company,
    rows: list[JournalRow],
    receipts: list[Receipt],
    acc: Accounts,
    date_from: date,
    date_to: date,
    invoices: list[Any],
) -> tuple[str, str, bytes]:
    """(filename, content type, bytes) of one format for the given rows."""
    span = f"{date_from:%Y-%m-%d}_{date_to:%Y-%m-%d}"
    if fmt in (ExportFormat.CSV, ExportFormat.XLSX):
        values = [formats.journal_values(r) for r in rows]
        if fmt == ExportFormat.CSV:
            return (
                f"jurnal_{span}.csv",
                "text/csv",
                formats.table_csv(formats.JOURNAL_HEADER, values),
            )
        data = formats.table_xlsx(formats.JOURNAL_HEADER, values, "Jurnal vanzari")
        xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return f"jurnal_{span}.xlsx", xlsx, data
    grouped = formats.by_invoice(rows)
    ids = {r.client_id for r in rows} | {r.client_id for r in receipts}
    people = parties(ids)
    if fmt == ExportFormat.SAGA:
        files: list[tuple[str, bytes]] = []
        by_id = {inv.pk: inv for inv in invoices}
        for inv_id, inv_rows in grouped.items():
            inv = by_id[inv_id]
            files.append(
                (
                    "facturi/" + formats.saga_invoice_name(inv_rows[0], company.cui),
                    formats.saga_invoice(inv_rows, inv.seller or {}, inv.buyer or {}),
                )
            )
        if receipts:
            files.append(
                (f"incasari/I_{date_to:%d-%m-%Y}.xml", formats.saga_receipts(receipts, acc))
            )
        if people:
            files.append((f"clienti/CLI_{date_to:%d-%m-%Y}.xml", formats.saga_clients(people)))
        return f"saga_{span}.zip", "application/zip", formats.zip_files(files)
    wm = formats.winmentor_invoices(list(grouped.values()), date_to.year, date_to.month)
    files = [(f"facturi_iesire_{span}.txt", wm), (f"parteneri_{span}.csv",
             formats.winmentor_partners(people))]  # fmt: skip
    return f"winmentor_{span}.zip", "application/zip", formats.zip_files(files)


def accounting_export(
    *,
    company: Company,
    fmt: str,
    date_from: date | None,
    date_to: date | None,
    only_new: bool = False,
    user: Any = None,
    as_of: datetime,
    mark: bool = True,
) -> ExportFile:
    """One accounting file for the company's invoices issued in the period (and its payments).

    With ``mark`` the invoices handed over are recorded as exported in this format, so a later
    ``only_new`` export takes the rest; nothing else is written."""
    kind = check_format(fmt)
    date_from, date_to = check_period(date_from, date_to)
    acc = accounts_for(company.pk)
    try:
        with transaction.atomic():
            qs = invoices_between(company.pk, date_from, date_to)
            if only_new:
                qs = qs.exclude(
                    pk__in=ExportedInvoice.objects.filter(format=kind).values("invoice_id")
                )
            invoices = list(qs)
            rows = list(journal(invoices, acc))
            receipts = receipts_between(company.pk, date_from, date_to)
            name, ctype, data = render_format(
                kind, company=company, rows=rows, receipts=receipts, acc=acc,
                date_from=date_from, date_to=date_to, invoices=invoices,
            )  # fmt: skip
            if mark:
                export = AccountingExport.objects.create(
                    company=company, format=kind, date_from=date_from, date_to=date_to,
                    only_new=only_new, created_at=as_of,
                    created_by=user if getattr(user, "pk", None) else None,
                    invoice_count=len(invoices), sha256=hashlib.sha256(data).hexdigest(),
                )  # fmt: skip
                done = set(
                    ExportedInvoice.objects.filter(
                        format=kind, invoice_id__in=[i.pk for i in invoices]
                    ).values_list("invoice_id", flat=True)
                )
                ExportedInvoice.objects.bulk_create(
                    ExportedInvoice(export=export, invoice_id=i.pk, format=kind)
                    for i in invoices
                    if i.pk not in done
                )
    except IntegrityError:
        # Another export of the same format marked some of these invoices in the meantime.
        raise field_error(
            "format", _("another export of this format ran at the same time; try again"),
            "concurrent_export",
        ) from None  # fmt: skip
    return ExportFile(name, ctype, data, len(invoices))


def manifest(files: list[tuple[str, bytes]]) -> bytes:
    return json.dumps(
        {
            "files": [
                {"name": n, "bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()}
                for n, b in files
            ]
        },
        indent=2,
        ensure_ascii=False,
    ).encode()
