"""Bank statement import and matching of its lines to invoices.

``statement_import`` is all or nothing: the file is parsed and checked whole first
(``statements.parse``), then every line is written and matched in ONE transaction. An entry
already imported (same account, booking date, amount, direction and bank reference, the
``statement_entry_once`` constraint) is skipped, so re-importing the same or an overlapping
statement records nothing twice.

Matching a credit, most certain first:
1. its EndToEndId is one of our direct-debit collections → that invoice;
2. invoice numbers of the company (series + number) in the remittance text → those invoices,
   oldest first, when they are all of one client and something is still outstanding;
3. the payer's IBAN is a client's (or a mandate's) and exactly one open invoice of that client
   has exactly this amount outstanding → that invoice.
Anything else waits for a person (``statement_line_match``, two clicks in the web screen).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from recurent.clients.models import Client
from recurent.companies.models import Company, InvoiceSeries
from recurent.engine import numbering
from recurent.invoices.models import Invoice, InvoiceKind

from . import selectors
from .collection import collection_return, collection_settle
from .models import (
    CollectionItem,
    CollectionStatus,
    LineStatus,
    Mandate,
    PaymentMethod,
    PaymentSource,
    StatementImport,
    StatementLine,
)
from .services import _user, payment_record
from .statements import Entry, StatementError, parse

MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass
class Matcher:
    company: Company
    as_of: datetime
    number_re: re.Pattern[str] | None
    clients_by_iban: dict[str, int]

    @classmethod
    def for_company(cls, company: Company, as_of: datetime) -> Matcher:
        codes = sorted(
            InvoiceSeries.objects.filter(company=company).values_list("code", flat=True),
            key=len,
            reverse=True,
        )
        rx = None
        if codes:
            alt = "|".join(re.escape(c) for c in codes)
            # "REC-000123", "REC 123", "rec/123", "REC nr. 123": what people type in a transfer.
            rx = re.compile(
                rf"(?<![A-Z0-9])({alt})\s*(?:NR\.?|NO\.?)?\s*[-/#.]?\s*(\d{{1,9}})(?!\d)", re.I
            )
        by_iban: dict[str, int] = {}
        for cid, iban in (
            Client.objects.filter(company=company).exclude(iban="").values_list("id", "iban")
        ):
            by_iban[iban.replace(" ", "").upper()] = cid
        for cid, iban in Mandate.objects.filter(company=company).values_list(
            "client_id", "debtor_iban"
        ):
            by_iban.setdefault(iban.replace(" ", "").upper(), cid)
        return cls(company, as_of, rx, by_iban)

    def invoices_named(self, text: str) -> tuple[list[Any], str]:
        """Open invoices whose numbers appear in ``text`` (or a reason they cannot be used)."""
        if not self.number_re or not text:
            return [], ""
        refs: list[numbering.InvoiceRef] = []
        for m in self.number_re.finditer(text):
            ref = numbering.parse_full_number(f"{m.group(1)}-{m.group(2)}")
            if ref not in refs:
                refs.append(ref)
        if not refs:
            return [], ""
        found: list[Any] = []
        for ref in refs:
            qs = Invoice.objects.filter(
                company=self.company,
                kind=InvoiceKind.INVOICE,
                series__code=ref.series,
                number=ref.number,
            )
            opened = list(selectors.open_invoices(qs, self.as_of))
            if len(opened) > 1:
                return [], f"{ref.series}-{ref.number} is ambiguous (several years)"
            found += opened
        if not found:
            names = ", ".join(f"{r.series}-{r.number}" for r in refs)
            return [], f"{names}: no such open invoice (already paid, cancelled or unknown)"
        if len({i.client_id for i in found}) > 1:
            return [], "the invoices named belong to different clients"
        return sorted(found, key=lambda i: (i.due_date, i.pk)), ""

    def by_iban_and_amount(self, entry: StatementLine) -> tuple[Any | None, str]:
        cid = self.clients_by_iban.get(entry.payer_iban.upper()) if entry.payer_iban else None
        if cid is None:
            return None, ""
        qs = Invoice.objects.filter(company=self.company, client_id=cid, currency=entry.currency)
        exact = [
            i
            for i in selectors.open_invoices(qs, self.as_of)
            if i.outstanding_amount == entry.amount
        ]
        if len(exact) == 1:
            return exact[0], ""
        if len(exact) > 1:
            return None, f"payer known, {len(exact)} open invoices have exactly this amount"
        return None, "payer known, no open invoice has exactly this amount"


def _new_line(company: Company, statement: StatementImport, e: Entry) -> StatementLine:
    return StatementLine(
        company=company, statement=statement, account_iban=e.account_iban,
        booking_date=e.booking_date, value_date=e.value_date, amount=e.amount, currency=e.currency,
        credit=e.credit, reversal=e.reversal, bank_reference=e.bank_reference,
        end_to_end_id=e.end_to_end_id, payer_name=e.payer_name, payer_iban=e.payer_iban,
        remittance=e.remittance, return_reason=e.return_reason, source_line=e.source_line,
        status=LineStatus.UNMATCHED,
    )  # fmt: skip


def _settle(
    line: StatementLine,
    invoices: list[Any],
    matcher: Matcher,
    user: AbstractBaseUser | None,
    note: str,
) -> None:
    left = line.amount
    allocations = []
    for inv in invoices:
        if inv.currency != line.currency or left <= 0:
            continue
        take = min(left, inv.outstanding_amount)
        allocations.append((inv, take))
        left -= take
    if not allocations:
        line.match_note = "the invoices named are in another currency"
        return
    payment_record(
        company=matcher.company, client=invoices[0].client, date=line.booking_date,
        amount=line.amount, currency=line.currency, method=PaymentMethod.BANK_TRANSFER,
        reference=(line.remittance or line.bank_reference)[:200], allocations=allocations,
        as_of=matcher.as_of, user=user, source=PaymentSource.STATEMENT, statement_line=line,
    )  # fmt: skip
    line.status = LineStatus.MATCHED
    line.match_note = note


def _match(line: StatementLine, matcher: Matcher, user: AbstractBaseUser | None) -> None:
    collection = (
        CollectionItem.objects.filter(
            run__company=matcher.company, end_to_end_id=line.end_to_end_id
        )
        .select_related("invoice__company", "invoice__client", "mandate", "payment")
        .first()
        if line.end_to_end_id
        else None
    )
    returned = line.reversal or not line.credit
    if returned:
        if collection and collection.status != CollectionStatus.RETURNED:
            collection_return(
                item=collection, reason=line.return_reason or line.remittance[:200],
                as_of=matcher.as_of, user=user,
            )  # fmt: skip
            line.status = LineStatus.RETURNED
            line.match_note = f"direct debit of {collection.invoice.full_number} returned"
        else:
            line.status = LineStatus.IGNORED
            line.match_note = "a debit that is not a return of one of our collections"
        return
    if collection and collection.status == CollectionStatus.REQUESTED:
        collection_settle(item=collection, line=line, as_of=matcher.as_of, user=user)
        line.status = LineStatus.MATCHED
        line.match_note = f"direct debit of {collection.invoice.full_number}"
        return
    invoices, why = matcher.invoices_named(line.remittance)
    if invoices:
        names = ", ".join(i.full_number for i in invoices)
        _settle(line, invoices, matcher, user, f"invoice number in the text: {names}")
        return
    inv, why2 = matcher.by_iban_and_amount(line)
    if inv is not None:
        _settle(line, [inv], matcher, user, f"payer IBAN and exact amount: {inv.full_number}")
        return
    line.match_note = "; ".join(x for x in (why, why2) if x) or "no invoice number nor known payer"


@transaction.atomic
def statement_import(
    *,
    company: Company,
    filename: str,
    content: bytes,
    as_of: datetime,
    user: AbstractBaseUser | None,
) -> StatementImport:
    """Import a CAMT.053 or MT940 file; raise ValidationError({"file": ["line N: reason"]})."""
    if len(content) > MAX_FILE_BYTES:
        raise ValidationError({"file": ["the file is larger than 20 MB"]})
    try:
        parsed = parse(content, filename)
    except StatementError as err:
        raise ValidationError({"file": [f"line {err.line}: {err.reason}"]}) from None
    imp = StatementImport.objects.create(
        company=company, filename=filename[:200], format=parsed.format,
        sha256=hashlib.sha256(content).hexdigest(), account_iban=parsed.account_iban[:34],
        imported_at=as_of, imported_by=_user(user), lines_total=len(parsed.entries),
    )  # fmt: skip
    matcher = Matcher.for_company(company, as_of)
    for e in parsed.entries:
        if not e.credit and not e.reversal and not e.end_to_end_id and not e.return_reason:
            continue  # an outgoing payment of the company: not ours to match
        exists = StatementLine.objects.filter(
            company=company, account_iban=e.account_iban, booking_date=e.booking_date,
            amount=e.amount, credit=e.credit, bank_reference=e.bank_reference,
        ).exists()  # fmt: skip
        if exists:
            imp.lines_duplicate += 1
            continue
        line = _new_line(company, imp, e)
        line.save()
        _match(line, matcher, user)
        line.save(update_fields=["status", "match_note"])
        imp.lines_new += 1
        if line.status == LineStatus.UNMATCHED:
            imp.unmatched += 1
        elif line.status in {LineStatus.MATCHED, LineStatus.RETURNED}:
            imp.matched += 1
    imp.save(update_fields=["lines_new", "lines_duplicate", "matched", "unmatched"])
    return imp


def match_candidates(line: StatementLine, as_of: datetime, limit: int = 12) -> list[Any]:
    """Open invoices to offer for an unmatched line: exact amount first, then the payer's, then
    the oldest open ones."""
    base = Invoice.objects.filter(company_id=line.company_id, currency=line.currency)
    exact = list(
        selectors.open_invoices(base, as_of)
        .filter(outstanding_raw__gte=line.amount - Decimal("0.005"))
        .filter(outstanding_raw__lte=line.amount + Decimal("0.005"))[:limit]
    )
    seen = {i.pk for i in exact}
    cid = Matcher.for_company(line.company, as_of).clients_by_iban.get(line.payer_iban.upper())
    more: list[Any] = []
    if cid:
        more = [
            i
            for i in selectors.open_invoices(base.filter(client_id=cid), as_of)[:limit]
            if i.pk not in seen
        ]
    seen |= {i.pk for i in more}
    rest = [i for i in selectors.open_invoices(base, as_of)[: limit * 2] if i.pk not in seen]
    return (exact + more + rest)[:limit]


@transaction.atomic
def statement_line_match(
    *,
    line: StatementLine,
    invoice: Invoice,
    as_of: datetime,
    user: AbstractBaseUser | None,
) -> StatementLine:
    """A person says: this line pays this invoice. What exceeds its outstanding stays as credit."""
    line = StatementLine.objects.select_for_update().get(pk=line.pk)
    if line.status != LineStatus.UNMATCHED:
        raise ValidationError({"line": ["this line is already handled"]})
    if invoice.company_id != line.company_id:
        raise ValidationError({"invoice": ["unknown invoice"]})
    if invoice.currency != line.currency:
        raise ValidationError(
            {"invoice": [f"the invoice is in {invoice.currency}, the line in {line.currency}"]}
        )
    due = selectors.outstanding(invoice)
    if due <= 0:
        raise ValidationError({"invoice": [f"nothing is outstanding on {invoice.full_number}"]})
    payment_record(
        company=invoice.company, client=invoice.client, date=line.booking_date, amount=line.amount,
        currency=line.currency, method=PaymentMethod.BANK_TRANSFER,
        reference=(line.remittance or line.bank_reference)[:200],
        allocations=[(invoice, min(line.amount, due))], as_of=as_of, user=user,
        source=PaymentSource.STATEMENT, statement_line=line,
    )  # fmt: skip
    line.status = LineStatus.MATCHED
    line.match_note = f"matched by hand to {invoice.full_number}"
    line.save(update_fields=["status", "match_note"])
    return line


def statement_line_ignore(*, line: StatementLine, user: AbstractBaseUser | None) -> StatementLine:
    if line.status != LineStatus.UNMATCHED:
        raise ValidationError({"line": ["this line is already handled"]})
    line.status = LineStatus.IGNORED
    line.match_note = "set aside by hand (not a client payment)"
    line.save(update_fields=["status", "match_note"])
    return line
