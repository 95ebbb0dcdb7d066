"""Bank statement import and matching of its lines to invoices.

A statement is received (``statement_receive``: size, then the whole file parsed and checked, a
broken one refused with its line and reason, nothing stored) and imported by the worker
(``statement_import_next``, registered as the ``statements`` task): every line written and
matched in ONE transaction, so a failure leaves nothing but the reason on the import.
``statement_import`` does both at once (command line, tests, benchmark).

An entry already imported is skipped: its identity is the bank's reference, or a digest of what
it says, numbered when it repeats in one file (``statements.number_repeats``), under the
``statement_entry_once`` constraint. Re-importing the same or an overlapping statement records
nothing twice; two identical transfers of one day are two payments.

Matching a credit, most certain first (``MatchRule``):
1. its EndToEndId is one of our direct-debit collections → that invoice;
2. invoice numbers of the company in the remittance text, as people write them (``REC-000049``,
   ``REC 49``, ``REC49``, ``F REC/49``, leading zeros or not; only series of this company) →
   those invoices, oldest first, when they are all of one client; ``fact. 49``/``factura nr 49``
   without a series only when exactly one open invoice has that number and the payer's IBAN or
   the amount confirms it. Less than they owe is allocated partially, more leaves a credit;
3. the payer's IBAN is a client's (or a mandate's) and an open invoice of that client has exactly
   this amount outstanding → that invoice (the oldest if several);
4. the payer's IBAN and several open invoices of that client whose outstanding adds up exactly;
5. the payer's IBAN and more than everything the client owes → all of it, the rest is credit;
6. the payer's name is like a client's and an open invoice of that client has exactly this
   amount → suggested to the person who matches (first in the list), never applied.
Anything else waits for a person (``statement_line_match``, two clicks in the web screen).

Lookups are per file, not per line: the open invoices, clients, IBANs, the collections named
and the entries already imported are read once (``Matcher.for_company``), and the in-memory
figures follow each allocation.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy, gettext_noop

from recurent.clients.models import Client
from recurent.common.errors import field_error
from recurent.companies.models import Company, InvoiceSeries
from recurent.invoices.models import Invoice, InvoiceKind

from . import selectors
from .collection import collection_return, collection_settle
from .models import (
    CollectionItem,
    CollectionStatus,
    ColumnMapping,
    ImportStatus,
    LineStatus,
    Mandate,
    PaymentMethod,
    PaymentSource,
    StatementImport,
    StatementLine,
)
from .proformas import ProformaMatcher
from .services import PaymentIn, _user, payment_record, payments_record_many
from .statements import Entry, Parsed, StatementError, parse

MAX_FILE_BYTES = 20 * 1024 * 1024
SUBSET_MAX = 12  # open invoices of one client searched for an exact sum (2**12 subsets at most)
NAME_SIMILARITY = 0.85
STALE_AFTER = timedelta(minutes=15)  # a 5,000-line file takes seconds; this is a dead worker


class MatchRule:
    DIRECT_DEBIT = "direct_debit"
    NUMBER = "number"
    NUMBER_CONFIRMED = "number_confirmed"  # "fact. 49": no series, confirmed by IBAN or amount
    IBAN_AMOUNT = "iban_amount"
    IBAN_SUM = "iban_sum"
    IBAN_CREDIT = "iban_credit"
    BY_HAND = "by_hand"
    PROFORMA = "proforma"  # payments.proformas.ProformaMatcher

    # English in the stored note (like every match note); translated where shown (the report).
    LABELS = {
        DIRECT_DEBIT: gettext_noop("direct debit we requested"),
        NUMBER: gettext_noop("invoice number in the payment details"),
        NUMBER_CONFIRMED: gettext_noop(
            "invoice number without series, confirmed by IBAN or amount"
        ),
        IBAN_AMOUNT: gettext_noop("payer IBAN and exact amount"),
        IBAN_SUM: gettext_noop("payer IBAN and several invoices adding up exactly"),
        IBAN_CREDIT: gettext_noop("payer IBAN, more than the client owes (the rest is credit)"),
        BY_HAND: gettext_noop("matched by hand"),
        PROFORMA: gettext_noop("proforma number in the payment details (its invoice is issued)"),
    }


def _norm_name(name: str) -> str:
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().upper()
    text = re.sub(r"[^A-Z0-9 ]+", " ", text.replace(".", ""))  # "S.R.L." is "SRL"
    # Legal forms say nothing about who it is ("ALFA SRL" and "ALFA S.R.L." are the same payer).
    words = [
        w
        for w in text.split()
        if w not in {"SRL", "SA", "PFA", "II", "IF", "SC", "SCS", "SNC", "RA"}
    ]
    return " ".join(words)


def same_name(a: str, b: str) -> bool:
    """A payer's name and a client's say the same firm or person: the words with digits equal
    ("CLIENT 49" is not "CLIENT 94"), the rest alike (order, diacritics, legal form aside)."""
    ka, kb = _norm_name(a), _norm_name(b)
    if not ka or not kb:
        return False
    wa, wb = ka.split(), kb.split()
    if sorted(wa) == sorted(wb):
        return True
    if {w for w in wa if any(c.isdigit() for c in w)} != {
        w for w in wb if any(c.isdigit() for c in w)
    }:
        return False
    return difflib.SequenceMatcher(None, ka, kb).ratio() >= NAME_SIMILARITY


@dataclass
class OpenInvoice:
    pk: int
    client_id: int
    series_id: int
    number: int
    full_number: str
    currency: str
    outstanding: Decimal


@dataclass
class Matcher:
    """Everything the matching of one file needs, read once."""

    company: Company
    as_of: datetime
    number_re: re.Pattern[str] | None
    series_by_code: dict[str, set[int]]
    clients_by_iban: dict[str, int]
    open: dict[int, OpenInvoice] = field(default_factory=dict)
    by_ref: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    by_number: dict[int, list[int]] = field(default_factory=dict)
    by_client: dict[int, list[int]] = field(default_factory=dict)
    clients: dict[int, Client] = field(default_factory=dict)
    names: dict[str, int] = field(default_factory=dict)
    collections: dict[str, CollectionItem] = field(default_factory=dict)
    pending: list[PaymentIn] = field(default_factory=list)

    @classmethod
    def for_company(
        cls, company: Company, as_of: datetime, end_to_end_ids: set[str] | None = None
    ) -> Matcher:
        series = list(InvoiceSeries.objects.filter(company=company).values_list("id", "code"))
        by_code: dict[str, set[int]] = defaultdict(set)
        for sid, code in series:
            by_code[code.upper()].add(sid)
        rx = None
        if by_code:
            alt = "|".join(re.escape(c) for c in sorted(by_code, key=len, reverse=True))
            # "REC-000049", "REC 49", "REC49", "rec/49", "F REC/49", "REC nr. 49": a series code
            # of this company (not inside a longer word), then the number.
            rx = re.compile(
                rf"(?<![A-Z0-9])({alt})\s*(?:NR\.?|NO\.?)?\s*[-/#.:]?\s*(\d{{1,9}})(?![\d])", re.I
            )
        m = cls(company, as_of, rx, by_code, clients_by_iban(company.pk))
        qs = selectors.open_invoices(
            Invoice.objects.filter(company=company, kind=InvoiceKind.INVOICE), as_of
        ).values_list("pk", "client_id", "series_id", "number", "full_number", "currency",
                      "outstanding_amount")  # fmt: skip
        for pk, cid, sid, number, full, ccy, due in qs:
            inv = OpenInvoice(pk, cid, sid, number, full, ccy, due)
            m.open[pk] = inv
            m.by_ref.setdefault((sid, number), []).append(pk)
            m.by_number.setdefault(number, []).append(pk)
            m.by_client.setdefault(cid, []).append(pk)  # oldest due first, as the query orders
        m.clients = {c.pk: c for c in Client.objects.filter(company=company)}
        for c in m.clients.values():
            key = _norm_name(c.name)
            if key:
                # Two clients of one name: no suggestion can tell them apart.
                m.names[key] = -1 if key in m.names else c.pk
        if end_to_end_ids:
            m.collections = {
                c.end_to_end_id: c
                for c in CollectionItem.objects.filter(
                    run__company=company, end_to_end_id__in=end_to_end_ids
                ).select_related("invoice__company", "invoice__client", "mandate", "payment")
            }
        return m

    def still_open(self, pks: list[int], currency: str) -> list[OpenInvoice]:
        return [
            self.open[pk]
            for pk in pks
            if pk in self.open
            and self.open[pk].outstanding > 0
            and self.open[pk].currency == currency
        ]

    def invoices_named(self, text: str, currency: str) -> tuple[list[OpenInvoice], str]:
        """Open invoices whose series and number appear in ``text`` (or why they cannot be used)."""
        if not self.number_re or not text:
            return [], ""
        refs: list[tuple[str, int]] = []
        for mt in self.number_re.finditer(text):
            ref = (mt.group(1).upper(), int(mt.group(2)))
            if ref not in refs and ref[1] > 0:
                refs.append(ref)
        if not refs:
            return [], ""
        found: list[OpenInvoice] = []
        for code, number in refs:
            pks = [
                pk for sid in self.series_by_code[code] for pk in self.by_ref.get((sid, number), [])
            ]
            opened = self.still_open(pks, currency)
            if len(opened) > 1:
                return [], f"{code}-{number} is ambiguous (several years)"
            found += opened
        if not found:
            names = ", ".join(f"{c}-{n}" for c, n in refs)
            return [], f"{names}: no such open invoice (already paid, cancelled or unknown)"
        if len({i.client_id for i in found}) > 1:
            return [], "the invoices named belong to different clients"
        return found, ""

    BARE_RE = re.compile(
        r"(?<![A-Z0-9])(?:FACT(?:URA|URII|URILOR)?|FCT|FC|F|INV|INVOICE)\.?\s*(?:NR\.?|NO\.?)?\s*[-/#:]?\s*(\d{1,9})(?!\d)",
        re.I,
    )

    def bare_number(self, line: StatementLine, payer: int | None) -> OpenInvoice | None:
        """ "fact. 49": a number without series, used only when one open invoice has it and the
        payer's IBAN or the exact amount confirms it."""
        for mt in self.BARE_RE.finditer(line.remittance or ""):
            opened = self.still_open(self.by_number.get(int(mt.group(1)), []), line.currency)
            if len(opened) == 1:
                inv = opened[0]
                if inv.client_id == payer or inv.outstanding == line.amount:
                    return inv
        return None

    def payer(self, line: StatementLine) -> int | None:
        return self.clients_by_iban.get(line.payer_iban.upper()) if line.payer_iban else None

    def by_iban(self, line: StatementLine, cid: int) -> tuple[str, list[OpenInvoice], str]:
        opened = self.still_open(self.by_client.get(cid, []), line.currency)
        if not opened:
            return "", [], "payer known, nothing open"
        exact = [i for i in opened if i.outstanding == line.amount]
        if exact:
            return MatchRule.IBAN_AMOUNT, exact[:1], ""
        total = sum((i.outstanding for i in opened), Decimal(0))
        if line.amount > total:
            return MatchRule.IBAN_CREDIT, opened, ""
        # Oldest first is what the client most likely paid; any other exact sum only if unique.
        run = Decimal(0)
        for n, inv in enumerate(opened, start=1):
            run += inv.outstanding
            if run == line.amount:
                return MatchRule.IBAN_SUM, opened[:n], ""
        subsets = []
        pool = opened[:SUBSET_MAX]
        for size in range(2, len(pool) + 1):
            for combo in itertools.combinations(pool, size):
                if sum((i.outstanding for i in combo), Decimal(0)) == line.amount:
                    subsets.append(list(combo))
                    if len(subsets) > 1:
                        return "", [], "payer known, several sets of invoices add up to this amount"
        if subsets:
            return MatchRule.IBAN_SUM, subsets[0], ""
        return "", [], "payer known, no open invoice or sum of them has exactly this amount"

    def suggestion(self, line: StatementLine) -> OpenInvoice | None:
        key = _norm_name(line.payer_name)
        if not key:
            return None
        cid = self.names.get(key)
        if cid is None:
            close = [
                k
                for k in difflib.get_close_matches(
                    key, list(self.names), n=2, cutoff=NAME_SIMILARITY
                )
                if same_name(k, key)
            ]
            cid = self.names[close[0]] if len(close) == 1 else None
        if not cid or cid < 0:
            return None
        exact = [i for i in self.still_open(self.by_client.get(cid, []), line.currency)
                 if i.outstanding == line.amount]  # fmt: skip
        return exact[0] if exact else None


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
    invoices: list[OpenInvoice],
    matcher: Matcher,
    user: AbstractBaseUser | None,
    rule: str,
) -> None:
    left = line.amount
    allocations = []
    for inv in invoices:
        if left <= 0:
            break
        take = min(left, inv.outstanding)
        allocations.append((inv.pk, take))
        left -= take
    # Written for the whole file at once after matching (``payments_record_many``).
    matcher.pending.append(
        PaymentIn(
            client=matcher.clients[invoices[0].client_id],
            date=line.booking_date,
            amount=line.amount,
            currency=line.currency,
            reference=(line.remittance or line.bank_reference)[:200],
            allocations=tuple(allocations),
            statement_line=line,
        )  # fmt: skip
    )
    for pk, take in allocations:
        matcher.open[pk].outstanding -= take
    names = ", ".join(matcher.open[pk].full_number for pk, _ in allocations)
    line.status = LineStatus.MATCHED
    line.match_rule = rule
    note = f"{MatchRule.LABELS[rule]}: {names}"
    if left > 0:
        note += f" ({left} {line.currency} left as the client's credit)"
    line.match_note = note[:300]


