"""recurent demo: realistic demo data (a dozen clients, several cycles and currencies)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from recurent.companies.models import Company
from recurent.worker.demo import demo_load


class Command(BaseCommand):
    help = "Load demo data: company, admin user (admin/admin), products, a dozen clients, contracts, BNR rates."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when a company exists"
        )
        parser.add_argument(
            "--no-billing", action="store_true", help="do not issue the invoices already due"
        )

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        if o["if_empty"] and Company.objects.exists():
            self.stdout.write("demo: the database already has data; nothing loaded")
            return
        rep = demo_load(bill=not o["no_billing"])
        self.stdout.write(
            f"demo loaded: company #{rep['company_id']}, {rep['clients']} clients, {rep['contracts']} contracts, "
            f"{rep['invoices']} invoices issued. Log in as admin / admin."
        )
