"""recurent documents render | check FILE...: render pending invoice documents, check XML files."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recurent.documents.services import invoice_render, pending_invoices
from recurent.documents.validation import check_file


class Command(BaseCommand):
    help = "Render the PDF and e-Factura XML of issued invoices, or check e-Factura XML files."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("action", choices=["render", "check"])
        parser.add_argument("files", nargs="*", help="XML files, with 'check'")
        parser.add_argument("--limit", type=int, default=None, help="render at most N invoices")

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        if o["action"] == "check":
            return self._check(o["files"])
        qs = pending_invoices()
        total = qs.count() if o["limit"] is None else min(o["limit"], qs.count())
        failed = 0
        with tqdm(total=total, unit="invoice", disable=total == 0, file=sys.stderr) as bar:
            for inv in qs[:total].iterator(chunk_size=100):
                try:
                    docs = invoice_render(invoice=inv)
                except Exception as e:  # report and go on with the others
                    failed += 1
                    tqdm.write(f"{inv.full_number}: {e}", file=sys.stderr)
                else:
                    for d in docs:
                        if not d.valid:
                            failed += 1
                            rules = ", ".join(f["rule"] for f in d.findings[:5])
                            tqdm.write(f"{inv.full_number}: XML invalid ({rules})", file=sys.stderr)  # type: ignore[attr-defined]
                bar.update(1)
        self.stdout.write(f"{total} invoice(s) rendered, {failed} with problems")

    def _check(self, files: list[str]) -> None:
        if not files:
            raise CommandError("files: give one or more XML files")
        bad = 0
        for path in files:
            try:
                findings = check_file(path)
            except OSError as e:
                raise CommandError(f"{path}: {e.strerror}") from None
            self.stdout.write(f"{'VALID  ' if not findings else 'INVALID'} {path}")
            for f in findings:
                self.stdout.write(f"    {f}")
            bad += bool(findings)
        if bad:
            raise CommandError(f"{bad} of {len(files)} file(s) invalid")
