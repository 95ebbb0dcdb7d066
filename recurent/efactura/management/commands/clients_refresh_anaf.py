"""``recurent clients_refresh_anaf``: re-check every client in ANAF's VAT-payer registry.

(The issue calls it ``recurent clients refresh-anaf``; a Django command name cannot hold a space.)
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recurent.common import clock


class Command(BaseCommand):
    help = "Re-check clients' VAT status at ANAF; apply VAT/inactive changes and flag the rest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--company", type=int, help="only this company's clients")

    def handle(self, *args: Any, **opts: Any) -> None:
        from recurent.efactura.http import AnafError
        from recurent.efactura.models import ClientAnafCheck
        from recurent.efactura.registry import clients_refresh_anaf

        try:
            r = clients_refresh_anaf(as_of=clock.now(), company_id=opts.get("company"))
        except AnafError as e:
            raise CommandError(f"ANAF's registry did not answer: {e}") from None
        for check in ClientAnafCheck.objects.filter(pk__in=r.flags or []).select_related("client"):
            parts = [
                f"{c['field']}: {c.get('old')!r} -> {c.get('new')!r}{' (applied)' if c.get('applied') else ''}"
                + (f" {c['note']}" if c.get("note") else "")
                for c in check.changes
            ]
            self.stdout.write(f"{check.client.name} ({check.client.tax_id}): " + "; ".join(parts))
        self.stdout.write(f"{r.checked} checked, {r.changed} changed, {r.not_found} not found")
