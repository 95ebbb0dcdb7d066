"""Yearly indexation of contracts (issue #19): the notice, then the new prices in force.

The rule (when, by how much, rounding) is pure: ``recurent.engine.indexation``. This module
reads the contracts, the CPI table and the BNR rates, and runs it in two steps, both from the
worker task ``indexation_tick`` (one line in recurent/wiring.py):

1. Notice, ``index_notice_days`` before the indexation day: inside one transaction, a
   ContractIndexation row for (contract, year) with the factor, the figure used and the old and
   new unit prices, the client's email queued in the mail outbox, and a line in the contract's
   history. The row's unique (contract, year) makes it once: a second run or a second worker
   finds it (or hits the constraint) and queues nothing. A notice sent late (the worker was
   down, the CPI figure was entered late) moves the new prices to notice day + notice days:
   the client always has the full notice.
2. On that day: the new prices through ``contract_change_lines`` from the first period that
   starts on or after it (never an invoiced one), audited as ``indexed`` with the figure used;
   ``applied_at`` is set in the same transaction, so the prices change once.

The prices applied are the lines in force on the day times the factor of the notice: a line
changed between the notice and the day is indexed as it stands then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from time import monotonic
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext

from recurent.clients.portal_links import portal_url
from recurent.common import clock
from recurent.engine import indexation as rule
from recurent.engine.cycles import BUCHAREST, localize
from recurent.rates.models import InflationRate
from recurent.rates.services import RateBook, RateUnavailable

from .models import Contract, ContractChange, ContractIndexation, ContractLine, ContractStatus
from .services import LineSpec, contract_change_lines, indexation_settings

log = logging.getLogger("recurent.contracts.indexation")

# Filled by recurent.wiring (contracts sit below mail, so they cannot import it):
# mail.services.notice_queue and mail.services.client_language.
NOTICE_QUEUE: list[Callable[..., Any]] = []
CLIENT_LANGUAGE: list[Callable[[Any], str]] = []

ACTOR = "indexation"


def cpi_table(company_id: int) -> dict[int, Decimal]:
    """Year -> INS's annual rate: the published figures, then the company's own over them."""
    rows = InflationRate.objects.filter(Q(company__isnull=True) | Q(company_id=company_id))
    table: dict[int, Decimal] = {}
    for year, percent, own in rows.order_by("company_id").values_list(
        "year", "percent", "company_id"
    ):
        if own is not None or year not in table:
            table[year] = percent
    return table


def _today(as_of: datetime) -> date:
    return as_of.astimezone(BUCHAREST).date()


def _eur_base(contract: Contract, rates: RateBook) -> Decimal | None:
    last = (
        contract.indexations.filter(applied_at__isnull=False, index_used__method="eur")
        .order_by("-year")
        .first()
    )
    if last is not None and last.index_used.get("eur_rate"):
        return Decimal(last.index_used["eur_rate"])
    try:
        return rates.rate("EUR", contract.signed_on).rate
    except RateUnavailable:
        return None


def factor_for(contract: Contract, *, day: date, today: date) -> rule.Factor | None:
    """The contract's factor for the indexation of ``day``; None while its figure is missing."""
    s = indexation_settings(contract)
    if s.method == rule.Method.EUR:
        rates = RateBook()
        try:
            now = rates.rate("EUR", today).rate
        except RateUnavailable:
            return None
        return rule.factor(s, on=day, eur_base=_eur_base(contract, rates), eur_rate=now)
    return rule.factor(s, on=day, cpi=cpi_table(contract.company_id))


def _lines_in_force(contract: Contract) -> list[ContractLine]:
    return list(
        contract.lines.filter(until_index__isnull=True)
        .select_related("product")
        .order_by("position", "pk")
    )


def _price(line: ContractLine) -> Decimal:
    return line.unit_price if line.unit_price is not None else line.product.unit_price


