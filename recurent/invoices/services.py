"""The billing engine: issue every due period exactly once, numbered without gaps.

Shape of one batch (``issue_batch``), all inside ONE transaction:
1. claim up to N due contracts, oldest due first, ``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL so that several workers take disjoint contracts (SQLite serialises whole
   transactions through its IMMEDIATE write lock instead);
2. lock the series counter rows involved, in primary-key order (no deadlocks), and
   only then read the clock: the issue instant is taken under the lock, so dates never
   go backwards along the numbers of a series;
3. draft every claimed contract (VAT by date, BNR rate by date); a contract that cannot
   be invoiced is set aside with its reason and the batch goes on;
4. allocate a block of numbers, bulk-insert invoices and lines, move each contract's
   cursor one period on, and commit.
A crash anywhere rolls the whole block back: the counter with the invoices, so no
number is skipped or reused. The unique constraint ``invoice_period_once`` (on the periods
an invoice covers, invoices.grouping) is the last line of defence against a period being
invoiced twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict, namedtuple
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL

from recurent.catalog.models import Product
from recurent.clients.models import Client
from recurent.common import bulk, clock, writer_turn
from recurent.companies.models import Company, InvoiceSeries
from recurent.contracts.discounts import ENGINE_COLS as _DISCOUNT_COLS
from recurent.contracts.discounts import allowance_json, engine_discount, period_discounts
from recurent.contracts.models import (
    ChargeKind,
    Contract,
    ContractCharge,
    ContractDiscount,
    ContractLine,
    ContractStatus,
    HoldKind,
)
from recurent.contracts.usage import period_usage, usage_for_block, usage_lines, usage_mark
from recurent.engine import numbering
from recurent.engine.cycles import BUCHAREST, Period, Schedule
from recurent.engine.drafting import Draft, DraftError, LineTerms, draft_invoice
from recurent.engine.money import MoneyError
from recurent.engine.usage import UsageMissing
from recurent.engine.vat import VatCategory, VatError, VatRateCode
from recurent.rates.services import RateBook, RateUnavailable

from .grouping import groups_add, groups_split, periods_write, siblings
from .models import BillingRun, Invoice, InvoiceKind, InvoiceLine, InvoiceOrigin

# SeriesClockError is re-exported: callers (CLI, web) catch it from here.
from .numbering import SeriesClockError as SeriesClockError
from .numbering import SeriesLock, vat_breakdown
from .snapshots import buyer_snapshot, seller_snapshot

log = logging.getLogger("recurent.billing")


def billing_instant_check(*, as_of: datetime | None, dry_run: bool) -> None:
    """Refuse a real run dated later than now (plus the clock tolerance): the series' newest
    date would follow it, so one typo in a year would date every later invoice of the series
    in the future, irreversibly. Previews may look at any instant. Called by ``issue_due``
    and ``issue_batch`` themselves, so no caller (CLI, web, API, worker) can skip it."""
    if as_of is None or dry_run:
        return
    from django.conf import settings
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext_lazy

    tolerance = timedelta(seconds=settings.RECURENT["CLOCK_TOLERANCE_SECONDS"])
    now = clock.now()
    if as_of > now + tolerance:
        raise ValidationError(
            {
                "as_of": ValidationError(
                    gettext_lazy(
                        "a real billing run cannot be dated in the future (%(as_of)s is after "
                        "now, %(now)s); use a preview (dry run) to see what a later run would issue"
                    ),
                    code="future",
                    params={
                        "as_of": as_of.astimezone(BUCHAREST).strftime("%Y-%m-%d %H:%M"),
                        "now": now.astimezone(BUCHAREST).strftime("%Y-%m-%d %H:%M"),
                    },
                )
            }
        )


@dataclass
class BatchResult:
    claimed: int = 0
    issued: list[int] = field(default_factory=list)  # invoice ids
    held: list[tuple[int, str]] = field(default_factory=list)  # (contract id, reason)
    proformas: list[int] = field(default_factory=list)  # proformas (InvoiceDraft ids)
    reviews: list[int] = field(default_factory=list)  # drafts waiting for review (invoices.review)


@dataclass
class RunResult:
    issued: int = 0
    held: list[tuple[int, str]] = field(default_factory=list)
    previews: list[dict[str, Any]] = field(default_factory=list)
    batches: int = 0
    run_id: int | None = None
    proformas: int = 0  # contracts billed by proforma first (invoices.proforma_period)
    reviews: int = 0  # periods prepared as drafts waiting for review (invoices.review)


def due_contracts(
    as_of: datetime, *, company_id: int | None = None, exclude: set[int] | None = None
):  # type: ignore[no-untyped-def]
    """Active contracts with a period due by ``as_of`` that are not set aside.

    A contract held for bad data comes back as soon as it, its client, its company or
    one of its products is edited after the hold (their ``updated_at`` moves past it).
    """
    since = OuterRef("hold_since")
    product_fixed = ContractLine.objects.filter(
        contract=OuterRef("pk"), product__updated_at__gt=since
    )
    # Correlated EXISTS, not joins: the common case (no hold) then needs no other table, and
    # PostgreSQL can walk contract_due_idx and stop at the block size instead of joining and
    # sorting every due contract for every block (docs/benchmarks/billing.md).
    data_fixed = (
        Q(updated_at__gt=F("hold_since"))
        | Exists(Client.objects.filter(pk=OuterRef("client_id"), updated_at__gt=since))
        | Exists(Company.objects.filter(pk=OuterRef("company_id"), updated_at__gt=since))
        | Exists(InvoiceSeries.objects.filter(pk=OuterRef("series_id"), updated_at__gt=since))
        | Exists(product_fixed)
    )
    qs = Contract.objects.filter(status=ContractStatus.ACTIVE, next_issue_at__lte=as_of).filter(
        Q(hold_kind__in=[HoldKind.NONE, HoldKind.FX, HoldKind.USAGE])
        | (Q(hold_kind=HoldKind.DATA) & data_fixed)
    )
    if company_id is not None:
        qs = qs.filter(company_id=company_id)
    if exclude:
        qs = qs.exclude(pk__in=exclude)
    return qs.order_by("next_issue_at", "pk")


# What a block reads of a claimed contract and of its client: plain values, no model
# objects (building a Contract, a Client and their ContractLines per invoice was a quarter
# of a block's time, docs/benchmarks/billing.md).
_CONTRACT_COLS = ("pk", "company_id", "client_id", "series_id", "issuer_id", "number", "signed_on",
                  "first_issue_at", "ends_at", "cycle", "every_days", "in_arrears", "final_index",
                  "payment_term_days", "currency", "invoice_currency", "next_index",
                  "missing_usage")  # fmt: skip
# The attributes buyer_snapshot() reads, so that the snapshot is built by the same function.
_CLIENT_COLS = ("kind", "name", "tax_id", "trade_register", "street", "city", "county", "region", "country",
                "postal_code", "emails", "iban", "bank", "language")  # fmt: skip
_ClientRow = namedtuple("_ClientRow", _CLIENT_COLS)  # type: ignore[misc]
# The last four: variable lines (contracts.usage.usage_lines reads them).
_LINE_COLS = ("contract_id", "product_id", "description", "quantity", "unit_price",
              "from_index", "until_index", "position",
              "variable", "tiers", "minimum_charge", "default_quantity")  # fmt: skip
# A pending one-off charge or credit (contracts.models.ContractCharge says how it is applied once).
_CHARGE_COLS = ("contract_id", "pk", "kind", "description", "quantity", "unit_code", "unit_price",
                "vat_category", "vat_rate")  # fmt: skip


@dataclass(slots=True)
class _Due:
    """A claimed contract (the columns of _CONTRACT_COLS, in that order) and its client."""

    pk: int
    company_id: int
    client_id: int
    series_id: int
    issuer_id: int
    number: str
    signed_on: Any
    first_issue_at: datetime
    ends_at: datetime | None
    cycle: str
    every_days: int | None
    in_arrears: bool
    final_index: int | None
    payment_term_days: int
    currency: str
    invoice_currency: str
    next_index: int
    missing_usage: str  # contracts.usage: "wait" or "default"
    buyer: dict[str, Any] = field(default_factory=dict)
    buyer_problems: list[str] | None = None
    lines: list[tuple[Any, ...]] = field(default_factory=list)  # _LINE_COLS[1:]
    charges: list[tuple[Any, ...]] = field(default_factory=list)  # _CHARGE_COLS[1:]
    discounts: list[Any] = field(default_factory=list)  # engine.discounts.Discount, in order
    # Pending usage of variable lines: {(line position, period index): [(record id, quantity)]}.
    usage: dict[tuple[int, int], list[Any]] = field(default_factory=dict)
    status: str = ContractStatus.ACTIVE
    next_issue_at: datetime | None = None
    one_invoice: bool = False  # the client's one_invoice_per_client (invoices.grouping)

    def schedule(self) -> Schedule:
        # The model's own method: it reads only schedule fields, which _Due has.
        return Contract.schedule(self)  # type: ignore[arg-type]


def _claim(
    as_of: datetime, batch_size: int, company_id: int | None, exclude: set[int]
) -> list[_Due]:
    # Oldest due first. No primary-key tie-break here: at the 1st-of-the-month spike every
    # contract has the same instant, and (status, next_issue_at) is the index; a tie-break
    # PostgreSQL cannot read from it would sort every due contract for every block. (SQLite
    # walks that index in rowid order within a tie anyway.)
    qs = due_contracts(as_of, company_id=company_id, exclude=exclude).order_by("next_issue_at")
    if connection.features.has_select_for_update_skip_locked:
        # of=("self",): lock only contract rows; SKIP LOCKED: another worker's claim is not waited for.
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return _due_rows(qs, batch_size)


def _due_rows(qs: Any, limit: int) -> list[_Due]:
    """The first ``limit`` contracts of ``qs`` as _Due rows, with their client and lines."""
    n = len(_CONTRACT_COLS)
    rows = qs.values_list(
        *_CONTRACT_COLS, *(f"client__{f}" for f in _CLIENT_COLS), "client__one_invoice_per_client"
    )[:limit]
    block: dict[int, _Due] = {}
    for r in rows:
        d = _Due(*r[:n])
        d.buyer = buyer_snapshot(_ClientRow(*r[n:-1]))  # type: ignore[arg-type]
        d.one_invoice = r[-1]
        block[d.pk] = d
    if block:
        ids: Any = list(block)
        if connection.vendor == "postgresql":  # one array parameter, not 1,000 placeholders
            ids = RawSQL("SELECT unnest(%s::bigint[])", [ids])
        lines = ContractLine.objects.filter(contract_id__in=ids).order_by("position", "pk")
        for li in lines.values_list(*_LINE_COLS):
            block[li[0]].lines.append(li[1:])
        pending = ContractCharge.objects.filter(contract_id__in=ids, invoice__isnull=True)
        for ch in pending.order_by("created_at", "pk").values_list(*_CHARGE_COLS):
            block[ch[0]].charges.append(ch[1:])
        discounts = ContractDiscount.objects.filter(contract_id__in=ids)  # in the order they apply
        for row in discounts.values_list("contract_id", *_DISCOUNT_COLS):
            block[row[0]].discounts.append(engine_discount(row[1:]))
        usage_for_block(block, ids)  # one query for the block (contracts.usage)
    return list(block.values())


@dataclass(frozen=True, slots=True)
class _Priced:
    draft: Draft
    line_rows: list[tuple[Any, ...]]  # the invoice lines as database rows
    breakdown: list[dict[str, Any]]  # the VAT breakdown column (shared, never mutated)
    breakdown_db: Any  # the same, as the database driver takes it


def _hold(contracts: list[tuple[_Due, str, str]]) -> None:
    now = clock.now()
    by_kind: dict[tuple[str, str], list[int]] = defaultdict(list)
    for c, kind, reason in contracts:
        by_kind[(kind, reason[:1000])].append(c.pk)
    for (kind, reason), ids in by_kind.items():
        # QuerySet.update leaves updated_at alone, so a later edit is what releases a data hold.
        Contract.objects.filter(pk__in=ids).update(
            hold_kind=kind, hold_reason=reason, hold_since=now
        )


class _Block:
    """What the contracts of one block share, loaded and computed once per block: companies
    (seller snapshot, data check), issuers, products, line terms and whole drafts.

    Drafts are cached by everything ``draft_invoice`` reads (line terms, issue date, payment
    term, currencies, rate, VAT status): contracts with the same lines get the very same
    (immutable) draft, priced once by the engine with its own rounding and VAT rules.
    """

    def __init__(self, block: list[_Due]) -> None:
        self.companies = Company.objects.in_bulk({d.company_id for d in block})
        users = get_user_model().objects.in_bulk({d.issuer_id for d in block})
        self.issuer_names = {
            pk: (u.get_full_name() or u.get_username())[:150] for pk, u in users.items()
        }
        self.products = Product.objects.in_bulk({li[0] for d in block for li in d.lines})
        self.sellers: dict[int, tuple[dict[str, Any], Any, list[str]]] = {}
        self.terms: dict[tuple[Any, ...], LineTerms] = {}
        self.drafts: dict[tuple[Any, ...], _Priced] = {}
        # A period's first day by schedule terms and index (discounts only): contracts of a
        # block mostly share their terms, and a Schedule costs more than the rest of a draft.
        self.starts: dict[tuple[Any, ...], Any] = {}
        self.rates = RateBook()
        self.line_adapters = bulk.adapters(InvoiceLine, list(LINE_COLUMNS))
        self.json = _json_adapter()

    def seller(self, company_id: int) -> tuple[dict[str, Any], Any, list[str]]:
        """(snapshot, JSON as the database takes it, data problems) of a company."""
        hit = self.sellers.get(company_id)
        if hit is None:
            from recurent.engine.parties import check_party

            snap = seller_snapshot(self.companies[company_id])
            problems = [f"company {f}: {m}" for f, m in check_party(snap, "seller")]
            hit = self.sellers[company_id] = (snap, self.json(snap), problems)
        return hit

    def line_terms(self, li: tuple[Any, ...]) -> LineTerms:
        product_id, description, quantity, unit_price = li[:4]
        key = (product_id, description, quantity, unit_price)
        t = self.terms.get(key)
        if t is None:
            p = self.products[product_id]
            t = self.terms[key] = LineTerms(
                name=(description or p.name)[:100],
                description=p.description,
                unit_code=p.unit_code,
                unit_name=p.unit_name,
                quantity=quantity,
                unit_price=p.unit_price if unit_price is None else unit_price,
                vat_category=VatCategory(p.vat_category),
                vat_rate_code=VatRateCode(p.vat_rate),
                product_code=p.code,
            )
        return t

    def draft(self, d: _Due, index: int, issue_date: Any) -> _Priced:
        """The draft of ``d``'s period ``index``, with what its invoice row needs of it.

        Raises what ``draft_for`` raises, in the same order, with the same reasons."""
        if d.buyer_problems is None:
            from recurent.engine.parties import check_party

            d.buyer_problems = [f"client {f}: {m}" for f, m in check_party(d.buyer, "buyer")]
        company = self.companies[d.company_id]
        problems = self.seller(d.company_id)[2] + d.buyer_problems
        if problems:
            raise DraftError("contract", "; ".join(problems))
        fx = fx_date = None
        if d.currency != "RON":
            r = self.rates.rate(d.currency, issue_date)
            fx, fx_date = r.rate, r.date
        # li: (product_id, description, quantity, unit_price, from_index, until_index, position)
        applying = tuple(
            li[:4] for li in d.lines if li[4] <= index and (li[5] is None or index < li[5])
        )
        positions = None
        if any(li[7] for li in d.lines):  # variable lines: quantities from usage (contracts.usage)
            period_day = _bucharest_date(d.schedule().period(index).issue_at)
            applying, positions = usage_lines(
                d, index, issue_date, products=self.products, period_issue_date=period_day,
                cutoff_days=company.usage_cutoff_days,
            )  # fmt: skip
        # Pending one-off charges go on the contract's next invoice only (the period the cursor
        # is at); later periods of a catch-up or a preview are drafted without them.
        charges = tuple(ch[1:] for ch in d.charges) if index == d.next_index else ()
        # Discounts and trials in force for this period, pointed at this invoice's lines.
        discounts: tuple[Any, ...] = ()
        start = issue_date
        if d.discounts:
            skey = (d.first_issue_at, d.cycle, d.every_days, d.ends_at, d.in_arrears,
                    d.final_index, index)  # fmt: skip
            start = self.starts.get(skey)
            if start is None:
                start = self.starts[skey] = d.schedule().period(index).start
            positions = positions or [
                li[6] for li in d.lines if li[4] <= index and (li[5] is None or index < li[5])
            ]
            discounts = period_discounts(d.discounts, index=index, period_start=start,
                                         positions=positions)  # fmt: skip
        key = (applying, issue_date, d.payment_term_days, d.currency, d.invoice_currency,
               fx, fx_date, company.vat_payer, charges, discounts)  # fmt: skip
        hit = self.drafts.get(key)
        if hit is None:
            draft = draft_invoice(
                lines=[self.line_terms(li) for li in applying],
                issue_date=issue_date,
                payment_term_days=d.payment_term_days,
                price_currency=d.currency,
                invoice_currency=d.invoice_currency,
                fx_rate=fx,
                fx_date=fx_date,
                seller_vat_payer=company.vat_payer,
                charges=[_charge_terms(ch) for ch in charges],
                discounts=discounts,
                period_index=index,
                period_start=start,
            )
            breakdown = vat_breakdown(draft.totals)
            hit = self.drafts[key] = _Priced(
                draft, _line_rows(draft, self.line_adapters), breakdown, self.json(breakdown)
            )
        return hit


def _charge_terms(ch: tuple[Any, ...]) -> LineTerms:
    kind, description, quantity, unit_code, unit_price, vat_category, vat_rate = ch
    return LineTerms(
        name=description[:100],
        description="",
        unit_code=unit_code,
        unit_name=unit_code,
        quantity=-quantity if kind == ChargeKind.CREDIT else quantity,
        unit_price=unit_price,
        vat_category=VatCategory(vat_category),
        vat_rate_code=VatRateCode(vat_rate),
    )


def _mark_charges(ready: list[Any], invoices: list[Invoice]) -> None:
    """Point each priced charge at the invoice it went on, in the issuing transaction.

    ``invoice_id IS NULL`` in the WHERE and the row count checked: a charge already on another
    invoice (which the contract lock should make impossible) rolls the whole block back rather
    than appearing twice."""
    for (c, _, _), inv in zip(ready, invoices, strict=True):
        if not c.charges or inv.period_index != c.next_index:
            continue
        ids = [ch[0] for ch in c.charges]
        n = ContractCharge.objects.filter(pk__in=ids, invoice__isnull=True).update(invoice=inv)
        if n != len(ids):
            raise RuntimeError(f"contract {c.pk}: one-off charges changed while being invoiced")


def _json_adapter() -> Callable[[Any], Any]:
    """How bulk.insert_rows takes a JSON value (the invoice's JSON columns share one encoder)."""
    adapt = bulk.adapter(Invoice._meta.get_field("seller"))
    assert adapt is not None
    return adapt


# InvoiceLine columns in the order _line_rows gives them (invoice_id and credited_line_id aside).
LINE_COLUMNS = ("position", "product_code", "name", "description", "unit_code", "unit_name",
                "quantity", "unit_price", "vat_category", "vat_rate", "net", "allowances")  # fmt: skip


def _line_rows(
    draft: Draft, adapt: list[tuple[int, Callable[[Any], Any]]]
) -> list[tuple[Any, ...]]:
    """The draft's lines as database rows (values adapted for the driver by ``adapt``)."""
    out = []
    for d in draft.lines:
        row = [d.position, d.product_code, d.name, d.description, d.unit_code, d.unit_name,
               d.quantity, d.unit_price, d.vat_category.value, d.vat_rate, d.net,
               [allowance_json(a) for a in d.allowances]]  # fmt: skip
        for i, a in adapt:
            row[i] = a(row[i])
        out.append(tuple(row))
    return out


class _Rows:
    """Invoice rows built before the series lock; the few columns that depend on it (series
    year, number, full number, issue instant, timestamps) are filled in under the lock."""

    fields = [f for f in Invoice._meta.concrete_fields if not f.primary_key]
    columns = [f.attname for f in fields]
    at = {a: i for i, a in enumerate(columns)}
    defaults = {f.attname: f.get_default() for f in fields}

    def __init__(self) -> None:
        self.adapt = bulk.adapters(Invoice, self.columns)
        self.py: list[list[Any]] = []  # Python values, for the Invoice objects the hooks get
        self.db: list[list[Any]] = []  # driver values, for the INSERT
        self.lines: list[list[tuple[Any, ...]]] = []

    def add(
        self, values: dict[str, Any], prepared: dict[str, Any], lines: list[tuple[Any, ...]]
    ) -> None:
        """``prepared``: columns whose driver value is already known (JSON shared by a block)."""
        py = [values.get(a, d) for a, d in self.defaults.items()]
        db = list(py)
        for i, adapt in self.adapt:
            a = self.columns[i]
            db[i] = prepared[a] if a in prepared else adapt(py[i])
        self.py.append(py)
        self.db.append(db)
        self.lines.append(lines)

    def insert(self) -> list[Invoice]:
        ids = bulk.insert_rows(
            Invoice, self.columns, [tuple(r) for r in self.db], returning_ids=True
        )
        invoices = []
        alias = connection.alias
        line_rows: list[tuple[Any, ...]] = []
        for pk, py, lines in zip(ids, self.py, self.lines, strict=True):
            # As Model.from_db leaves a loaded row, without its per-field descriptor calls.
            inv = Invoice.__new__(Invoice)
            inv.__dict__.update(zip(self.columns, py, strict=True))
            inv.pk = pk
            inv._state = ModelState()
            inv._state.adding, inv._state.db = False, alias
            invoices.append(inv)
            line_rows.extend((pk, None, *li) for li in lines)
        bulk.insert_rows(InvoiceLine, ["invoice_id", "credited_line_id", *LINE_COLUMNS], line_rows)
        return invoices


def _move_cursors(moved: list[_Due]) -> None:
    """Each contract one period on and out of any hold, in one statement per block.

    Not ``save()`` nor ``bulk_update``: ``updated_at`` must not move (it is what releases
    data holds), and ``bulk_update``'s CASE WHEN per row cost more than the rest of a batch.
    """
    if not moved:
        return
    adapt = connection.ops.adapt_datetimefield_value
    values = [(c.next_index, adapt(c.next_issue_at), c.status, c.pk) for c in moved]
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # One array per column (see common/bulk.py: no per-value placeholders to parse).
            bulk.pg_cursor().execute(
                "UPDATE contracts_contract AS c SET next_index = v.next_index, "
                "next_issue_at = v.next_issue_at, status = v.status, hold_kind = '', "
                "hold_reason = '', hold_since = NULL FROM unnest(%b::integer[], "
                "%b::timestamptz[], %b::varchar[], %b::bigint[]) "
                "AS v(next_index, next_issue_at, status, id) WHERE c.id = v.id",
                [list(col) for col in zip(*values, strict=True)],
            )
        else:  # SQLite is in-process: executemany of one prepared statement is as cheap as it gets
            cur.executemany(
                "UPDATE contracts_contract SET next_index = %s, next_issue_at = %s, status = %s, "
                "hold_kind = '', hold_reason = '', hold_since = NULL WHERE id = %s",
                values,
            )


class _Schedules:
    """Contracts of a block mostly share their terms (all due on the 1st, monthly): each
    schedule, period and next instant is computed once per block."""

    def __init__(self) -> None:
        self.schedules: dict[tuple[Any, ...], Schedule] = {}
        self.periods: dict[tuple[Any, ...], Period] = {}
        self.nexts: dict[tuple[Any, ...], datetime | None] = {}

    def _key(self, c: _Due) -> tuple[Any, ...]:
        key = (c.first_issue_at, c.cycle, c.every_days, c.ends_at, c.in_arrears, c.final_index)
        if key not in self.schedules:
            self.schedules[key] = c.schedule()
        return key

    def schedule(self, c: _Due) -> Schedule:
        return self.schedules[self._key(c)]

    def period(self, c: _Due, index: int) -> Period:
        key = (self._key(c), index)
        p = self.periods.get(key)
        if p is None:
            p = self.periods[key] = self.schedules[key[0]].period(index)
        return p

    def next_after(self, c: _Due, index: int) -> datetime | None:
        key = (self._key(c), index)
        if key not in self.nexts:
            self.nexts[key] = self.schedules[key[0]].next_after(index)
        return self.nexts[key]


# Hooks that act inside the issuing transaction (mail outbox, e-Factura queue, balances,
# webhooks): called with the list of invoices just written. Kept explicit, not signals; the
# list and its order are in recurent/wiring.py.
AFTER_ISSUE: list[Callable[[list[Invoice]], None]] = []


def party_problems(snapshot: dict[str, Any], role: str) -> list[tuple[str, str]]:
    """ANAF's party rules on a seller/buyer snapshot (the check ``_Block`` applies), for the
    other issuing paths (one-off invoices) without a second import of documents."""
    from recurent.engine.parties import check_party

    return check_party(snapshot, role)


def _bucharest_date(at: datetime) -> Any:
    return at.astimezone(BUCHAREST).date()


def issue_batch(
    *,
    as_of: datetime | None,
    batch_size: int = 200,
    company_id: int | None = None,
    exclude: set[int] | None = None,
) -> BatchResult:
    """Issue one block of due periods (one per claimed contract). ``as_of=None``: now."""
    billing_instant_check(as_of=as_of, dry_run=False)
    result = BatchResult()
    exclude = exclude if exclude is not None else set()
    with transaction.atomic():
        due_at = as_of or clock.now()
        block = _claim(due_at, batch_size, company_id, exclude)
        # A grouping client's other due contracts join the block (one invoice, invoices.grouping).
        block += siblings(block, as_of=due_at, company_id=company_id, exclude=exclude)
        result.claimed = len(block)
        if not block:
            return result
        series_ids = sorted({c.series_id for c in block})
        shared = _Block(block)
        schedules = _Schedules()

        def draft_all(issue_date: Any) -> tuple[list[Any], list[tuple[_Due, str, str]]]:
            ready: list[tuple[_Due, Period, _Priced]] = []
            held: list[tuple[_Due, str, str]] = []
            for c in block:
                period = schedules.period(c, c.next_index)
                try:
                    ready.append((c, period, shared.draft(c, period.index, issue_date)))
                except RateUnavailable as e:
                    held.append((c, HoldKind.FX, str(e)))
                except UsageMissing as e:  # retried by every run, up to the cut-off
                    held.append((c, HoldKind.USAGE, str(e)))
                except (DraftError, VatError, MoneyError, ValueError) as e:
                    held.append((c, HoldKind.DATA, str(e)))
            return ready, held

        # Drafted BEFORE the series lock, with the instant the lock will most likely give:
        # a second worker waiting on the same series drafts its block meanwhile, and only
        # numbering, the inserts and the commit are serialised. Drafts depend on the issue
        # DATE only (VAT rate and BNR rate by date), checked again under the lock below.
        guess = as_of or clock.now()
        if as_of is None:
            newest = InvoiceSeries.objects.filter(pk__in=series_ids, last_issued_at__isnull=False)
            guess = max([guess, *(t for t in newest.values_list("last_issued_at", flat=True) if t)])
        drafted_for = _bucharest_date(guess)
        ready, held = draft_all(drafted_for)

        # The series rows locked, then the instant read under the locks (invoices/numbering.py).
        lock = SeriesLock(series_ids, as_of=as_of)
        issued_at = lock.issued_at
        if _bucharest_date(issued_at) != drafted_for:
            # Midnight passed between the two reads (or another worker's clock is ahead):
            # the drafts were priced for another day. Rare; the whole block shares the date.
            log.info("issue date moved to %s under the series lock: redrafting", issued_at)
            ready, held = draft_all(_bucharest_date(issued_at))

        for c, _, reason in held:
            exclude.add(c.pk)
            result.held.append((c.pk, reason))
        # Contracts billed by proforma first get a proforma for this period instead (imported
        # here: proforma_period imports this module).
        from .proforma_period import proformas_issue, proformas_split

        ready, by_proforma = proformas_split(ready)
        # Contracts under review get a draft waiting for approval instead (invoices.review;
        # imported here: review imports oneoff, which imports this module). Proforma first wins.
        from .review import review_prepare, review_split

        ready, by_review = review_split(ready)
        # A grouping client's contracts sharing series, currencies and date: one invoice each.
        single, groups = groups_split(ready)
        now = clock.now()
        rows = _Rows()
        at_db = connection.ops.adapt_datetimefield_value
        stamps = {"issued_at": issued_at, "created_at": now, "updated_at": now}
        prepared_stamps = {a: at_db(v) for a, v in stamps.items()}
        for c, period, priced in single:
            draft = priced.draft
            s, year, number, full_number = lock.take(c.series_id)
            t = draft.totals
            seller, seller_db, _ = shared.seller(c.company_id)
            company = shared.companies[c.company_id]
            rows.add(
                {
                    "company_id": c.company_id, "series_id": s.pk, "year": year,
                    "number": number, "full_number": full_number,
                    "kind": InvoiceKind.INVOICE, "origin": InvoiceOrigin.SCHEDULE,
                    "contract_id": c.pk, "client_id": c.client_id, "period_index": period.index,
                    "period_start": period.start, "period_end": period.end,
                    "issue_date": draft.issue_date, "due_date": draft.due_date,
                    "issuer_id": c.issuer_id, "issuer_name": shared.issuer_names[c.issuer_id],
                    "currency": draft.currency, "price_currency": draft.price_currency,
                    "fx_rate": draft.fx_rate, "fx_date": draft.fx_date, "net_total": t.net,
                    "vat_total": t.vat, "gross_total": t.gross, "vat_total_ron": t.vat_ron,
                    "vat_breakdown": priced.breakdown, "seller": seller, "buyer": c.buyer,
                    "buyer_name": c.buyer["name"], "contract_number": c.number,
                    "contract_date": c.signed_on,
                    "vat_on_collection": company.vat_on_collection and company.vat_payer,
                    **stamps,
                },
                {"vat_breakdown": priced.breakdown_db, "seller": seller_db, **prepared_stamps},
                priced.line_rows,
            )  # fmt: skip
        grouped = groups_add(groups, rows, lock=lock, shared=shared, stamps=stamps,
                             prepared=prepared_stamps)  # fmt: skip
        _hold(held)
        invoices = rows.insert()
        # Period rows (invoice_period_once: exactly once) and the grouped invoices' lines.
        marked = periods_write(single, grouped, invoices)
        result.proformas = proformas_issue(by_proforma, shared=shared, issued_at=issued_at)
        result.reviews = review_prepare(by_review, shared=shared, issued_at=issued_at)
        _mark_charges(*marked)
        usage_mark(*marked)
        lock.save()
        moved = []
        for c, _, _ in ready + by_proforma + by_review:
            c.next_index += 1
            c.next_issue_at = schedules.next_after(c, c.next_index)
            if c.next_issue_at is None:
                c.status = ContractStatus.ENDED
            moved.append(c)
        _move_cursors(moved)
        for hook in AFTER_ISSUE:
            hook(invoices)
        result.issued = [inv.pk for inv in invoices]
    return result


def issue_due(
    *,
    as_of: datetime | None,
    batch_size: int = 200,
    company_id: int | None = None,
    dry_run: bool = False,
    trigger: str = "cli",
    progress: Callable[[int, int], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> RunResult:
    """Issue everything due as of ``as_of`` (None: now, re-read per batch), block by block.

    Catch-up falls out of the loop: a contract with several missed periods is claimed
    again in the next block for its next period, oldest due first.
    """
    if dry_run:
        return preview_due(as_of=as_of or clock.now(), company_id=company_id, progress=progress)
    billing_instant_check(as_of=as_of, dry_run=dry_run)
    started = clock.now()
    run = None
    if not dry_run:
        run = BillingRun.objects.create(
            company_id=company_id,
            started_at=started,
            as_of=as_of,
            dry_run=dry_run,
            trigger=trigger,
            due_total=due_contracts(as_of or started, company_id=company_id).count(),
        )
    total = RunResult(run_id=run.pk if run else None)
    exclude: set[int] = set()
    try:
        while stop is None or not stop():
            writer_turn.yield_to_people()  # SQLite: a person's write goes between two blocks
            b = issue_batch(
                as_of=as_of, batch_size=batch_size, company_id=company_id, exclude=exclude
            )
            if b.claimed == 0:
                break
            total.batches += 1
            total.issued += len(b.issued)
            total.proformas += len(b.proformas)
            total.reviews += len(b.reviews)
            total.held.extend(b.held)
            if run:
                BillingRun.objects.filter(pk=run.pk).update(
                    issued=total.issued, held=len(total.held)
                )
            if progress:
                progress(total.issued, len(total.held))
    except Exception as e:
        if run:
            BillingRun.objects.filter(pk=run.pk).update(
                error=str(e)[:2000], finished_at=clock.now()
            )
        raise
    if run:
        BillingRun.objects.filter(pk=run.pk).update(
            finished_at=clock.now(), issued=total.issued, held=len(total.held)
        )
    return total


def preview_due(
    *,
    as_of: datetime,
    company_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """What a run as of ``as_of`` would issue, every missed period included; writes nothing.

    Drafted by the very path ``issue_batch`` takes (_due_rows, _Block.draft), so the preview
    shows the amounts and dates the run then issues (tests/core/test_preview_equals_issue.py).
    Numbers are the ones the series would give if nothing else were issued first; a period
    that becomes a proforma or a draft waiting for review takes no invoice number (``kind``).
    """
    result = RunResult()
    issue_date = _bucharest_date(as_of)
    year = as_of.astimezone(BUCHAREST).year
    counters: dict[int, tuple[str, int, int | None, bool, int]] = {}
    ids = list(due_contracts(as_of, company_id=company_id).values_list("pk", flat=True))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        block = _due_rows(
            Contract.objects.filter(pk__in=chunk).order_by("next_issue_at", "pk"), len(chunk)
        )
        shared, schedules = _Block(block), _Schedules()
        kinds = _preview_kinds(chunk)
        for s in InvoiceSeries.objects.filter(pk__in={d.series_id for d in block}):
            counters.setdefault(s.pk, (s.code, s.width, s.year, s.yearly_restart, s.next_number))
        for d in block:
            code, width, series_year, restart, n = counters[d.series_id]
            for period in schedules.schedule(d).due(d.next_index, as_of):
                try:
                    draft = shared.draft(d, period.index, issue_date).draft
                except (RateUnavailable, DraftError, VatError, MoneyError, ValueError) as e:
                    result.held.append((d.pk, str(e)))
                    break
                kind, number = kinds.get(d.pk, "invoice"), ""
                if kind == "invoice":
                    series_year, numbers = numbering.allocate_block(
                        next_number=n, series_year=series_year, yearly_restart=restart,
                        year=year, count=1,
                    )  # fmt: skip
                    n, number = numbers.stop, numbering.full_number(code, numbers.start, width)
                result.previews.append(
                    {
                        "contract": d.number,
                        "client": d.buyer["name"],
                        "kind": kind,
                        "number": number,
                        "period_start": period.start.isoformat(),
                        "period_end": period.end.isoformat(),
                        "issue_date": draft.issue_date.isoformat(),
                        "due_date": draft.due_date.isoformat(),
                        "currency": draft.currency,
                        "net": str(draft.totals.net),
                        "vat": str(draft.totals.vat),
                        "total": str(draft.totals.gross),
                    }  # fmt: skip
                )
            counters[d.series_id] = (code, width, series_year, restart, n)
            if progress:
                progress(len(result.previews), len(result.held))
    return result


def _preview_kinds(ids: list[int]) -> dict[int, str]:
    """{contract id: "proforma" | "review"} for the contracts whose period the run does not
    invoice at once (proforma first wins, as in ``issue_batch``)."""
    rows = Contract.objects.filter(pk__in=ids).filter(
        Q(proforma_first=True) | Q(review_before_issue=True) | Q(company__review_before_issue=True)
    )
    return {
        pk: "proforma" if proforma else "review"
        for pk, proforma in rows.values_list("pk", "proforma_first")
    }


def contract_upcoming(*, contract: Contract, as_of: datetime, count: int) -> list[dict[str, Any]]:
    """The contract's next ``count`` invoices with their amounts, writing nothing.

    Drafted by ``_Block.draft``, the function ``issue_batch`` prices with: contract lines in force
    for each period, pending one-off charges on the first one, VAT by the period's issue date.
    A foreign-currency amount uses the newest stored BNR rate (the day's is not published yet)
    and says so with ``estimated``. A period that cannot be drafted carries its ``problem``.
    """
    block = _due_rows(Contract.objects.filter(pk=contract.pk), 1)
    if not block or count < 1:
        return []
    d = block[0]
    shared, schedules = _Block(block), _Schedules()
    today = _bucharest_date(as_of)
    out: list[dict[str, Any]] = []
    try:
        periods = list(islice(schedules.schedule(d).periods(d.next_index), count))
    except (ValueError, OverflowError):
        periods = []  # past year 9999
    for period in periods:
        day = max(_bucharest_date(period.issue_at), today)
        row: dict[str, Any] = {"index": period.index, "issue_at": period.issue_at,
                               "start": period.start, "end": period.end, "estimated": False}  # fmt: skip
        row["usage"] = period_usage(d, period.index)  # pending usage (contracts.usage)
        try:
            if d.currency != "RON" and day > today:
                # The rate of a future day is not known: price it at the newest one stored.
                known = shared.rates.rate(d.currency, today)
                shared.rates._cache[(d.currency, day)] = known
                row["estimated"] = True
            draft = shared.draft(d, period.index, day).draft
        except (RateUnavailable, DraftError, VatError, MoneyError, ValueError) as e:
            row["problem"] = str(e)
        else:
            t = draft.totals
            allowances = [a for li in draft.lines for a in li.allowances]
            row.update(currency=draft.currency, net=t.net, vat=t.vat, total=t.gross,
                       lines=len(draft.lines), trial=any(a.trial for a in allowances),
                       discount=sum((a.amount for a in allowances), Decimal("0.00")))  # fmt: skip
        out.append(row)
    return out


def next_due_at(*, company_id: int | None = None) -> datetime | None:
    qs = Contract.objects.filter(status=ContractStatus.ACTIVE, next_issue_at__isnull=False)
    if company_id is not None:
        qs = qs.filter(company_id=company_id)
    return qs.order_by("next_issue_at").values_list("next_issue_at", flat=True).first()
