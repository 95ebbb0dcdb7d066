"""Late-payment interest invoices (issue 19; the rules: recurent.engine.interest, docs/interest.md).

Why here and not in invoices: the interest of an invoice depends on when it was paid, which
only payments knows (allocations of payments not reversed, the stored balances); payments
already builds on invoices, and invoices must not import payments (no cycles between apps).

For each client (and currency), one invoice through the one-off path
(``invoices.oneoff.invoice_create``: gapless number, e-Factura queue, balances, webhooks in the
issuing transaction), one line per late invoice, the calculation in its notes and in
``InterestCharge.statement``. The days invoiced are stored per late invoice
(``InterestCharge.since``/``until``): the next run starts the day after, so no day is invoiced
twice; the client row is locked while a client's interest is computed and issued, so two runs
at once cannot both invoice the same days. An interest invoice that was cancelled (storno) no
longer counts: its days can be invoiced again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Sum
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from recurent.clients.models import Client, ClientKind
from recurent.common import clock
from recurent.common.errors import as_validation_error, field_error, messages_of
from recurent.companies.models import (
    Company,
    InterestRuleChoice,
    InvoiceSeries,
    Membership,
    Role,
)
from recurent.engine.cycles import BUCHAREST
from recurent.engine.interest import (
    InterestError,
    InterestResult,
    InterestRule,
    PaymentMade,
    RateUnit,
    ReferenceRate,
    late_interest,
    vat_exemption_text,
)
from recurent.engine.money import round_money
from recurent.engine.vat import VatCategory, VatRateCode
from recurent.invoices.models import Invoice, InvoiceKind, InvoiceStatus
from recurent.invoices.oneoff import DraftLineSpec, invoice_create
from recurent.rates.models import ReferenceRate as ReferenceRateRow

from .models import Allocation, BalanceState, InterestCharge, InvoiceBalance

log = logging.getLogger(__name__)
ZERO = Decimal("0")
# Days the client has to pay an interest invoice.
PAYMENT_TERM_DAYS = int(getattr(settings, "RECURENT_INTEREST_TERM_DAYS", 15))
# Late-payment interest (Codul fiscal art. 286 (4) c)) and contractual penalties (lit. b)) are
# not part of the VAT taxable base: outside the VAT scope. A seller not registered for VAT
# invoices with category O (the billing core sets it); a VAT-registered seller cannot (EN 16931
# BR-O-02: no seller VAT id with category O), so its lines go as E (not taxed), with that legal
# basis as the E row's reason (BT-120; engine.interest.vat_exemption_text), not an exemption's.
VAT_CATEGORY = VatCategory.EXEMPT
# Queues an issued interest invoice's email (filled by recurent/wiring.py with mail's
# outbox_resend: mail builds on payments, so payments cannot import it).
EMAIL_QUEUE: list[Callable[..., Any]] = []
LEGAL_BASIS = _(
    "Late-payment interest and contractual penalties are not part of the VAT taxable base "
    "(Codul fiscal art. 286 (4) c) and b))."
)


@dataclass(frozen=True)
class LateItem:
    """The interest not yet invoiced on one late invoice."""

    invoice: Invoice
    rule: InterestRule
    result: InterestResult
    already_charged: Decimal

    @property
    def since(self) -> date:
        return self.result.segments[0].start

    @property
    def until(self) -> date:
        return self.result.segments[-1].end


@dataclass
class ClientInterest:
    client: Client
    currency: str
    items: list[LateItem]

    @property
    def total(self) -> Decimal:
        return sum((i.result.total for i in self.items), ZERO)


@dataclass(frozen=True)
class IssuedInterest:
    client: Client
    currency: str
    total: Decimal
    invoice: Invoice | None  # None on a dry run or when refused
    items: tuple[LateItem, ...]
    # Why this client's invoice was refused (e.g. its address is incomplete): nothing of it was
    # written, its days stay to invoice, and the other clients' invoices are issued anyway.
    error: str = ""


def interest_settings_update(
    *,
    company: Company,
    enabled: bool,
    rule: str,
    daily_percent: Decimal | None,
    min_amount: Decimal,
) -> Company:
    """The company's late-payment interest settings, checked together."""
    if rule not in InterestRuleChoice.values:
        raise field_error("interest_rule", _("unknown rule %(value)s"), "unknown", value=rule)
    if rule == InterestRuleChoice.CONTRACTUAL and (daily_percent is None or daily_percent <= 0):
        raise field_error(
            "interest_daily_percent",
            _("a contractual rule needs a rate per day greater than zero"),
            "required",
        )
    if daily_percent is not None and daily_percent <= 0:
        raise field_error("interest_daily_percent", _("must be greater than zero"), "not_positive")
    if min_amount is None or min_amount < 0:
        raise field_error("interest_min_amount", _("cannot be negative"), "negative")
    Company.objects.filter(pk=company.pk).update(
        interest_enabled=enabled, interest_rule=rule, interest_daily_percent=daily_percent,
        interest_min_amount=min_amount,
    )  # fmt: skip
    company.refresh_from_db()
    return company