def _match(line: StatementLine, matcher: Matcher, user: AbstractBaseUser | None) -> None:
    collection = matcher.collections.get(line.end_to_end_id) if line.end_to_end_id else None
    returned = line.reversal or not line.credit
    if returned:
        if collection and collection.status != CollectionStatus.RETURNED:
            collection_return(
                item=collection, reason=line.return_reason or line.remittance[:200],
                as_of=matcher.as_of, user=user,
            )  # fmt: skip
            line.status = LineStatus.RETURNED
            line.match_rule = MatchRule.DIRECT_DEBIT
            line.match_note = f"direct debit of {collection.invoice.full_number} returned"
            if collection.invoice_id in matcher.open:
                matcher.open[collection.invoice_id].outstanding += collection.amount
        else:
            line.status = LineStatus.IGNORED
            line.match_note = "a debit that is not a return of one of our collections"
        return
    if collection and collection.status == CollectionStatus.REQUESTED:
        collection_settle(item=collection, line=line, as_of=matcher.as_of, user=user)
        line.status = LineStatus.MATCHED
        line.match_rule = MatchRule.DIRECT_DEBIT
        line.match_note = f"direct debit of {collection.invoice.full_number}"
        if collection.invoice_id in matcher.open:
            matcher.open[collection.invoice_id].outstanding -= collection.amount
        return
    invoices, why = matcher.invoices_named(line.remittance, line.currency)
    payer = matcher.payer(line)
    if invoices:
        # A mistyped number is often another client's open invoice: the number is taken when
        # nothing says otherwise (the payer's IBAN is the invoice's client, or the amount is
        # exactly what is named, or the payer's name is the client's).
        owner = invoices[0].client_id
        names = ", ".join(i.full_number for i in invoices)
        if payer is not None and payer != owner:
            why = f"{names} named, but the payer's IBAN is another client's"
        elif (
            payer is None
            and line.amount != sum((i.outstanding for i in invoices), Decimal(0))
            and not same_name(line.payer_name, matcher.clients[owner].name)
        ):
            why = (
                f"{names} named, but neither the payer's IBAN, the amount nor the name confirms it"
            )
        else:
            _settle(line, invoices, matcher, user, MatchRule.NUMBER)
            return
    bare = matcher.bare_number(line, payer)
    if bare is not None:
        _settle(line, [bare], matcher, user, MatchRule.NUMBER_CONFIRMED)
        return
    why2 = ""
    if payer is not None:
        rule, found, why2 = matcher.by_iban(line, payer)
        if rule:
            _settle(line, found, matcher, user, rule)
            return
    hint = matcher.suggestion(line)
    if hint is not None:
        line.suggested_invoice_id = hint.pk
        why2 = f"suggested: {hint.full_number} (payer name like the client's, exact amount)"
    line.match_note = (
        "; ".join(x for x in (why, why2) if x) or "no invoice number nor known payer"
    )[:300]