def price_rows(lines: list[ContractLine], f: rule.Factor) -> list[dict[str, str]]:
    new = rule.new_prices([_price(li) for li in lines], f)
    return [
        {"position": str(li.position), "product": li.product.code,
         "description": li.description or li.product.name, "quantity": str(li.quantity),
         "old": str(_price(li)), "new": str(n)}
        for li, n in zip(lines, new, strict=True)
    ]  # fmt: skip


def first_period_from(contract: Contract, day: date) -> int | None:
    """The first period whose first service day is on or after ``day``; None if none is left."""
    schedule = contract.schedule()
    k = schedule.first_index_at_or_after(localize(datetime.combine(day, time())))
    if contract.in_arrears:
        k += 1  # period k covers [instant k-1, instant k)
    return k if schedule.has(k) else None


def _due_days(s: rule.Settings, created_on: date, today: date) -> list[date]:
    """The indexation day whose notice is due: the last one if it came and went without one
    while the contract was here (the worker was down, the CPI figure came late), else the
    next one once its notice window is open."""
    last = rule.date_in(s, today.year)
    if last >= today:
        last = rule.date_in(s, today.year - 1)
    days = []
    if last > s.signed_on and last >= created_on:
        days.append(last)  # dropped by the caller when that year's row exists
    day = rule.next_date(s, today)
    if day - timedelta(days=s.notice_days) <= today:
        days.append(day)
    return days


SCAN_FIELDS = ("pk", "signed_on", "created_at", "index_date_rule", "index_day", "index_month",
               "index_notice_days")  # fmt: skip


def _candidates(today: date) -> list[tuple[int, date]]:
    """(contract id, indexation day) of the active indexed contracts whose notice is due.

    Every pass reads every indexed contract: as plain values, not models (about 140 µs a
    contract as models, bench/indexation.py), and the rows of the years that can be due in
    one query rather than an IN list of every contract."""
    out: list[tuple[int, date]] = []
    rows = Contract.objects.filter(status=ContractStatus.ACTIVE).exclude(index_method="none")
    for pk, signed_on, created_at, date_rule, day, month, notice in rows.values_list(*SCAN_FIELDS):
        try:
            s = rule.Settings(method=rule.Method.FIXED, signed_on=signed_on,
                              date_rule=rule.DateRule(date_rule), day=day, month=month,
                              notice_days=notice)  # fmt: skip
            created_on = created_at.astimezone(BUCHAREST).date()
            out.extend((pk, d) for d in _due_days(s, created_on, today))
        except (ValueError, ArithmeticError, TypeError, AssertionError):
            continue  # settings saved before a check refused them: the contract form shows why
    done = set(
        ContractIndexation.objects.filter(year__gte=today.year - 1).values_list(
            "contract_id", "year"
        )
    )
    out = [(pk, d) for pk, d in out if (pk, d.year) not in done]
    set_on = _settings_changed_on({pk for pk, d in out if d < today})
    first: dict[int, date] = {}  # one a pass per contract: the older one first
    for pk, d in out:
        if d < today and set_on.get(pk, date.min) >= d:
            continue  # indexation set after that day: not applied backwards
        first.setdefault(pk, d)
    return list(first.items())


INDEX_SETTINGS = ("index_method", "index_date_rule", "index_day", "index_month")


def _settings_changed_on(pks: set[int]) -> dict[int, date]:
    """The day each contract's indexation (method or day) was last changed, from its history."""
    changed = Q()
    for name in INDEX_SETTINGS:
        changed |= Q(changes__has_key=name)
    out: dict[int, date] = {}
    ids = sorted(pks)
    for start in range(0, len(ids), 500):
        rows = ContractChange.objects.filter(
            changed, contract_id__in=ids[start : start + 500], action="updated"
        ).values_list("contract_id", "at")
        for pk, at in rows:
            out[pk] = max(out.get(pk, date.min), at.astimezone(BUCHAREST).date())
    return out


