"""recurent export invoices --format json | recurent export invoice SERIES-NUMBER --format pdf|ubl -o FILE."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from recurent.engine.numbering import NumberingError
from recurent.invoices.selectors import invoice_by_full_number, invoices_export

from ._util import parse_instant


class Command(BaseCommand):
    help = "Export every invoice as JSON, or one invoice's PDF / e-Factura XML."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("what", choices=["invoices", "invoice"])
        parser.add_argument("number", nargs="?", help="SERIES-NUMBER, with 'invoice'")
        parser.add_argument("--format", default="json", choices=["json", "pdf", "ubl"])
        parser.add_argument("--as-of", help="only invoices issued up to this instant")
        parser.add_argument("--company", type=int)
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
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
