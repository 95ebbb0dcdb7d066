"""recurent storno SERIES-NUMBER [--line POS:QTY ...]: issue a credit note for an invoice."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from recurent.common import clock
from recurent.common.cli_args import command_user, parse_instant
from recurent.common.errors import messages_of
from recurent.companies.models import InvoiceSeries
from recurent.engine.numbering import NumberingError
from recurent.invoices.selectors import invoice_by_full_number
from recurent.invoices.services import SeriesClockError
from recurent.invoices.storno import invoice_storno


class Command(BaseCommand):
    help = "Cancel an invoice, whole or some lines, with a credit note (storno)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "number", help="the invoice to reverse, SERIES-NUMBER (e.g. REC-000123)"
        )
        parser.add_argument(
            "--line",
            action="append",
            default=[],
            metavar="POS:QTY",
            help="credit QTY of line POS (repeatable); without --line the whole invoice",
        )
        parser.add_argument(
            "--series",
            help="series code of the credit note (default: the company's credit series, else the invoice's)",
        )
        parser.add_argument(
            "--company", type=int, help="company id, when several use the series code"
        )
        parser.add_argument("--as-of", help="issue instant (default: now)")
        parser.add_argument(
            "--user", help="username the credit note is issued under (default: the first superuser)"
        )

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        try:
            inv = invoice_by_full_number(o["number"], o["company"])
        except NumberingError as e:
            raise CommandError(f"number: {e.message}") from None
        if inv is None:
            raise CommandError(f"number: no invoice {o['number']!r}")
        user = command_user(o["user"])
        by_pos = {li.position: li for li in inv.lines.all()}
        lines = []
        for spec in o["line"]:
            pos, _, qty = spec.partition(":")
            try:
                line, amount = by_pos[int(pos)], Decimal(qty.replace(",", "."))
            except (ValueError, KeyError, InvalidOperation):
                raise CommandError(
                    f"--line: {spec!r} is not POS:QTY of {inv.full_number} (lines {sorted(by_pos)})"
                ) from None
            lines.append((line, amount))
        series = None
        if o["series"]:
            series = InvoiceSeries.objects.filter(
                company_id=inv.company_id, code=o["series"].upper()
            ).first()
            if series is None:
                raise CommandError(f"--series: no series {o['series']!r} in this company")
        as_of = parse_instant(o["as_of"], "--as-of") if o["as_of"] else clock.now()
        try:
            cn = invoice_storno(
                invoice=inv, lines=lines or None, as_of=as_of, user=user, series=series
            )
        except ValidationError as e:
            with translation.override("en"):  # the CLI speaks English (docs/cli.md)
                raise CommandError("; ".join(f"{f}: {m}" for f, m in messages_of(e))) from None
        except SeriesClockError as e:
            raise CommandError(str(e)) from None
        inv.refresh_from_db()
        self.stdout.write(
            f"{cn.full_number}: credit note of {cn.gross_total} {cn.currency} for {inv.full_number} "
            f"(now {inv.get_status_display()})"
        )