def _check_size(content: bytes) -> None:
    if len(content) > MAX_FILE_BYTES:
        raise field_error("file", gettext_lazy("the file is larger than 20 MB"), "file_too_large")


def _parse(content: bytes, filename: str, mapping: ColumnMapping | None = None) -> Parsed:
    try:
        return parse(content, filename, mapping)
    except StatementError as err:
        raise field_error(
            "file",
            gettext_lazy("line %(line)s: %(reason)s"),
            "malformed_statement",
            line=err.line,
            reason=err.reason,
        ) from None


def statement_receive(
    *,
    company: Company,
    filename: str,
    content: bytes,
    as_of: datetime,
    user: AbstractBaseUser | None,
    mapping: ColumnMapping | None = None,
) -> StatementImport:
    """Check the whole file now (a broken one is refused with its line and reason and nothing
    is stored) and queue it for the worker. ``mapping``: a CSV export read with the account's
    saved columns."""
    _check_size(content)
    if mapping is not None and mapping.company_id != company.pk:
        raise field_error("mapping", gettext_lazy("unknown bank account"), "unknown_bank_account")
    parsed = _parse(content, filename, mapping)
    return StatementImport.objects.create(
        company=company, filename=filename[:200], format=parsed.format,
        sha256=hashlib.sha256(content).hexdigest(), account_iban=parsed.account_iban[:34],
        imported_at=as_of, imported_by=_user(user), lines_total=len(parsed.entries),
        status=ImportStatus.QUEUED, content=content, mapping=mapping,
    )  # fmt: skip


