"""``recurent efactura send SERIES-NUMBER | correct SERIES-NUMBER | poll | incoming |
supplier-import ZIP…``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recurent.common import clock
from recurent.common.errors import messages_of
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
        fix = sub.add_parser(
            "correct",
            help="correct an invoice ANAF rejected (buyer, delivery data, notes) and send it again",
        )
        fix.add_argument("number")
        fix.add_argument("--company", type=int, help="company id, when two companies share it")
        fix.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="buyer.name=…, buyer.street=…, delivery.country=DE, delivery.date=2026-01-31, "
            "notes=… (repeat for each field)",
        )
        fix.add_argument("--reason", default="", help="why it is corrected (required)")
        fix.add_argument("--user", required=True, help="username of the accountant correcting it")
        fix.add_argument(
            "--dry-run", action="store_true", help="show the changes and the check; store nothing"
        )
        fix.add_argument("--no-send", action="store_true", help="queue it; the worker sends it")
        imp = sub.add_parser("supplier-import", help="add supplier ZIPs downloaded from SPV")
        imp.add_argument("--company", type=int, required=True)
        imp.add_argument("zips", nargs="+")

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
        if action == "supplier-import":
            return self._supplier_import(opts)
        inv = self._invoice(opts)
        if action == "correct":
            return self._correct(inv, opts)
        try:
            st = services.efactura_send(
                invoice=inv, as_of=clock.now(), resend_rejected=opts["resend_rejected"]
            )
        except ValidationError as e:
            raise CommandError("; ".join(e.messages)) from None
        except services.NotSendable as e:
            raise CommandError(f"{inv.full_number} stays queued: {e}") from None
        self._state(inv, st)

    def _invoice(self, opts: dict[str, Any]) -> Invoice:
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
        return found[0]

    def _correct(self, inv: Invoice, opts: dict[str, Any]) -> None:
        from django.contrib.auth import get_user_model

        from recurent.efactura import correction, services

        changes: dict[str, Any] = {}
        for item in opts["set"]:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--set {item!r}: expected FIELD=VALUE")
            section, _dot, name = key.strip().partition(".")
            if section == "notes" and not name:
                changes["notes"] = value
            else:
                changes.setdefault(section, {})
                if not isinstance(changes[section], dict) or not name:
                    raise CommandError(f"--set {item!r}: buyer.FIELD, delivery.FIELD or notes")
                changes[section][name] = value
        user = get_user_model().objects.filter(username=opts["user"]).first()
        if user is None:
            raise CommandError(f"no user {opts['user']!r}")
        now = clock.now()
        try:
            if opts["dry_run"]:
                p = correction.invoice_efactura_correction_preview(
                    invoice=inv, changes=changes, user=user, as_of=now
                )
                for c in p.changes:
                    self.stdout.write(f"{c['field']}: {c['old']!r} -> {c['new']!r}")
                verdict = "passes the e-Factura check" if p.valid else "FAILS the e-Factura check"
                self.stdout.write(f"{inv.full_number}: the new XML {verdict}")
                for f in p.findings:
                    self.stdout.write(f"  [{f['rule']}] {f['message']}")
                return
            done = correction.invoice_efactura_correct(
                invoice=inv, changes=changes, user=user, reason=opts["reason"], as_of=now
            )
        except PermissionDenied as e:
            raise CommandError(str(e)) from None
        except ValidationError as e:
            raise CommandError("; ".join(f"{k}: {m}" for k, m in messages_of(e))) from None
        self.stdout.write(f"{inv.full_number}: corrected, version {done.version}")
        if opts["no_send"]:
            self.stdout.write(f"{inv.full_number}: queued; the worker sends it")
            return
        self._state(inv, services.efactura_upload(invoice_id=inv.pk, as_of=now))

    def _supplier_import(self, opts: dict[str, Any]) -> None:
        from pathlib import Path

        from recurent.companies.models import Company
        from recurent.efactura.supplier import supplier_invoice_import

        company = Company.objects.filter(pk=opts["company"]).first()
        if company is None:
            raise CommandError(f"no company {opts['company']}")
        failed = 0
        for name in opts["zips"]:
            try:
                row, created = supplier_invoice_import(
                    company=company, content=Path(name).read_bytes(), as_of=clock.now()
                )
            except (OSError, ValidationError) as e:
                failed += 1
                reason = "; ".join(e.messages) if isinstance(e, ValidationError) else str(e)
                self.stderr.write(f"{name}: {reason}")
                continue
            what = "added" if created else "already here (kept once)"
            self.stdout.write(
                f"{name}: {row.supplier_name} {row.number} {row.gross_total} {row.currency} {what}"
            )
        if failed:
            raise CommandError(f"{failed} file(s) not added")

    def _state(self, inv: Invoice, st: Any) -> None:
        line = f"{inv.full_number}: {st.get_state_display()}"
        if st.upload_index:
            line += f" (upload index {st.upload_index})"
        if st.errors:
            line += "\n  " + "\n  ".join(st.errors)
        self.stdout.write(line)