def contracts_without_rate(company: Company) -> list[str]:
    """Numbers of the contracts whose contractual rule has no rate a day, neither their own nor
    the company's: their late invoices are skipped until one is set (the settings page says so)."""
    from recurent.contracts.models import Contract

    if company.interest_daily_percent:
        return []
    qs = Contract.objects.filter(
        company=company, interest_rule=InterestRuleChoice.CONTRACTUAL,
        interest_daily_percent__isnull=True,
    )  # fmt: skip
    return list(qs.order_by("number").values_list("number", flat=True))


def reference_rates() -> list[ReferenceRate]:
    return [
        ReferenceRate(r.valid_from, r.rate) for r in ReferenceRateRow.objects.order_by("valid_from")
    ]


def rule_for(invoice: Invoice, company: Company) -> tuple[InterestRule, Decimal | None] | None:
    """The rule of a late invoice: its contract's, else the company's; None when off."""
    if not company.interest_enabled:
        return None
    contract = invoice.contract
    name = (contract.interest_rule if contract else "") or company.interest_rule
    if name == "none":
        return None
    daily = (contract.interest_daily_percent if contract else None) or (
        company.interest_daily_percent
    )
    if name == InterestRuleChoice.CONTRACTUAL and not daily:
        # Neither the contract nor the company gives a rate a day: nothing can be computed;
        # said in the log rather than stopping every other client's interest.
        log.warning("invoice %s: contractual interest without a rate a day; skipped", invoice.pk)
        return None
    if name == InterestRuleChoice.LEGAL:
        consumer = invoice.client.kind == ClientKind.INDIVIDUAL
        name = InterestRule.LEGAL_CONSUMER if consumer else InterestRule.LEGAL_PROFESSIONAL
    return InterestRule(name), daily


def _late_invoices(company: Company, day: date, client: Client | None) -> list[Invoice]:
    """Invoices due before ``day`` still open, or paid after their due date; never an
    interest invoice itself, nor a cancelled one. Two narrow id queries on their own indexes
    (balances by company/client and state; allocations by payment) instead of one OR over
    joins, which read every invoice of the company."""
    open_rows = InvoiceBalance.objects.filter(
        company=company, state=BalanceState.OPEN, due_date__lt=day
    )
    paid_late = Allocation.objects.filter(
        payment__company=company, payment__reversed=False,
        payment__date__gt=F("invoice__due_date"), invoice__due_date__lt=day,
    )  # fmt: skip
    if client is not None:
        open_rows = open_rows.filter(client=client)
        paid_late = paid_late.filter(payment__client=client)
    ids = set(open_rows.values_list("invoice_id", flat=True))
    ids |= set(paid_late.values_list("invoice_id", flat=True))
    ids -= set(
        InterestCharge.objects.filter(interest_invoice_id__in=ids).values_list(
            "interest_invoice_id", flat=True
        )
    )
    qs = (
        Invoice.objects.filter(pk__in=ids, kind=InvoiceKind.INVOICE)
        .exclude(status=InvoiceStatus.CANCELLED)
        .select_related("contract", "client", "balance")
        .order_by("client_id", "due_date", "pk")
    )
    return list(qs)


def _payments(invoices: list[Invoice]) -> dict[int, list[PaymentMade]]:
    out: dict[int, list[PaymentMade]] = defaultdict(list)
    rows = Allocation.objects.filter(
        invoice__in=[i.pk for i in invoices], payment__reversed=False
    ).values_list("invoice_id", "payment__date", "amount")
    for invoice_id, day, amount in rows:
        out[invoice_id].append(PaymentMade(day, amount))
    return out


def _charged(invoices: list[Invoice]) -> dict[int, tuple[date, Decimal]]:
    """Per invoice: the last day already invoiced and the interest invoiced so far."""
    rows = (
        InterestCharge.objects.filter(invoice__in=[i.pk for i in invoices])
        .exclude(interest_invoice__status=InvoiceStatus.CANCELLED)
        .values("invoice_id")
        .annotate(last=Max("until"), amount=Sum("amount"))
    )
    return {r["invoice_id"]: (r["last"], r["amount"]) for r in rows}