def _run(imp: StatementImport, content: bytes, as_of: datetime) -> None:
    """Write and match every line of the file (the caller holds the transaction)."""
    company = imp.company
    user = imp.imported_by
    parsed = _parse(content, imp.filename, imp.mapping)
    entries = [
        e
        for e in parsed.entries
        # An outgoing payment of the company is not ours to match (a return of a debit is).
        if e.credit or e.reversal or e.end_to_end_id or e.return_reason
    ]
    existing: set[tuple] = set()
    if entries:
        days = {e.booking_date for e in entries}
        existing = set(
            StatementLine.objects.filter(
                company=company,
                account_iban__in={e.account_iban for e in entries},
                booking_date__gte=min(days),
                booking_date__lte=max(days),
            ).values_list("account_iban", "booking_date", "amount", "credit", "bank_reference")
        )
    matcher = Matcher.for_company(
        company, as_of, {e.end_to_end_id for e in entries if e.end_to_end_id}
    )
    # A line naming an open proforma pays it (and may issue its invoice), before any rule.
    proformas = ProformaMatcher.for_company(company.pk)
    rules: dict[str, int] = defaultdict(int)
    suggested = credit = 0
    new_lines: list[StatementLine] = []
    for e in entries:
        key = (e.account_iban, e.booking_date, e.amount, e.credit, e.bank_reference)
        if key in existing:
            imp.lines_duplicate += 1
            continue
        existing.add(key)
        new_lines.append(_new_line(company, imp, e))
    # Lines are matched before they are written, so each is INSERTed once with its outcome; only
    # a direct-debit line is saved first (the collection services record it at once).
    saved_first = [li for li in new_lines if li.end_to_end_id in matcher.collections]
    for line in saved_first:
        line.save()
    for line in new_lines:
        if not proformas.match(line):
            _match(line, matcher, user)
        imp.lines_new += 1
        if line.match_rule:
            rules[line.match_rule] += 1
        if "client's credit" in line.match_note:
            credit += 1
        if line.suggested_invoice_id:
            suggested += 1
        if line.status == LineStatus.UNMATCHED:
            imp.unmatched += 1
        elif line.status in {LineStatus.MATCHED, LineStatus.RETURNED}:
            imp.matched += 1
    for line in saved_first:
        line.save(update_fields=["status", "match_note", "match_rule", "suggested_invoice"])
    StatementLine.objects.bulk_create([li for li in new_lines if li.pk is None], batch_size=500)
    payments_record_many(company=company, payments=matcher.pending, as_of=as_of, user=user)
    proformas.record(as_of=as_of, user=user)
    imp.report = {"rules": dict(rules), "suggested": suggested, "credit": credit}