def _notice_text(contract: Contract, row: ContractIndexation) -> tuple[str, str]:
    used = row.index_used
    if used["method"] == rule.Method.CPI:
        how = gettext("by the annual inflation rate of %(year)s published by INS (%(percent)s %%)")
        how = how % {"year": used["cpi_year"], "percent": used["percent"]}
    elif used["method"] == rule.Method.EUR:
        how = gettext("to follow the BNR EUR rate, from %(base)s to %(rate)s lei")
        how = how % {"base": used["eur_base"], "rate": used["eur_rate"]}
    else:
        how = gettext("by %(percent)s %%") % {"percent": used["percent"]}
    params = {"contract": contract.number, "company": contract.company.legal_name,
              "date": row.effective_on.strftime("%d.%m.%Y"), "how": how,
              "link": portal_url(contract.client_id)}  # fmt: skip
    subject = gettext("New prices from %(date)s for contract %(contract)s") % params
    lines = "\n".join(
        f"- {p['description']}: {p['old']} -> {p['new']} {contract.currency}" for p in row.prices
    )
    body = (
        gettext(
            "As provided by contract %(contract)s with %(company)s, its prices are indexed "
            "%(how)s from %(date)s. Unit prices without VAT, old and new:"
        )
        % params
        + f"\n{lines}\n\n"
        + gettext("You can see them in your portal:\n%(link)s\n") % params
    )
    return subject, body


def indexation_notify(
    *, contract: Contract, day: date, as_of: datetime
) -> ContractIndexation | None:
    """Step 1 for one contract: the row, the client's notice and the history line, together.

    None when nothing is to be done now: already noticed for that year, the figure not stored
    yet (retried on the next pass), or no period left to invoice after the day."""
    today = _today(as_of)
    with transaction.atomic():
        contract = (
            Contract.objects.select_for_update()
            .select_related("company", "client")
            .get(pk=contract.pk)
        )
        if contract.indexations.filter(year=day.year).exists():
            return None
        f = factor_for(contract, day=day, today=today)
        if f is None:
            log.info("indexation of contract %s for %s waits for its figure", contract.pk, day)
            return None
        effective = max(day, today + timedelta(days=contract.index_notice_days))
        k = first_period_from(contract, effective)
        if k is None:
            return None
        row = ContractIndexation(
            contract=contract, year=day.year, due_on=day, effective_on=effective,
            factor=f.value.quantize(Decimal("1e-12")), index_used=f.as_dict(),
            prices=price_rows(_lines_in_force(contract), f), noticed_at=as_of, from_index=k,
        )  # fmt: skip
        try:
            with transaction.atomic():  # a savepoint: a concurrent worker's row wins
                row.save()
        except IntegrityError:
            return None
        row.notice_message_id = _queue_notice(contract, row, as_of)
        row.save(update_fields=["notice_message_id"])
        contract.changes.create(
            actor=ACTOR, at=as_of, action="indexation_noticed",
            changes={"year": row.year, "effective_on": effective.isoformat(),
                     "index_used": row.index_used, "prices": row.prices},
        )  # fmt: skip
    return row


def _queue_notice(contract: Contract, row: ContractIndexation, as_of: datetime) -> int | None:
    to = [e for e in (contract.client.emails or []) if e]
    if not to or not NOTICE_QUEUE:
        log.info("indexation notice of contract %s: no email address, portal only", contract.pk)
        return None
    lang = CLIENT_LANGUAGE[0](contract.client) if CLIENT_LANGUAGE else "ro"
    with translation.override(lang):
        subject, body = _notice_text(contract, row)
    message = NOTICE_QUEUE[0](
        company=contract.company, to=to, subject=subject, body_text=body, as_of=as_of
    )
    return getattr(message, "pk", None)


