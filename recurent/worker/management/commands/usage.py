"""recurent usage import FILE: usage and meter readings of variable lines from CSV (all or nothing)."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from recurent.common import clock
from recurent.common.errors import messages_of
from recurent.companies.models import Company
from recurent.contracts.usage import usage_import_csv


class Command(BaseCommand):
    help = (
        "Import usage from a CSV file with the header contract,line,quantity (or reading and "
        "optionally previous), and optionally period and key. Every row is checked; one refused "
        "row imports nothing, and each error names its row and column. See docs/usage.md."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="import a CSV file")
        imp.add_argument("file")
        imp.add_argument("--company", type=int, help="company id (needed with several companies)")

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        translation.activate("en")  # the CLI speaks English, as the API does
        path = Path(o["file"])
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as e:
            raise CommandError(f"{path}: {e.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path}: not UTF-8 text") from None
        companies = Company.objects.all()
        if o["company"] is not None:
            companies = companies.filter(pk=o["company"])
        ids = list(companies.values_list("pk", flat=True)[:2])
        if not ids:
            raise CommandError("--company: no such company")
        if len(ids) > 1:
            raise CommandError("--company: several companies; give the company id")
        try:
            done = usage_import_csv(company_id=ids[0], text=text, as_of=clock.now(), user=None)
        except ValidationError as e:
            for field, message in messages_of(e):
                self.stderr.write(f"{field}: {message}")
            raise CommandError("nothing was imported") from None
        self.stdout.write(f"imported {len(done)} usage record(s)")