def _finish(imp: StatementImport, as_of: datetime) -> None:
    imp.status = ImportStatus.DONE
    imp.content = None
    imp.finished_at = as_of
    imp.save(update_fields=["lines_new", "lines_duplicate", "matched", "unmatched", "report",
                            "status", "content", "finished_at"])  # fmt: skip


@transaction.atomic
def statement_import(
    *,
    company: Company,
    filename: str,
    content: bytes,
    as_of: datetime,
    user: AbstractBaseUser | None,
    mapping: ColumnMapping | None = None,
) -> StatementImport:
    """Receive and import a CAMT.053 or MT940 file at once; raise
    ValidationError({"file": ["line N: reason"]}) for a broken one, with nothing written."""
    imp = statement_receive(company=company, filename=filename, content=content, as_of=as_of,
                            user=user, mapping=mapping)  # fmt: skip
    imp.started_at = as_of
    _run(imp, content, as_of)
    _finish(imp, as_of)
    return imp


def statement_import_next(*, as_of: datetime) -> StatementImport | None:
    """Claim the oldest waiting import and run it; None when nothing waits.

    Claimed in its own short transaction (RUNNING, skip_locked on PostgreSQL), so two workers
    never take the same file and the page shows it is under way; the import then runs in one
    transaction: it all lands or, on any error, nothing does and the import says why."""
    with transaction.atomic():
        # A worker killed mid-import left its file "running" and nothing written (its
        # transaction died with it): after STALE_AFTER another worker takes it again.
        qs = StatementImport.objects.filter(
            Q(status=ImportStatus.QUEUED)
            | Q(status=ImportStatus.RUNNING, started_at__lt=as_of - STALE_AFTER)
        ).order_by("imported_at", "pk")
        if connection.vendor == "postgresql":
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        imp = qs.select_related("company", "imported_by", "mapping").first()
        if imp is None:
            return None
        imp.status = ImportStatus.RUNNING
        imp.started_at = as_of
        imp.save(update_fields=["status", "started_at"])
    content = bytes(imp.content or b"")
    try:
        with transaction.atomic():
            _run(imp, content, as_of)
            _finish(imp, as_of)
    except Exception as err:  # noqa: BLE001 - any failure is reported on the import, not lost
        reason = (
            "; ".join(f"{m}" for ms in err.message_dict.values() for m in ms)
            if isinstance(err, ValidationError) and hasattr(err, "message_dict")
            else f"{type(err).__name__}: {err}"
        )
        StatementImport.objects.filter(pk=imp.pk).update(
            status=ImportStatus.FAILED, error=reason[:2000], finished_at=as_of, content=None,
            lines_new=0, lines_duplicate=0, matched=0, unmatched=0,
        )  # fmt: skip
        imp.refresh_from_db()
    return imp