def interest_due(
    *, company: Company, day: date, client: Client | None = None
) -> list[ClientInterest]:
    """The interest not yet invoiced up to ``day`` (included), per client and currency; clients
    under the company's smallest amount are left out (their interest waits)."""
    invoices = _late_invoices(company, day, client)
    if not invoices or not company.interest_enabled:
        return []
    rates, paid, charged = reference_rates(), _payments(invoices), _charged(invoices)
    groups: dict[tuple[int, str], ClientInterest] = {}
    for inv in invoices:
        rule = rule_for(inv, company)
        if rule is None:
            continue
        last, already = charged.get(inv.pk, (None, ZERO))
        balance = getattr(inv, "balance", None)
        credited = balance.credited if balance is not None else ZERO
        try:
            result = late_interest(
                principal=inv.gross_total - credited, due_date=inv.due_date,
                payments=paid.get(inv.pk, []), until=day, rule=rule[0], reference_rates=rates,
                daily_percent=rule[1], since=last + timedelta(days=1) if last else None,
                already_charged=already,
            )  # fmt: skip
        except InterestError as e:
            raise as_validation_error(e) from e
        if result.total <= 0:
            continue
        key = (inv.client_id, inv.currency)
        group = groups.setdefault(key, ClientInterest(inv.client, inv.currency, []))
        group.items.append(LateItem(inv, rule[0], result, already))
    return [g for g in groups.values() if g.total >= company.interest_min_amount]


def interest_invoice(
    *,
    company: Company,
    as_of: datetime,
    user: Any,
    client: Client | None = None,
    dry_run: bool = False,
    email: bool = False,
) -> list[IssuedInterest]:
    """Issue the interest invoices due on ``as_of``'s day (Bucharest): one per client and
    currency. ``dry_run`` computes them and issues nothing; ``email`` queues each invoice's
    email to the client with it (a client without an address gets none)."""
    if as_of.tzinfo is None:
        raise field_error("as_of", _("must be an aware instant"), "naive")
    day = as_of.astimezone(BUCHAREST).date()
    out = []
    for group in interest_due(company=company, day=day, client=client):
        if dry_run:
            out.append(IssuedInterest(group.client, group.currency, group.total, None,
                                      tuple(group.items)))  # fmt: skip
            continue
        try:
            issued = _issue_for_client(
                company, group.client, group.currency, day, as_of, user, email
            )
        except ValidationError as e:
            why = "; ".join(f"{f}: {m}" for f, m in messages_of(e))
            log.warning("interest invoice of client %s refused: %s", group.client.pk, why)
            out.append(IssuedInterest(group.client, group.currency, group.total, None,
                                      tuple(group.items), error=why))  # fmt: skip
            continue
        if issued is not None:
            out.append(issued)
    return out


@transaction.atomic
def _issue_for_client(
    company: Company,
    client: Client,
    currency: str,
    day: date,
    as_of: datetime,
    user: Any,
    email: bool,
) -> IssuedInterest | None:
    # Locked, then computed again: a run at the same time waits here and then sees the
    # charges this one wrote, so it invoices none of the same days.
    Client.objects.select_for_update().get(pk=client.pk)
    groups = [
        g for g in interest_due(company=company, day=day, client=client) if g.currency == currency
    ]
    if not groups:
        return None
    group = groups[0]
    series = InvoiceSeries.objects.filter(company=company, is_default=True).first()
    if series is None:
        raise field_error("series", _("required (the company has no default series)"), "required")
    with translation.override("ro"):  # the invoice's own text is in Romanian
        lines = [_line(item) for item in group.items]
        notes = statement_text(group.items, day)
    invoice = invoice_create(
        as_of=as_of, user=user, company=company, client=client, series=series, lines=lines,
        due_date=day + timedelta(days=PAYMENT_TERM_DAYS), currency=currency,
        price_currency=currency, notes=notes,
        vat_exemption_reason=vat_exemption_text(item.rule for item in group.items),
    )  # fmt: skip
    InterestCharge.objects.bulk_create(
        InterestCharge(
            company=company,
            invoice=item.invoice,
            interest_invoice=invoice,
            since=item.since,
            until=item.until,
            amount=item.result.total,
            statement=statement_json(item),
            created_at=as_of,
        )  # fmt: skip
        for item in group.items
    )
    if email and EMAIL_QUEUE and any(client.emails or []):
        EMAIL_QUEUE[0](invoice=invoice, as_of=invoice.issued_at)
    return IssuedInterest(client, currency, group.total, invoice, tuple(group.items))


# ---- on a schedule (a worker task, recurent/wiring.py) ---------------------------------------

# The day of the month the worker issues the interest invoices of every company that turned
# them on (0: never; `recurent interest invoice` and the web button issue them on demand).
SCHEDULE_DAY = int(getattr(settings, "RECURENT_INTEREST_DAY", 1))


