"""recurent export invoices --format json | recurent export invoice SERIES-NUMBER --format pdf|ubl -o FILE
| recurent export accounting --format saga|winmentor|csv|xlsx --from DATE --to DATE [--only-new] -o FILE
| recurent export month-close --month YYYY-MM -o FILE."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from recurent.common.cli_args import parse_instant
from recurent.engine.numbering import NumberingError
from recurent.invoices.selectors import invoice_by_full_number, invoices_export


class Command(BaseCommand):
    help = "Export every invoice as JSON, or one invoice's PDF / e-Factura XML."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("what", choices=["invoices", "invoice", "accounting", "month-close"])
        parser.add_argument("number", nargs="?", help="SERIES-NUMBER, with 'invoice'")
        parser.add_argument(
            "--format",
            default=None,
            choices=["json", "pdf", "ubl", "saga", "winmentor", "csv", "xlsx"],
        )
        parser.add_argument("--from", dest="date_from", help="accounting: first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", help="accounting: last day, YYYY-MM-DD")
        parser.add_argument(
            "--only-new", action="store_true", help="accounting: only invoices not exported yet"
        )
        parser.add_argument("--month", help="month-close: the month, YYYY-MM")
        parser.add_argument("--as-of", help="only invoices issued up to this instant")
        parser.add_argument("--company", type=int)
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        if o["what"] in ("accounting", "month-close"):
            return accounting_file(self, o)
        o["format"] = o["format"] or "json"
        if o["what"] == "invoices":
            if o["format"] != "json":
                raise CommandError("--format: invoices export as json")
            as_of = parse_instant(o["as_of"], "--as-of") if o["as_of"] else None
            out = open(o["output"], "w", encoding="utf-8") if o["output"] else sys.stdout  # noqa: SIM115
            try:
                # Streamed as a JSON array, one invoice at a time, so memory stays flat.
                out.write("[")
                for i, inv in enumerate(invoices_export(as_of=as_of, company_id=o["company"])):
                    out.write(("," if i else "") + "\n" + json.dumps(inv, ensure_ascii=False))
                out.write("\n]\n")
            finally:
                if out is not sys.stdout:
                    out.close()
            return
        if not o["number"]:
            raise CommandError("number: give SERIES-NUMBER, e.g. REC-000123")
        if o["format"] not in {"pdf", "ubl"}:
            raise CommandError("--format: pdf or ubl for one invoice")
        try:
            inv = invoice_by_full_number(o["number"], o["company"])
        except NumberingError as e:
            raise CommandError(f"number: {e.message}") from None
        if inv is None:
            raise CommandError(f"number: no invoice {o['number']!r}")
        from recurent.documents.services import DocumentInvalid, document_bytes

        try:
            data = document_bytes(inv, "pdf" if o["format"] == "pdf" else "xml")
        except DocumentInvalid as e:
            raise CommandError(str(e)) from None
        if o["output"]:
            with open(o["output"], "wb") as fh:
                fh.write(data)
            self.stdout.write(f"{inv.full_number}: {len(data)} bytes written to {o['output']}")
        else:
            sys.stdout.buffer.write(data)


def accounting_file(cmd: BaseCommand, o: dict) -> None:  # type: ignore[type-arg]
    """The accountant's files, written to -o (they are binary: a ZIP, or the journal)."""
    from datetime import date

    from django.core.exceptions import ValidationError

    from recurent.accounting.closing import month_close_package
    from recurent.accounting.services import accounting_export
    from recurent.common import clock
    from recurent.companies.models import Company

    if not o["output"]:
        raise CommandError("-o/--output: give the file to write")
    companies = Company.objects.all()
    if o["company"] is not None:
        companies = companies.filter(pk=o["company"])
    found = list(companies[:2])
    if len(found) != 1:
        raise CommandError("--company: give the company id (there is not exactly one company)")

    def day(value: str | None, flag: str) -> date | None:
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise CommandError(f"{flag}: {value!r} is not a date (YYYY-MM-DD)") from None

    try:
        if o["what"] == "month-close":
            if not o["month"]:
                raise CommandError("--month: give the month, YYYY-MM")
            f = month_close_package(company=found[0], month=o["month"], as_of=clock.now())
        else:
            f = accounting_export(
                company=found[0], fmt=o["format"] or "csv", date_from=day(o["date_from"], "--from"),
                date_to=day(o["date_to"], "--to"), only_new=o["only_new"], as_of=clock.now(),
            )  # fmt: skip
    except ValidationError as e:
        raise CommandError(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in e.message_dict.items())
            if hasattr(e, "error_dict")
            else " ".join(e.messages)
        ) from None
    with open(o["output"], "wb") as fh:
        fh.write(f.content)
    cmd.stdout.write(
        f"{f.filename}: {f.invoice_count} invoices, {len(f.content)} bytes -> {o['output']}"
    )
