"""recurent receipt issue --client C --amount A: a cash payment recorded with its receipt.

The command-line twin of the web's Payments → Record with "Issue a receipt" ticked and of
``POST /api/v1/payments`` with ``issue_receipt``: one call to ``payments.services.payment_record``
(``issue_receipt=True``), so the receipt series, the gapless number and the cash limits are
those of the other two. Nothing is written when anything is refused.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import translation

from recurent.clients.models import Client
from recurent.common import clock
from recurent.common.cli_args import command_user
from recurent.common.errors import messages_of
from recurent.engine.cycles import BUCHAREST
from recurent.invoices.models import Invoice
from recurent.invoices.oneoff import _by_key
from recurent.payments.receipts import receipt_pdf, receipt_warning
from recurent.payments.services import payment_record

from .invoice import _company


class Command(BaseCommand):
    help = "Cash receipts: `issue --client C --amount A` records the cash payment and its receipt."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("action", choices=["issue"])
        parser.add_argument("--client", required=True, help="the payer: CUI, CNP, name or id")
        parser.add_argument("--amount", required=True, help="lei received, e.g. 1234.56")
        parser.add_argument("--date", help="day received, YYYY-MM-DD (default: today)")
        parser.add_argument("--invoice", help="the invoice it pays (e.g. REC-000123), if any")
        parser.add_argument(
            "--company", type=int, help="company id (needed when there are several)"
        )
        parser.add_argument("--user", help="username it is issued under (default: first superuser)")
        parser.add_argument("-o", "--output", metavar="FILE.pdf", help="write the receipt's PDF")

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        translation.activate("en")
        company = _company(o["company"])
        user = command_user(o["user"])
        as_of = clock.now()
        try:
            day = date.fromisoformat(o["date"]) if o["date"] else as_of.astimezone(BUCHAREST).date()
        except ValueError:
            raise CommandError(f"--date: not a date (YYYY-MM-DD): {o['date']}") from None
        try:
            with transaction.atomic():
                client = _by_key(Client, company, o["client"], "client", ("tax_id", "name"))
                allocations = []
                if o["invoice"]:
                    inv = Invoice.objects.filter(company=company, full_number=o["invoice"]).first()
                    if inv is None:
                        raise CommandError(f"--invoice: {o['invoice']} not found in this company")
                    allocations = [(inv, o["amount"])]
                payment = payment_record(
                    company=company, client=client, date=day, amount=o["amount"],
                    currency="RON", method="cash", allocations=allocations, as_of=as_of,
                    user=user, issue_receipt=True,
                )  # fmt: skip
        except ValidationError as e:
            raise CommandError("; ".join(f"{f}: {m}" for f, m in messages_of(e))) from None
        receipt = payment.receipt
        if o["output"]:
            Path(o["output"]).write_bytes(receipt_pdf(receipt))
        self.stdout.write(
            f"receipt {receipt.full_number} issued {receipt.date.isoformat()}: "
            f"{receipt.amount} lei from {receipt.payer_name}"
            + (f", PDF in {o['output']}" if o["output"] else "")
        )
        if receipt.over_cash_limit:
            self.stderr.write(receipt_warning(receipt))