def indexation_apply(*, row: ContractIndexation, as_of: datetime) -> bool:
    """Step 2: the new prices in force from the first period on or after the effective day."""
    with transaction.atomic():
        row = ContractIndexation.objects.select_for_update().get(pk=row.pk)
        if row.applied_at is not None:
            return False
        contract = Contract.objects.select_for_update().get(pk=row.contract_id)
        lines = _lines_in_force(contract)
        f = rule.Factor(Decimal(row.factor), rule.Method(row.index_used["method"]))
        new = rule.new_prices([_price(li) for li in lines], f)
        specs = [
            LineSpec(product=li.product, quantity=li.quantity, unit_price=n,
                     description=li.description, self_service=li.self_service,
                     min_quantity=li.min_quantity, max_quantity=li.max_quantity,
                     quantity_step=li.quantity_step)
            for li, n in zip(lines, new, strict=True)
        ]  # fmt: skip
        k = max(row.from_index or 0, contract.next_index)
        if contract.schedule().has(k) and specs:
            contract_change_lines(
                contract=contract, user=None, lines=specs, actor=ACTOR, from_index=k,
                action="indexed",
                audit_extra={"year": row.year, "index_used": row.index_used,
                             "prices": price_rows(lines, f)},
            )  # fmt: skip
        row.applied_at = as_of
        row.from_index = k
        row.save(update_fields=["applied_at", "from_index"])
    return True


SCAN_SECONDS: int = getattr(settings, "RECURENT_INDEXATION_SCAN_SECONDS", 900)
_last_scan: list[Any] = []  # [day, monotonic seconds] of this process's last complete look


def _scan_due(today: date) -> bool:
    if not _last_scan:
        return True
    day, at = _last_scan
    return bool(day != today or monotonic() - at >= SCAN_SECONDS)


def indexation_tick(*, limit: int = 100, as_of: datetime | None = None) -> int:
    """The worker task: due notices, then due price changes; returns how many were handled.

    Each contract in its own transaction: one that fails is logged and the others go on."""
    now = as_of or clock.now()
    today = _today(now)
    done = 0
    # Notices are due by the day: the worker (no as_of) looks for them once in SCAN_SECONDS,
    # not on every pass, unless the last look stopped at its limit or the day changed.
    scan = as_of is not None or _scan_due(today)
    candidates = _candidates(today) if scan else []
    for pk, day in candidates[:limit]:
        try:
            if indexation_notify(contract=Contract(pk=pk), day=day, as_of=now) is not None:
                done += 1
        except Exception:
            log.exception("indexation notice of contract %s failed", pk)
    if scan and len(candidates) <= limit:
        _last_scan[:] = [today, monotonic()]
    due = ContractIndexation.objects.filter(
        applied_at__isnull=True,
        effective_on__lte=today,
        contract__status__in=[ContractStatus.ACTIVE, ContractStatus.PAUSED],
    ).order_by("effective_on", "pk")
    for row in due[:limit]:  # a budget of its own: late notices do not hold prices back
        try:
            done += indexation_apply(row=row, as_of=now)
        except Exception:
            log.exception("indexation of contract %s failed", row.contract_id)
    return done


class _Preview(Exception):
    """Raised to roll the savepoint of ``as_if_indexed`` back."""


@contextmanager
def as_if_indexed(*, contract: Contract, as_of: datetime) -> Iterator[None]:
    """Inside: the contract's announced indexations as if already in force, written in a
    savepoint that is rolled back on the way out. The contract page's next invoices are drafted
    in it, so they show the new amounts after the day, exactly as the billing engine will
    draft them, while nothing is written before the day (a line edited in between is then
    indexed as it stands)."""
    if not contract.indexations.filter(applied_at__isnull=True).exists():
        yield
        return
    try:
        with transaction.atomic():
            for row in contract.indexations.filter(applied_at__isnull=True):
                indexation_apply(row=row, as_of=as_of)
            yield
            raise _Preview
    except _Preview:
        pass


def indexations_for_client(*, client_id: int, as_of: datetime) -> list[ContractIndexation]:
    """The price changes a client was told about and that are not a year old (the portal)."""
    since = _today(as_of) - timedelta(days=365)
    return list(
        ContractIndexation.objects.filter(contract__client_id=client_id, effective_on__gte=since)
        .select_related("contract")
        .order_by("-effective_on", "pk")
    )
