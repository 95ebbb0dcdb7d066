"""Proration of a change of lines in the middle of a period (the company's policy).

Called by ``services.contract_change_lines`` inside its transaction, with the contract row
locked and before the lines are replaced. Under ``Company.proration_policy == "immediately"``
it adds, for each line whose amount changes, one ContractCharge (a charge or a credit) priced
by engine.proration. Those rows ride on the contract's next invoice exactly once, like any
one-off charge (ContractCharge says why), so nothing here touches the billing engine; the
preview (contract page, ``recurent schedule``) shows them because it drafts as the engine does.

What is not prorated, and why (docs/proration.md):
- a change planned for a later period (``from_index``: a yearly indexation) starts with it;
- a contract that is not active (a draft has invoiced nothing; a cancelled one has no next
  invoice);
- a period with a discount or a trial: a prorated credit at list price could give back more
  than the discounted invoice took;
- variable (usage) lines: their amount comes from the readings, not from a price per period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from recurent.common import clock
from recurent.engine import money, proration
from recurent.engine.cycles import BUCHAREST, Period, Schedule

from .models import ChargeKind, Contract, ContractCharge, ContractLine, ContractStatus

if TYPE_CHECKING:
    from .services import LineSpec

# How many periods one change may reach back (a worker days behind, an invoice issued early):
# beyond it the contract's data is wrong in a way a person should look at, not a proration.
MAX_PERIODS = 24


def _amounts(items: Iterable[tuple[Any, Any, Any]]) -> dict[str, Decimal]:
    """Each product's amount for a whole period (quantity x price, unrounded), by product id.
    The values were checked by contract_change_lines; a form may still give them as text."""
    out: dict[str, Decimal] = {}
    for product, quantity, price in items:
        key = str(product.pk)
        unit = money.to_decimal(product.unit_price if price is None else price, "unit_price")
        out[key] = out.get(key, Decimal(0)) + money.to_decimal(quantity, "quantity") * unit
    return out


def period_of_day(schedule: Schedule, day: date, near: int | None = None) -> Period | None:
    """The period whose service days include ``day`` (Bucharest), searched around index
    ``near`` (default: the period after noon of that day); None outside the schedule."""
    if near is None:
        near = schedule.index_after(_noon(day))
    for i in range(max(0, near - 2), near + 3):
        p = schedule.period(i)
        if p.start <= day <= p.end:
            return p if schedule.has(i) else None
    return None


def _discounted(contract: Contract, period: Period) -> bool:
    from .discounts import discounts_of, engine_discount

    return any(
        engine_discount(
            (d.kind, d.value, d.reason, d.line_position, d.from_index, d.periods, d.until, d.trial)
        ).applies(period.index, period.start)
        for d in discounts_of(contract=contract)
    )


def _adjustments(
    contract: Contract, old: dict[str, Decimal], new: dict[str, Decimal], day: date
) -> tuple[list[tuple[Period, proration.Adjustment]], list[int]]:
    """Every period the change reaches: the one with ``day`` and, when the invoices are ahead of
    it or behind it, those in between. Returns the adjustments and the periods skipped."""
    schedule, k = contract.schedule(), contract.next_index
    here = period_of_day(schedule, day)
    if here is None:
        return [], []
    out: list[tuple[Period, proration.Adjustment]] = []
    skipped: list[int] = []
    span = range(here.index, k) if here.index < k else range(k, here.index + 1)
    for i in list(span)[-MAX_PERIODS:]:
        p = schedule.period(i)
        if _discounted(contract, p):
            skipped.append(i)
            continue
        kw: dict[str, Any] = {"period_first": p.start, "period_last": p.end}
        if i < k:  # invoiced with the old lines: the new ones from the change (or all its days)
            adj = proration.change_adjustments(
                old=old, new=new, change_day=max(day, p.start), billed=True, **kw
            )
        elif i == here.index:  # to be invoiced with the new lines: the old ones before the day
            adj = proration.change_adjustments(old=old, new=new, change_day=day, billed=False, **kw)
        else:  # due but not invoiced, all before the change: the old lines for all its days
            adj = proration.change_adjustments(
                old=new, new=old, change_day=p.start, billed=True, **kw
            )
        out.extend((p, a) for a in adj)
    return out, skipped


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=BUCHAREST)


def _day(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def _description(name: str, a: proration.Adjustment, quantities: tuple[str, str]) -> str:
    # Printed on the invoice (e-Factura item name, at most 100): in the invoices' language.
    with translation.override(settings.LANGUAGE_CODE):
        tail = gettext("%(old)s → %(new)s, %(first)s-%(last)s (%(days)s/%(whole)s days)") % {
            "old": quantities[0], "new": quantities[1], "first": _day(a.first),
            "last": _day(a.last), "days": a.days, "whole": a.period_days,
        }  # fmt: skip
    return f"{name[: max(10, 98 - len(tail))]}: {tail}"[:100]


def _quantity(value: Decimal | None) -> str:
    return "0" if value is None else format(Decimal(value).normalize(), "f")


def prorate_change(
    *, contract: Contract, lines: Sequence[LineSpec], as_of: datetime | None, scheduled: int | None
) -> dict[str, Any]:
    """The prorated charges and credits of replacing the lines in force by ``lines`` on the day
    of ``as_of`` (None: now), added for the next invoice; returns what the audit records (the
    change's audit row says who made it, so the rows themselves have no ``created_by``)."""
    if scheduled is not None or contract.status != ContractStatus.ACTIVE:
        return {}
    if contract.company.proration_policy != proration.Policy.IMMEDIATELY:
        return {}
    day = (as_of or clock.now()).astimezone(BUCHAREST).date()
    in_force = [
        li
        for li in ContractLine.objects.filter(contract=contract).select_related("product")
        if li.applies_to(contract.next_index) and not getattr(li, "variable", False)
    ]
    wanted = [s for s in lines if not getattr(s, "variable", False)]
    old = _amounts((li.product, li.quantity, li.unit_price) for li in in_force)
    new = _amounts((s.product, s.quantity, s.unit_price) for s in wanted)
    adjustments, skipped = _adjustments(contract, old, new, day)
    products = {str(li.product.pk): li.product for li in in_force}
    products.update((str(s.product.pk), s.product) for s in wanted)
    qty: dict[str, list[Decimal | None]] = {key: [None, None] for key in products}
    for li in in_force:
        qty[str(li.product.pk)][0] = (qty[str(li.product.pk)][0] or 0) + li.quantity
    for s in wanted:
        q = money.to_decimal(s.quantity, "quantity")
        qty[str(s.product.pk)][1] = (qty[str(s.product.pk)][1] or 0) + q
    made = []
    for _p, a in adjustments:
        product = products[a.key]
        before, after = qty[a.key]
        made.append(
            ContractCharge.objects.create(
                contract=contract,
                kind=ChargeKind.CHARGE if a.amount > 0 else ChargeKind.CREDIT,
                description=_description(product.name, a, (_quantity(before), _quantity(after))),
                quantity=Decimal(1),
                unit_code="C62",
                unit_price=abs(a.amount),
                vat_category=product.vat_category,
                vat_rate=product.vat_rate,
                created_at=as_of or clock.now(),
            )
        )
    return {
        "prorated": {
            "day": day.isoformat(),
            "charges": [
                {"id": ch.pk, "kind": ch.kind, "amount": str(ch.unit_price), "period": p.index}
                for ch, (p, _a) in zip(made, adjustments, strict=True)
            ],
            **({"skipped_discounted_periods": skipped} if skipped else {}),
        }
    }
