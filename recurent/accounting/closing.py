"""The month-close package: one ZIP per company and month with everything the accountant files.

Contents: every invoice and credit note of the month (PDF, the XML sent to ANAF, ANAF's signed
answer or the reason it is missing), the Saga / WinMENTOR / journal files, the month's payments,
the supplier invoices received through SPV, a one-page summary in Romanian (numbering per
series with its proof of no gap, VAT per rate for the D300 return, e-Factura state and
deadlines, unmatched payments, overdue receivables), and a manifest with each file's SHA-256.
Building it marks nothing: it can be built again for the same month.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db.models import Count, Sum
from django.utils import timezone

from recurent.companies.models import Company
from recurent.engine.money import round_money
from recurent.engine.workdays import add_working_days
from recurent.payments.models import LineStatus, Payment, PaymentMethod, StatementLine

from . import formats
from .journal import accounts_for, invoices_between, journal
from .models import ExportFormat
from .services import ExportFile, manifest, month_period, receipts_between, render_format

ZERO = Decimal("0.00")
TEMPLATE = Path(__file__).resolve().parent / "templates" / "accounting" / "month_summary.typ"
LIST_ROWS = 8  # rows of a list on the one-page summary; the whole lists are files in the ZIP
EFACTURA_DAYS = 5  # working days from issue to upload (domain.md: e-Factura)
CATEGORY_RO = {
    "S": "Cota standard/redusă", "Z": "Cota zero", "E": "Scutit", "AE": "Taxare inversă",
    "K": "Livrare intracomunitară", "G": "Export", "O": "Neimpozabil",
}  # fmt: skip
METHOD_RO: dict[str, str] = {
    PaymentMethod.BANK_TRANSFER: "Transfer bancar", PaymentMethod.CARD: "Card",
    PaymentMethod.CASH: "Numerar", PaymentMethod.DIRECT_DEBIT: "Debit direct",
    PaymentMethod.COMPENSATION: "Compensare",
}  # fmt: skip
STATE_RO = {
    "not_sent": "netrimisă", "queued": "în coadă", "uploading": "se încarcă",
    "uploaded": "încărcată, așteaptă ANAF", "accepted": "acceptată", "rejected": "respinsă",
}  # fmt: skip


def ro_money(value: Decimal) -> str:
    """1.234,56 — the Romanian way, for the summary."""
    sign = "-" if value < 0 else ""
    whole, _, cents = f"{abs(value):.2f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return f"{sign}{'.'.join(groups)},{cents}"


@dataclass
class SeriesRun:
    series: str
    year: int
    yearly: bool = False
    numbers: list[int] = field(default_factory=list)

    @property
    def gaps(self) -> list[int]:
        have = set(self.numbers)
        return [n for n in range(min(have), max(have) + 1) if n not in have] if have else []


@dataclass
class MonthSummary:
    company: str
    cui: str
    month: str
    generated: str
    user: str
    series: list[SeriesRun]
    vat: list[tuple[str, Decimal, Decimal]]  # (label, base RON, VAT RON)
    efactura_pending: list[tuple[str, date, str, date]]  # number, issued, state, deadline
    accepted: int
    invoice_count: int
    payments: list[tuple[str, int, Decimal, str]]  # method, count, sum, currency
    unmatched_lines: int
    unmatched_sum: Decimal
    overdue: list[tuple[str, Decimal, int, str]]  # client, outstanding, invoices, currency
    missing: list[str]


def summarize(
    company: Company,
    month: str,
    as_of: datetime,
    user_name: str = "",
    invoices: list[Any] | None = None,
    rows: list[Any] | None = None,
) -> MonthSummary:
    """``invoices`` and their journal ``rows``, when the caller has them (the package), are not
    read again."""
    first, last = month_period(month)
    if invoices is None:
        invoices = list(invoices_between(company.pk, first, last))
    runs: dict[tuple[str, int], SeriesRun] = {}
    for inv in invoices:
        key = (inv.series.code, inv.year)
        runs.setdefault(key, SeriesRun(inv.series.code, inv.year, inv.series.yearly_restart))
        runs[(inv.series.code, inv.year)].numbers.append(inv.number)
    vat: dict[tuple[str, Decimal], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for r in rows if rows is not None else journal(invoices, accounts_for(company.pk)):
        vat[(r.vat_category, r.vat_rate)][0] += r.net_ron
        vat[(r.vat_category, r.vat_rate)][1] += r.vat_ron
    pending = []
    accepted = 0
    for inv in invoices:
        st = getattr(inv, "efactura", None)
        state = st.state if st else "not_sent"
        if state == "accepted":
            accepted += 1
        else:
            pending.append(
                (inv.full_number, inv.issue_date, STATE_RO.get(state, state),
                 add_working_days(inv.issue_date, EFACTURA_DAYS))
            )  # fmt: skip
    pays = (
        Payment.objects.filter(company=company, date__gte=first, date__lte=last, reversed=False)
        .values("method", "currency")
        .annotate(n=Count("pk"), s=Sum("amount"))
        .order_by("method", "currency")
    )
    unmatched = StatementLine.objects.filter(
        company=company, booking_date__gte=first, booking_date__lte=last,
        status=LineStatus.UNMATCHED, credit=True,
    ).aggregate(n=Count("pk"), s=Sum("amount"))  # fmt: skip
    return MonthSummary(
        company=company.legal_name,
        cui=company.cui,
        month=month,
        generated=timezone.localtime(as_of).strftime("%d.%m.%Y %H:%M"),
        user=user_name or "recurent",
        series=sorted(runs.values(), key=lambda s: (s.series, s.year)),
        vat=[
            (f"{CATEGORY_RO.get(cat, cat)} {rate.normalize():f}%", round_money(b), round_money(v))
            for (cat, rate), (b, v) in sorted(vat.items())
        ],
        efactura_pending=pending,
        accepted=accepted,
        invoice_count=len(invoices),
        payments=[
            (METHOD_RO.get(p["method"], p["method"]), p["n"], round_money(p["s"]), p["currency"])
            for p in pays
        ],
        unmatched_lines=unmatched["n"] or 0,
        unmatched_sum=round_money(unmatched["s"] or ZERO),
        overdue=overdue_at(company.pk, last, as_of),
        missing=[],
    )


def overdue_at(
    company_id: int, month_end: date, as_of: datetime
) -> list[tuple[str, Decimal, int, str]]:
    """Open invoices due by the end of the month and unpaid when the package is built."""
    from recurent.payments.models import BalanceState, InvoiceBalance

    today = timezone.localtime(as_of).date()
    rows = (
        InvoiceBalance.objects.filter(
            company_id=company_id, state=BalanceState.OPEN, due_date__lte=month_end,
            due_date__lt=today,
        )
        .values("invoice__buyer_name", "currency")
        .annotate(s=Sum("outstanding"), n=Count("pk"))
        .order_by("-s")
    )  # fmt: skip
    return [(r["invoice__buyer_name"], round_money(r["s"]), r["n"], r["currency"]) for r in rows]


def summary_payload(s: MonthSummary) -> dict[str, Any]:
    def series_row(r: SeriesRun) -> list[str]:
        first, last, count = min(r.numbers), max(r.numbers), len(r.numbers)
        check = "fără goluri" if not r.gaps else "LIPSESC: " + ", ".join(map(str, r.gaps[:10]))
        label = f"{r.series} / {r.year}" if r.yearly else r.series
        return [label, str(first), str(last), str(count), check]

    vat_rows = [[label, ro_money(b), ro_money(v)] for label, b, v in s.vat]
    if s.vat:
        vat_rows.append(["TOTAL", ro_money(sum((b for _, b, _ in s.vat), ZERO)),
                         ro_money(sum((v for _, _, v in s.vat), ZERO))])  # fmt: skip
    if not s.efactura_pending:
        ef_line = f"Toate cele {s.invoice_count} facturi ale lunii sunt acceptate de ANAF."
    else:
        ef_line = (f"{s.accepted} din {s.invoice_count} facturi acceptate; "
                   f"{len(s.efactura_pending)} neacceptate încă (mai jos, cu termenul legal).")  # fmt: skip
    unmatched = (
        "Nicio încasare din extras nepotrivită."
        if not s.unmatched_lines
        else f"{s.unmatched_lines} încasări din extras așteaptă potrivirea manuală "
        f"({ro_money(s.unmatched_sum)})."
    )
    return {
        "company": s.company, "cui": s.cui, "month": s.month, "generated": s.generated,
        "user": s.user,
        "series": [series_row(r) for r in s.series] or [["—", "", "", "0", "nicio factură"]],
        "vat": vat_rows or [["—", "0,00", "0,00"]],
        "efactura_line": ef_line,
        "efactura": [[n, d.strftime("%d.%m.%Y"), st, dl.strftime("%d.%m.%Y")]
                     for n, d, st, dl in s.efactura_pending[:LIST_ROWS]]
        + ([[f"… și încă {len(s.efactura_pending) - LIST_ROWS} (lista întreagă: efactura.csv)",
             "", "", ""]] if len(s.efactura_pending) > LIST_ROWS else []),
        "payments": [[m, str(n), f"{ro_money(v)} {c}"] for m, n, v, c in s.payments]
        or [["—", "0", "0,00"]],
        "unmatched_line": unmatched,
        "overdue": [[name, f"{ro_money(v)} {c}", str(n)] for name, v, n, c in s.overdue[:LIST_ROWS]]
        + ([[f"… și încă {len(s.overdue) - LIST_ROWS} clienți", "", ""]]
           if len(s.overdue) > LIST_ROWS else [])
        or [["—", "0,00", "0"]],
        "contents_line": (
            "Facturi (PDF, XML, răspuns ANAF), fișiere Saga / WinMENTOR / jurnal, încasări, "
            "facturi de la furnizori, manifest.json cu SHA-256 pentru fiecare fișier."
            + (f" Lipsesc {len(s.missing)} documente (lista: lipsa.txt)." if s.missing else "")
        ),
    }  # fmt: skip


def summary_pdf(s: MonthSummary) -> bytes:
    import typst

    from recurent.documents.pdf import FONTS

    data = json.dumps(summary_payload(s), ensure_ascii=False)
    return typst.compile(  # type: ignore[no-any-return]
        str(TEMPLATE), root=str(TEMPLATE.parent), font_paths=[str(FONTS)],
        ignore_system_fonts=True, sys_inputs={"data": data},
    )  # fmt: skip


def month_close_package(
    *, company: Company, month: str, as_of: datetime, user: Any = None
) -> ExportFile:
    from recurent.documents.services import DocumentInvalid, document_bytes
    from recurent.efactura.models import IncomingInvoice

    first, last = month_period(month)
    acc = accounts_for(company.pk)
    invoices = list(invoices_between(company.pk, first, last))
    files: list[tuple[str, bytes]] = []
    missing: list[str] = []
    for inv in invoices:
        folder = f"facturi/{inv.series.code}/"
        name = inv.full_number.replace("/", "-")
        for kind in ("pdf", "xml"):
            try:
                files.append((f"{folder}{name}.{kind}", document_bytes(inv, kind)))
            except DocumentInvalid:
                missing.append(f"{inv.full_number}: XML invalid")
        st = getattr(inv, "efactura", None)
        answer = st.answer_zip if st is not None and st.state == "accepted" else None
        if answer:
            files.append((f"{folder}{name}_ANAF.zip", bytes(answer)))
        else:
            state = STATE_RO.get(st.state if st else "not_sent", "")
            missing.append(f"{inv.full_number}: fără răspunsul semnat ANAF ({state})")
    rows = list(journal(invoices, acc))
    receipts = receipts_between(company.pk, first, last)
    for fmt in (ExportFormat.SAGA, ExportFormat.WINMENTOR, ExportFormat.CSV):
        fname, _ctype, data = render_format(
            fmt, company=company, rows=rows, receipts=receipts, acc=acc, date_from=first,
            date_to=last, invoices=invoices,
        )  # fmt: skip
        files.append((f"contabilitate/{fname}", data))
    files.append((f"incasari/incasari_{month}.csv", payments_csv(receipts)))
    summary = summarize(
        company, month, as_of, getattr(user, "username", "") or "", invoices=invoices, rows=rows
    )
    files.append((f"efactura_{month}.csv", efactura_csv(summary)))
    incoming = IncomingInvoice.objects.filter(
        company=company, anaf_created_at__date__gte=first, anaf_created_at__date__lte=last
    ).exclude(zip=None)
    for inc in incoming.order_by("pk"):
        files.append((f"furnizori/{inc.supplier_cif or 'necunoscut'}_{inc.upload_index}.zip",
                      bytes(inc.zip or b"")))  # fmt: skip
    summary.missing = missing
    if missing:
        files.append(("lipsa.txt", ("\n".join(missing) + "\n").encode()))
    files.insert(0, ("sumar.pdf", summary_pdf(summary)))
    files.append(("manifest.json", manifest(files)))
    data = formats.zip_files(files)
    cui = formats.digits_only(company.cui)
    return ExportFile(f"inchidere_{cui}_{month}.zip", "application/zip", data, len(invoices))


def payments_csv(receipts: list[formats.Receipt]) -> bytes:
    return formats.table_csv(
        ["date", "number", "method", "client", "client_tax_id", "amount", "currency", "invoice"],
        [[r.date, r.number, METHOD_RO.get(r.method, r.method), r.client_name,
          r.client_tax_id, r.amount, r.currency, r.invoice_number] for r in receipts],
    )  # fmt: skip


def efactura_csv(s: MonthSummary) -> bytes:
    return formats.table_csv(
        ["invoice", "issue_date", "state", "upload_deadline"],
        [[n, d, st, dl] for n, d, st, dl in s.efactura_pending],
    )