def interest_tick(*, limit: int) -> int:
    """Worker task: on ``SCHEDULE_DAY``, each company's interest invoices, emailed. Safe to run
    in every pass of the day: a second pass finds the days already invoiced."""
    now = clock.now()
    if now.astimezone(BUCHAREST).day != SCHEDULE_DAY:
        return 0
    done = 0
    for company in Company.objects.filter(interest_enabled=True).order_by("pk"):
        admin = (
            Membership.objects.filter(company=company, role=Role.ADMIN, user__is_active=True)
            .order_by("pk")
            .first()
        )
        if admin is None:
            continue
        issued = interest_invoice(company=company, as_of=now, user=admin.user, email=True)
        done += len(issued)
        if done >= limit:
            break
    return done


# ---- the calculation statement -------------------------------------------------------------


def _money(value: Decimal) -> str:
    text = f"{round_money(value):,.2f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def _pct(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.replace(".", ",")


def _day(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def _line(item: LateItem) -> DraftLineSpec:
    inv = item.invoice
    name = gettext("Late-payment interest on invoice %(number)s of %(date)s") % {
        "number": inv.full_number, "date": _day(inv.issue_date),
    }  # fmt: skip
    days = sum(s.days for s in item.result.segments)
    description = gettext("%(days)s days late, %(since)s - %(until)s") % {
        "days": days, "since": _day(item.since), "until": _day(item.until),
    }  # fmt: skip
    return DraftLineSpec(
        quantity=Decimal(1), name=name[:100], description=description, unit_code="C62",
        unit_name="buc", unit_price=item.result.total, vat_category=VAT_CATEGORY.value,
        vat_rate=VatRateCode.ZERO.value,
    )  # fmt: skip


def _segment_text(s: Any) -> str:
    if s.unit == RateUnit.DAY:
        rate = gettext("%(rate)s %% a day") % {"rate": _pct(s.rate)}
        formula = f"{s.days} × {_money(s.base)} × {_pct(s.rate)}%"
    else:
        rate = gettext("%(rate)s %% a year (BNR reference rate %(ref)s %%)") % {
            "rate": _pct(s.rate), "ref": _pct(s.reference_rate),
        }  # fmt: skip
        formula = f"{s.days} × {_money(s.base)} × {_pct(s.rate)}% / 365"
    return f"{_day(s.start)} - {_day(s.end)}: {formula} = {_money(s.amount)} ({rate})"


RULE_TEXT = {
    InterestRule.LEGAL_PROFESSIONAL: _(
        "legal interest between professionals: BNR reference rate + 8 points "
        "(OG 13/2011 art. 3 (2^1), Legea 72/2013)"
    ),
    InterestRule.LEGAL_CONSUMER: _(
        "legal interest for a consumer: BNR reference rate + 4 points, less 20 % "
        "(OG 13/2011 art. 3 (3))"
    ),
    InterestRule.CONTRACTUAL: _("the contractual penalty per day"),
}


def statement_text(items: Iterable[LateItem], day: date) -> str:
    """The calculation, readable by the client and the accountant (the invoice's notes)."""
    parts = [gettext("Late-payment interest up to %(day)s.") % {"day": _day(day)}]
    for item in items:
        inv = item.invoice
        head = gettext("Invoice %(number)s of %(date)s, due %(due)s, %(rule)s:") % {
            "number": inv.full_number, "date": _day(inv.issue_date), "due": _day(inv.due_date),
            "rule": str(RULE_TEXT[item.rule]),
        }  # fmt: skip
        segs = "; ".join(_segment_text(s) for s in item.result.segments)
        total = gettext("total %(total)s") % {"total": _money(item.result.total)}
        if item.result.capped:
            total += " " + gettext("(capped at the invoice's amount)")
        parts.append(f"{head} {segs}; {total}.")
    parts.append(gettext("Days counted: actual/365; the total of each invoice rounded once."))
    parts.append(str(LEGAL_BASIS))
    return " ".join(parts)


def statement_json(item: LateItem) -> dict[str, Any]:
    r = item.result
    return {
        "rule": item.rule.value,
        "total": str(r.total),
        "raw_total": str(r.raw_total),
        "capped": r.capped,
        "already_charged": str(item.already_charged),
        "segments": [
            {
                "from": s.start.isoformat(),
                "to": s.end.isoformat(),
                "days": s.days,
                "base": str(s.base),
                "rate": str(s.rate),
                "unit": s.unit.value,
                "reference_rate": None if s.reference_rate is None else str(s.reference_rate),
                "amount": str(s.amount),
            }  # fmt: skip
            for s in r.segments
        ],
    }
