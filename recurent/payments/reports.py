"""Receivables reports: aging per client, the client statement (fișa clientului), invoiced vs
collected per month. Each is a header + rows of plain values, written as CSV or XLSX."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext, pgettext

from recurent.clients.models import Client
from recurent.common.csvsafe import safe_row, xlsx_append
from recurent.engine.money import round_money
from recurent.invoices.models import Invoice, InvoiceKind

from . import selectors
from .models import Payment, PaymentMethod

# Titles, headers and row labels are translated when a report is built: in a request, in the
# user's language (the CSV/XLSX downloads too); elsewhere, in the default language (Romanian).
BUCKETS = ("current", "1-30", "31-60", "61-90", ">90")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Table:
    title: str
    header: list[str]
    rows: list[list[Any]]


def _bucket(days_late: int) -> str:
    if days_late <= 0:
        return "current"
    if days_late <= 30:
        return "1-30"
    if days_late <= 60:
        return "31-60"
    if days_late <= 90:
        return "61-90"
    return ">90"


def aging(company_id: int, as_of: date | datetime, currency: str = "RON") -> Table:
    """Outstanding per client split by days past due; one query for the open invoices."""
    today = selectors.day_of(as_of)
    per: dict[int, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(BUCKETS, ZERO))
    names: dict[int, str] = {}
    for _pk, _num, client_id, name, due, left in selectors._open_rows(company_id, as_of, currency):
        per[client_id][_bucket((today - due).days)] += round_money(left)
        names.setdefault(client_id, name)
    rows = []
    totals = dict.fromkeys(BUCKETS, ZERO)
    for cid in sorted(per, key=lambda c: names[c].lower()):
        b = per[cid]
        rows.append([names[cid], *[b[k] for k in BUCKETS], sum(b.values(), ZERO)])
        for k in BUCKETS:
            totals[k] += b[k]
    rows.append(["TOTAL", *[totals[k] for k in BUCKETS], sum(totals.values(), ZERO)])
    return Table(
        gettext("Receivables aging on %(date)s (%(currency)s)")
        % {"date": today.isoformat(), "currency": currency},
        [
            pgettext("report", "client"),
            pgettext("report", "current"),
            pgettext("report", "1-30 days"),
            pgettext("report", "31-60 days"),
            pgettext("report", "61-90 days"),
            pgettext("report", "over 90 days"),
            pgettext("report", "total"),
        ],
        rows,
    )


def client_statement(
    client: Client, date_from: date, date_to: date, currency: str = "RON"
) -> Table:
    """Fișa clientului: opening balance, every invoice, credit note, payment and reversal in the
    period with a running balance (positive: the client owes)."""
    inv_q = Invoice.objects.filter(client=client, currency=currency)
    pay_q = Payment.objects.filter(client=client, currency=currency)

    def signed(inv: Invoice) -> Decimal:
        return abs(inv.gross_total) * (1 if inv.kind == InvoiceKind.INVOICE else -1)

    opening = sum((signed(i) for i in inv_q.filter(issue_date__lt=date_from)), ZERO)
    opening -= sum((p.amount for p in pay_q.filter(date__lt=date_from)), ZERO)
    opening += sum(
        (p.amount for p in pay_q.filter(reversed=True, reversed_at__date__lt=date_from)), ZERO
    )
    events: list[tuple[date, int, str, str, Decimal, Decimal]] = []
    for inv in inv_q.filter(issue_date__gte=date_from, issue_date__lte=date_to).order_by(
        "issue_date", "number"
    ):
        label = (
            pgettext("report", "invoice %(number)s")
            if inv.kind == InvoiceKind.INVOICE
            else pgettext("report", "credit note %(number)s")
        )
        amt = signed(inv)
        events.append(
            (inv.issue_date, 0, label % {"number": inv.full_number},
             pgettext("report", "due %(date)s") % {"date": inv.due_date},
             amt if amt > 0 else ZERO, -amt if amt < 0 else ZERO)
        )  # fmt: skip
    for p in pay_q.filter(
        Q(date__gte=date_from, date__lte=date_to)
        | Q(reversed=True, reversed_at__date__gte=date_from, reversed_at__date__lte=date_to)
    ).order_by("date", "pk"):
        if date_from <= p.date <= date_to:
            events.append(
                (p.date, 1, pgettext("report", "payment by %(method)s") % {"method": _method(p.method)},
                 p.reference or p.receipt_number,
                 ZERO, p.amount)
            )  # fmt: skip
        if p.reversed and p.reversed_at:
            d = selectors.day_of(p.reversed_at)
            if date_from <= d <= date_to:
                events.append(
                    (
                        d,
                        2,
                        pgettext("report", "payment reversed"),
                        p.reversed_reason,
                        p.amount,
                        ZERO,
                    )
                )
    events.sort(key=lambda e: (e[0], e[1]))
    balance = round_money(opening)
    rows: list[list[Any]] = [
        [date_from, pgettext("report", "opening balance"), "", ZERO, ZERO, balance]
    ]
    for d, _, what, detail, debit, credit in events:
        balance = round_money(balance + debit - credit)
        rows.append([d, what, detail, debit, credit, balance])
    return Table(
        gettext("Client statement %(client)s %(start)s – %(end)s (%(currency)s)")
        % {"client": client.name, "start": date_from, "end": date_to, "currency": currency},
        [
            pgettext("report", "date"),
            pgettext("report", "document"),
            pgettext("report", "details"),
            pgettext("report", "debit"),
            pgettext("report", "credit"),
            pgettext("report", "balance"),
        ],
        rows,
    )


def invoiced_vs_collected(
    company_id: int, months: int, as_of: date | datetime, currency: str = "RON"
) -> Table:
    rows: list[list[Any]] = [
        [m.month.strftime("%Y-%m"), m.invoiced, m.collected, m.invoiced - m.collected]
        for m in selectors.invoiced_vs_collected(company_id, months, as_of, currency)
    ]
    return Table(
        gettext("Invoiced vs collected (%(currency)s)") % {"currency": currency},
        [
            pgettext("report", "month"),
            pgettext("report", "invoiced"),
            pgettext("report", "collected"),
            pgettext("report", "difference"),
        ],
        rows,
    )


def _method(value: str) -> str:
    return str(PaymentMethod(value).label) if value in PaymentMethod.values else value


def to_csv(table: Table) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";")
    w.writerow(safe_row(table.header))
    for row in table.rows:
        w.writerow(safe_row(v.isoformat() if isinstance(v, date) else v for v in row))
    # BOM: Excel opens a UTF-8 CSV with diacritics correctly only with it.
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = pgettext("report", "Report")
    xlsx_append(ws, [table.title])
    ws["A1"].font = Font(bold=True)
    xlsx_append(ws, table.header)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in table.rows:
        xlsx_append(ws, row)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    for col in ws.columns:
        width = max(len(str(c.value or "")) for c in col[1:]) if len(col) > 1 else 10
        ws.column_dimensions[col[0].column_letter].width = min(max(width + 2, 10), 60)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