def statements_task(*, limit: int) -> int:
    """Worker task: import up to ``limit`` waiting statements."""
    from recurent.common import clock

    done = 0
    # A few files per pass: a month's statement takes seconds, and the other tasks wait behind it.
    while done < min(limit, 5) and statement_import_next(as_of=clock.now()) is not None:
        done += 1
    return done


MAPPING_FIELDS = [
    "currency", "date_column", "amount_column", "credit_column", "debit_column",
    "details_column", "payer_column", "payer_iban_column", "reference_column", "date_format",
    "decimal_comma",
]  # fmt: skip
DATE_FORMATS = ["%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%m/%d/%Y"]


def column_mapping_save(
    *, company: Company, account_iban: str, values: dict[str, Any], user: AbstractBaseUser | None
) -> ColumnMapping:
    """Save (or replace) which columns of an account's CSV export hold what."""
    from recurent.common.validators import validate_iban

    iban = (account_iban or "").replace(" ", "").upper()
    errors: dict[str, list[Any]] = {}
    try:
        validate_iban(iban)
    except ValidationError:
        errors["account_iban"] = [
            ValidationError(gettext_lazy("not a valid IBAN"), code="not_valid_iban")
        ]
    data = {k: values.get(k, "") for k in MAPPING_FIELDS}
    data["decimal_comma"] = bool(values.get("decimal_comma"))
    data["currency"] = (str(data["currency"]) or "RON").upper()[:3]
    for k in MAPPING_FIELDS:
        if isinstance(data[k], str):
            data[k] = data[k].strip()
    if not data["date_column"]:
        errors["date_column"] = [
            ValidationError(gettext_lazy("name the column with the date"), code="required")
        ]
    if not data["details_column"]:
        errors["details_column"] = [
            ValidationError(gettext_lazy("name the column with the details"), code="required")
        ]
    if not data["amount_column"] and not (data["credit_column"] or data["debit_column"]):
        errors["amount_column"] = [
            ValidationError(
                gettext_lazy("name the amount column, or the credit and debit columns"),
                code="required",
            )
        ]
    if data["date_format"] not in DATE_FORMATS:
        errors["date_format"] = [
            ValidationError(
                gettext_lazy("one of %(value)s"),
                code="invalid_choice",
                params={"value": ", ".join(DATE_FORMATS)},
            )
        ]
    if errors:
        raise ValidationError(errors)
    mapping, _ = ColumnMapping.objects.update_or_create(
        company=company, account_iban=iban, defaults=data
    )
    return mapping


