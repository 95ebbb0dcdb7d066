"""``recurent resend REC-000123``: email an invoice again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from recurent.invoices.models import Invoice
from recurent.mail.selectors import delivery_state
from recurent.mail.sender import send_pending
from recurent.mail.services import outbox_resend


class Command(BaseCommand):
    help = "Queue an invoice's email again (and, with --now, send it at once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("invoice", help="the invoice number, e.g. REC-000123")
        parser.add_argument("--company", type=int, help="company id, when several use the number")
        parser.add_argument(
            "--template", default="", help="template code (default: the contract's)"
        )
        parser.add_argument("--now", action="store_true", help="send now instead of via the worker")

    def handle(self, *args: Any, **opts: Any) -> None:
        qs = Invoice.objects.filter(full_number=opts["invoice"])
        if opts["company"]:
            qs = qs.filter(company_id=opts["company"])
        found = list(qs[:2])
        if not found:
            raise CommandError(f"no invoice {opts['invoice']}")
        if len(found) > 1:
            raise CommandError(f"{opts['invoice']} exists in several companies: add --company ID")
        inv = found[0]
        m = outbox_resend(invoice=inv, template_code=opts["template"])
        self.stdout.write(f"{inv.full_number}: queued as message #{m.pk}")
        if opts["now"]:
            send_pending(limit=1, message_ids=[m.pk])
            st = next(i for i in delivery_state(inv.pk).messages if i.id == m.pk)
            self.stdout.write(f"{inv.full_number}: {st.state} {st.last_response}")
            if st.state not in ("sent", "pending"):
                raise CommandError(f"not sent: {st.last_response}")
