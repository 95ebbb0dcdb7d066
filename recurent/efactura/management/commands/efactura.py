"""``recurent efactura send SERIES-NUMBER | poll | incoming``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recurent.common import clock
from recurent.invoices.models import Invoice


class Command(BaseCommand):
    help = "Send invoices to ANAF's SPV and follow their answers."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        send = sub.add_parser("send", help="upload one invoice now (e.g. REC-000123)")
        send.add_argument("number")
        send.add_argument(
            "--company", type=int, help="company id, when two companies share the number"
        )
        send.add_argument(
            "--resend-rejected", action="store_true", help="upload again an invoice ANAF rejected"
        )
        poll = sub.add_parser("poll", help="one pass of the poller (uploads, status, downloads)")
        poll.add_argument("--limit", type=int, default=200)
        inc = sub.add_parser("incoming", help="list supplier invoices from SPV now")
        inc.add_argument("--company", type=int, required=True)

    def handle(self, *args: Any, **opts: Any) -> None:
        from recurent.efactura import services
        from recurent.efactura.connection import NeedsReconnect
        from recurent.efactura.http import AnafError

        action = opts["action"]
        if action == "poll":
            n = services.efactura_tick(limit=opts["limit"])
            self.stdout.write(f"{n} item(s) handled")
            return
        if action == "incoming":
            try:
                n = services.incoming_sync(company_id=opts["company"], as_of=clock.now())
            except (AnafError, NeedsReconnect) as e:
                raise CommandError(str(e)) from None
            self.stdout.write(f"{n} new supplier invoice(s)")
            return
        qs = Invoice.objects.filter(full_number=opts["number"].strip().upper())
        if opts.get("company"):
            qs = qs.filter(company_id=opts["company"])
        found = list(qs[:2])
        if not found:
            raise CommandError(f"no invoice numbered {opts['number']}")
        if len(found) > 1:
            raise CommandError(
                f"{opts['number']} exists in several companies or years: add --company"
            )
        inv = found[0]
        try:
            st = services.efactura_send(
                invoice=inv, as_of=clock.now(), resend_rejected=opts["resend_rejected"]
            )
        except ValidationError as e:
            raise CommandError("; ".join(e.messages)) from None
        except services.NotSendable as e:
            raise CommandError(f"{inv.full_number} stays queued: {e}") from None
        line = f"{inv.full_number}: {st.get_state_display()}"
        if st.upload_index:
            line += f" (upload index {st.upload_index})"
        if st.errors:
            line += "\n  " + "\n  ".join(st.errors)
        self.stdout.write(line)