def clients_by_iban(company_id: int) -> dict[str, int]:
    """Client of each known IBAN (the client's own, then its mandates')."""
    by_iban: dict[str, int] = {}
    for cid, iban in (
        Client.objects.filter(company_id=company_id).exclude(iban="").values_list("id", "iban")
    ):
        by_iban[iban.replace(" ", "").upper()] = cid
    for cid, iban in Mandate.objects.filter(company_id=company_id).values_list(
        "client_id", "debtor_iban"
    ):
        by_iban.setdefault(iban.replace(" ", "").upper(), cid)
    return by_iban


def match_candidates(
    line: StatementLine,
    as_of: datetime,
    limit: int = 12,
    payers: dict[str, int] | None = None,
) -> list[Any]:
    """Open invoices to offer for an unmatched line: the suggestion first, then exact amount,
    then the payer's, then the oldest open ones. ``payers``: ``clients_by_iban`` read once for
    a page of lines."""
    base = Invoice.objects.filter(company_id=line.company_id, currency=line.currency)
    first = (
        list(selectors.open_invoices(base.filter(pk=line.suggested_invoice_id), as_of))
        if line.suggested_invoice_id
        else []
    )
    seen = {i.pk for i in first}
    exact = [
        i
        for i in selectors.open_invoices(base, as_of)
        .filter(outstanding_raw__gte=line.amount - Decimal("0.005"))
        .filter(outstanding_raw__lte=line.amount + Decimal("0.005"))[:limit]
        if i.pk not in seen
    ]
    seen |= {i.pk for i in exact}
    if payers is None:
        payers = clients_by_iban(line.company_id)
    cid = payers.get(line.payer_iban.upper()) if line.payer_iban else None
    more: list[Any] = []
    if cid:
        more = [
            i
            for i in selectors.open_invoices(base.filter(client_id=cid), as_of)[:limit]
            if i.pk not in seen
        ]
    seen |= {i.pk for i in more}
    rest = [i for i in selectors.open_invoices(base, as_of)[: limit * 2] if i.pk not in seen]
    return (first + exact + more + rest)[:limit]


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
        raise field_error(
            "line", gettext_lazy("this line is already handled"), "line_already_handled"
        )
    if invoice.company_id != line.company_id:
        raise field_error("invoice", gettext_lazy("unknown invoice"), "unknown_invoice")
    if invoice.currency != line.currency:
        raise field_error(
            "invoice",
            gettext_lazy("the invoice is in %(currency)s, the line in %(currency2)s"),
            "invoice_line",
            currency=invoice.currency,
            currency2=line.currency,
        )
    due = selectors.outstanding(invoice)
    if due <= 0:
        raise field_error(
            "invoice",
            gettext_lazy("nothing is outstanding on %(full_number)s"),
            "nothing_outstanding",
            full_number=invoice.full_number,
        )
    payment_record(
        company=invoice.company, client=invoice.client, date=line.booking_date, amount=line.amount,
        currency=line.currency, method=PaymentMethod.BANK_TRANSFER,
        reference=(line.remittance or line.bank_reference)[:200],
        allocations=[(invoice, min(line.amount, due))], as_of=as_of, user=user,
        source=PaymentSource.STATEMENT, statement_line=line,
    )  # fmt: skip
    line.status = LineStatus.MATCHED
    line.match_rule = MatchRule.BY_HAND
    line.match_note = f"matched by hand to {invoice.full_number}"
    line.save(update_fields=["status", "match_note", "match_rule"])
    return line


def statement_line_ignore(*, line: StatementLine, user: AbstractBaseUser | None) -> StatementLine:
    if line.status != LineStatus.UNMATCHED:
        raise field_error(
            "line", gettext_lazy("this line is already handled"), "line_already_handled"
        )
    line.status = LineStatus.IGNORED
    line.match_note = "set aside by hand (not a client payment)"
    line.save(update_fields=["status", "match_note"])
    return line
