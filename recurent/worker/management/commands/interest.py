"""recurent interest invoice --as-of DATE [--dry-run]: late-payment interest invoices
(recurent.payments.interest; docs/interest.md)."""

from __future__ import annotations

from datetime import datetime, time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from recurent.common import clock
from recurent.common.cli_args import command_user, parse_instant
from recurent.common.errors import messages_of
from recurent.companies.models import Company
from recurent.engine.cycles import BUCHAREST
from recurent.payments.interest import interest_invoice


def _as_of(text: str | None) -> datetime:
    """A date (YYYY-MM-DD): now when it is today, else the end of that day; or an instant."""
    if not text:
        return clock.now()
    if len(text.strip()) == 10:
        day = parse_instant(text, "--as-of").date()
        now = clock.now()
        if day == now.astimezone(BUCHAREST).date():
            return now
        if day > now.astimezone(BUCHAREST).date():
            raise CommandError(f"--as-of: {day} is in the future")
        return datetime.combine(day, time(23, 59), tzinfo=BUCHAREST)
    return parse_instant(text, "--as-of")


class Command(BaseCommand):
    help = (
        "Issue the late-payment interest invoices: one per client (and currency) for the days "
        "late not yet invoiced up to --as-of, for each company that turned interest on."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("action", choices=["invoice"])
        parser.add_argument(
            "--as-of", help="count the days up to this date (YYYY-MM-DD; default: today)"
        )
        parser.add_argument("--dry-run", action="store_true", help="show, issue nothing")
        parser.add_argument("--company", type=int, help="only this company id")
        parser.add_argument("--email", action="store_true", help="email each invoice at once")
        parser.add_argument(
            "--user", help="username the invoices are issued under (default: the first superuser)"
        )

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        as_of = _as_of(o["as_of"])
        companies = Company.objects.filter(interest_enabled=True).order_by("pk")
        if o["company"] is not None:
            companies = Company.objects.filter(pk=o["company"])
            if not companies.exists():
                raise CommandError(f"--company: no company {o['company']}")
        user = None if o["dry_run"] else command_user(o["user"])
        count, refused = 0, []
        for company in companies:
            try:
                with translation.override("en"):  # the CLI speaks English (docs/cli.md)
                    done = interest_invoice(company=company, as_of=as_of, user=user,
                                            dry_run=o["dry_run"], email=o["email"])  # fmt: skip
            except ValidationError as e:
                with translation.override("en"):
                    raise CommandError(
                        f"{company}: " + "; ".join(f"{f}: {m}" for f, m in messages_of(e))
                    ) from None
            for d in done:
                if d.error:
                    refused.append(f"{company.pk} {d.client.name}: {d.error}")
                    continue
                count += 1
                what = d.invoice.full_number if d.invoice else "dry run"
                invoices = ", ".join(i.invoice.full_number for i in d.items)
                self.stdout.write(
                    f"{company.pk} {d.client.name}: {d.total} {d.currency} -> {what} "
                    f"(late: {invoices})"
                )
        self.stdout.write(f"{count} interest invoice(s){' to issue' if o['dry_run'] else ''}.")
        if refused:
            raise CommandError(
                f"{len(refused)} refused (fix and run again): " + " | ".join(refused)
            )
