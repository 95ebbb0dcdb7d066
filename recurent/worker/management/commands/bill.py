"""recurent bill: issue (or preview) everything due as of an instant."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recurent.common import clock
from recurent.common.cli_args import parse_instant
from recurent.common.dbsession import harden_worker_connections
from recurent.invoices.services import (
    SeriesClockError,
    billing_instant_check,
    due_contracts,
    issue_due,
)


class Command(BaseCommand):
    help = (
        "Issue every invoice due as of an instant (default: now). --as-of is time travel: bill as of "
        "any instant without touching the system clock. A value without an offset is Bucharest time. "
        "A real run cannot be dated later than now (plus RECURENT_CLOCK_TOLERANCE_SECONDS): a future "
        "instant is for --dry-run only."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--as-of",
            help="ISO 8601 instant, e.g. 2026-12-01T09:00 or 2026-12-01T07:00Z; "
            "later than now only with --dry-run",
        )
        parser.add_argument("--dry-run", action="store_true", help="preview: write nothing")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")
        parser.add_argument("--company", type=int, help="only this company id")
        parser.add_argument("--batch-size", type=int, default=settings.RECURENT["BATCH_SIZE"])

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        harden_worker_connections()  # the worker's session timeouts (a stuck run frees its locks)
        as_of = parse_instant(o["as_of"], "--as-of") if o["as_of"] else clock.now()
        if o["batch_size"] < 1:
            raise CommandError("--batch-size: must be 1 or more")
        try:
            # Before the progress bar and the run row: a future real run is refused outright.
            billing_instant_check(as_of=as_of, dry_run=o["dry_run"])
        except ValidationError as e:
            why = " ".join(e.message_dict["as_of"])
            raise CommandError(f"--as-of: {why} [--dry-run for a later instant]") from None
        show = not o["json"] and self.stdout.isatty()
        bar = tqdm(
            total=due_contracts(as_of, company_id=o["company"]).count(),
            unit="inv",
            disable=not show,
        )

        def progress(done: int, held: int) -> None:
            bar.update(done + held - bar.n)

        try:
            res = issue_due(
                as_of=as_of,
                dry_run=o["dry_run"],
                company_id=o["company"],
                batch_size=o["batch_size"],
                progress=progress,
            )
        except SeriesClockError as e:
            raise CommandError(str(e)) from None
        finally:
            bar.close()
        summary = {
            "as_of": as_of.isoformat(),
            "dry_run": o["dry_run"],
            "issued": len(res.previews) if o["dry_run"] else res.issued,
            "proformas": res.proformas,
            "reviews": res.reviews,
            "held": [{"contract_id": cid, "reason": why} for cid, why in res.held],
        }
        if o["dry_run"]:
            summary["invoices"] = res.previews
        if o["json"]:
            self.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False))
            return
        verb = "would issue" if o["dry_run"] else "issued"
        self.stdout.write(f"{verb} {summary['issued']} invoice(s) as of {as_of.isoformat()}")
        if res.proformas:
            self.stdout.write(
                f"issued {res.proformas} proforma(s) (contracts billed by proforma first)"
            )
        if res.reviews:
            self.stdout.write(f"prepared {res.reviews} draft(s) waiting for review (no number yet)")
        for p in res.previews:
            self.stdout.write(
                f"  {p['number'] or '(' + p['kind'] + ')'}  {p['contract']:<12} {p['period_start']}..{p['period_end']}  "
                f"{p['total']} {p['currency']}  {p['client']}"
            )
        for cid, why in res.held:
            self.stdout.write(self.style.WARNING(f"  set aside: contract #{cid}: {why}"))
