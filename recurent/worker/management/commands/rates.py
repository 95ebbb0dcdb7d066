"""recurent rates fetch [--year YYYY]: store BNR reference rates."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from recurent.rates.bnr import BnrError
from recurent.rates.services import rates_fetch_daily, rates_fetch_year


class Command(BaseCommand):
    help = "Fetch BNR reference rates (the daily file, or a yearly archive with --year). URLs: RECURENT_BNR_URL."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("action", choices=["fetch"])
        parser.add_argument(
            "--year", type=int, action="append", help="back-fill a whole year (repeatable)"
        )
        parser.add_argument("--url", help="override the daily file URL")

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        try:
            if o["year"]:
                for y in o["year"]:
                    n = rates_fetch_year(y)
                    self.stdout.write(f"{y}: {n} new rate(s)")
            else:
                n = rates_fetch_daily(o["url"])
                self.stdout.write(f"{n} new rate(s)")
        except BnrError as e:
            raise CommandError(str(e)) from None
