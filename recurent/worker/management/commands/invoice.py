"""recurent invoice create FILE.json: issue a one-off invoice (or save it as a draft);
recurent invoice convert PF-000012: issue the invoice of a proforma by hand.

The file holds one invoice as ``POST /api/v1/invoices`` takes it (client, series, issue_date,
due_date, currency, notes, lines, email). An error names its place (the JSON line and column,
or the field path such as ``lines[2].quantity``) and nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import translation

from recurent.common import clock
from recurent.common.cli_args import command_user
from recurent.common.errors import messages_of
from recurent.companies.models import Company
from recurent.invoices.oneoff import (
    draft_fields_from_json,
    invoice_create,
    invoice_create_draft,
)


class Command(BaseCommand):
    help = (
        "One-off invoices: `create FILE.json` issues one (or saves a draft with --draft); "
        "`convert PF-000012` issues a proforma's invoice."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("action", choices=["create", "convert"])
        parser.add_argument(
            "file",
            help="create: the invoice as JSON (see docs/guide-accountant.md); "
            "convert: the proforma's number",
        )
        parser.add_argument(
            "--company", type=int, help="company id (needed when there are several)"
        )
        parser.add_argument("--user", help="username it is issued under (default: first superuser)")
        parser.add_argument("--draft", action="store_true", help="save a draft, do not issue")
        parser.add_argument(
            "--proforma", metavar="OUT.pdf",
            help="issue a proforma (series PF) instead of an invoice and write its PDF here",
        )  # fmt: skip

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        translation.activate("en")
        if o["action"] == "convert":
            self._convert(o)
            return
        path = Path(o["file"])
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise CommandError(f"{path}: {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise CommandError(f"{path}:{e.lineno}:{e.colno}: {e.msg}") from None
        found = [_company(o["company"])]
        user = command_user(o["user"])
        as_of = clock.now()
        try:
            with transaction.atomic():  # the email with the invoice, or nothing at all
                email = bool(data.pop("email", False)) if isinstance(data, dict) else False
                fields = draft_fields_from_json(company=found[0], data=data)
                if o["draft"] or o["proforma"]:
                    draft = invoice_create_draft(as_of=as_of, user=user, **fields)
                    if o["proforma"]:
                        from recurent.documents.proforma import render
                        from recurent.invoices.proforma import proforma_issue

                        draft = proforma_issue(draft=draft, as_of=as_of, user=user, render=render)
                        Path(o["proforma"]).write_bytes(bytes(draft.proforma_pdf))
                        self.stdout.write(
                            f"proforma {draft.proforma_number} issued (draft {draft.pk}), "
                            f"PDF in {o['proforma']}"
                        )
                        return
                    self.stdout.write(f"draft {draft.pk} saved (no number until it is issued)")
                    return
                inv = invoice_create(as_of=as_of, user=user, **fields)
                if email:
                    from recurent.mail.services import outbox_resend

                    outbox_resend(invoice=inv, as_of=inv.issued_at)
        except ValidationError as e:
            raise CommandError("; ".join(f"{path}: {f}: {m}" for f, m in messages_of(e))) from None
        self.stdout.write(
            f"{inv.full_number} issued {inv.issue_date.isoformat()}: "
            f"{inv.gross_total} {inv.currency}{' (email queued)' if email else ''}"
        )

    def _convert(self, o: dict) -> None:  # type: ignore[type-arg]
        """The proforma's invoice by hand, through the same conversion as the web and the API."""
        from recurent.invoices.models import InvoiceDraft
        from recurent.invoices.proforma import proforma_convert

        number = o["file"].strip()
        draft = InvoiceDraft.objects.filter(
            company=_company(o["company"]), proforma_number=number
        ).first()
        if draft is None:
            raise CommandError(f"proforma: {number} not found in this company")
        try:
            inv = proforma_convert(draft=draft, as_of=clock.now(), user=command_user(o["user"]))
        except ValidationError as e:
            raise CommandError("; ".join(f"{f}: {m}" for f, m in messages_of(e))) from None
        self.stdout.write(
            f"{inv.full_number} issued {inv.issue_date.isoformat()} from proforma {number}: "
            f"{inv.gross_total} {inv.currency}"
        )


def _company(pk: int | None) -> Company:
    """The one company, or the one named by --company."""
    companies = Company.objects.all()
    if pk is not None:
        companies = companies.filter(pk=pk)
    found = list(companies[:2])
    if len(found) != 1:
        raise CommandError(
            "--company: " + ("no such company" if not found else "several; name one")
        )
    return found[0]
