"""Variable quantities (usage): record usage and readings, and what the billing engine reads.

Writes (``usage_record``, ``reading_record``, ``usage_import_csv``, ``line_usage_set``) lock
the contract row first, as the engine's claim does, and refuse a period already invoiced: a
record is either read by the block that invoices its period or written after it, never lost
between the two. The engine reads a block's pending usage in ONE query (``usage_for_block``),
expands each variable line into its priced bands (``usage_lines``, engine.usage) and marks the
records on their invoice in the issuing transaction (``usage_mark``; UsageRecord says why
exactly once).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from recurent.common.errors import details_of, engine_message, field_error
from recurent.engine import money
from recurent.engine import usage as engine

from .models import Contract, ContractLine, ContractStatus, UsageRecord, UsageSource
from .services import QUANTITY_MAX, QUANTITY_PLACES, _audit, _lock

QUANTUM = Decimal(1).scaleb(-QUANTITY_PLACES)
# A reading has 12 digits before the point (UsageRecord.reading_end).
READING_MAX = Decimal("999999999999.9999")
KEY_MAX = 100


def _number(value: Any, field: str, maximum: Decimal = QUANTITY_MAX) -> Decimal:
    try:
        q = money.to_decimal(value, field)
    except money.MoneyError:
        raise field_error(
            field, _("not a number: %(value)s"), "invalid", value=str(value)[:40]
        ) from None
    if q < 0:
        raise field_error(field, _("cannot be negative"), "negative")
    if q > maximum:
        raise field_error(field, _("too large (at most %(max)s)"), "too_large", max=str(maximum))
    if q != q.quantize(QUANTUM):
        raise field_error(field, _("at most 4 decimals"), "too_many_decimals")
    return q


def _line(contract: Contract, position: Any, index: int, meter: str) -> ContractLine:
    """The variable line at ``position`` in force in period ``index``, of the right meter."""
    lines = [li for li in contract.lines.filter(position=position) if li.applies_to(index)]
    if not lines or not lines[0].variable:
        raise field_error(
            "line", _("line %(line)s is not a variable line of period %(period)s"),
            "not_variable", line=position, period=index,
        )  # fmt: skip
    if lines[0].meter != meter:
        msg = (
            _("line %(line)s is read from a meter: give a reading")
            if meter == "sum"
            else _("line %(line)s sums usage: give a quantity, not a reading")
        )
        raise field_error("line", msg, "wrong_meter", line=position)
    return lines[0]


def _open(contract: Contract, period_index: int | None) -> tuple[Contract, int]:
    """The contract locked, and the period usage goes to (the next one not invoiced)."""
    contract = _lock(contract)
    if contract.status in {ContractStatus.CANCELLED, ContractStatus.ENDED}:
        raise field_error(
            "contract", _("the contract is %(status)s: it has no next invoice"), "closed",
            status=contract.get_status_display(),
        )  # fmt: skip
    index = contract.next_index if period_index is None else period_index
    if index < contract.next_index:
        raise field_error(
            "period_index", _("period %(period)s is already invoiced"), "invoiced", period=index
        )
    if contract.final_index is not None and index >= contract.final_index:
        raise field_error(
            "period_index", _("the contract has no period %(period)s"), "no_period", period=index
        )
    return contract, index


def _replayed(contract: Contract, key: str, values: dict[str, Any]) -> UsageRecord | None:
    """The record an earlier call with the same key wrote (None: a new key)."""
    if not key:
        return None
    if len(key) > KEY_MAX:
        raise field_error("key", _("at most 100 characters"), "max_length")
    old = UsageRecord.objects.filter(contract=contract, key=key).first()
    if old is None:
        return None
    if any(getattr(old, f) != v for f, v in values.items()):
        raise field_error("key", _("this key was already used for other values"), "key_reused")
    return old


def _save(
    contract: Contract, user: User | None, as_of: datetime, source: str, **values: Any
) -> UsageRecord:
    rec = UsageRecord.objects.create(
        contract=contract, recorded_at=as_of, source=source,
        created_by=user if user is not None and user.is_authenticated else None, **values,
    )  # fmt: skip
    # updated_at moves: the contract page shows it; a usage hold is retried by every run anyway.
    contract.save(update_fields=["updated_at"])
    _audit(contract, None if user is None else user, "usage_recorded", {
        "id": rec.pk, "line": rec.line_position, "period": rec.period_index,
        "quantity": str(rec.quantity), "source": source,
    })  # fmt: skip
    return rec


@transaction.atomic
def usage_record(
    *,
    contract: Contract,
    line_position: int,
    quantity: Any,
    as_of: datetime,
    user: User | None,
    period_index: int | None = None,
    key: str = "",
    source: str = UsageSource.WEB,
) -> UsageRecord:
    """Add usage to a variable line summing usage, for a period not yet invoiced (default:
    the next one). The same ``key`` again returns the first record instead of adding twice."""
    q = _number(quantity, "quantity")
    contract, index = _open(contract, period_index)
    values = {"line_position": line_position, "period_index": index, "quantity": q}
    old = _replayed(contract, key, values)
    if old is not None:
        return old
    _line(contract, line_position, index, "sum")
    return _save(contract, user, as_of, source, key=key, **values)


@transaction.atomic
def reading_record(
    *,
    contract: Contract,
    line_position: int,
    reading: Any,
    as_of: datetime,
    user: User | None,
    previous: Any = None,
    period_index: int | None = None,
    key: str = "",
    source: str = UsageSource.WEB,
) -> UsageRecord:
    """A meter's new reading for a period; the quantity is its difference from the previous
    reading (given, or the meter's last recorded one)."""
    end = _number(reading, "reading", READING_MAX)
    contract, index = _open(contract, period_index)
    if previous is None or previous == "":
        start = (
            UsageRecord.objects.filter(
                contract=contract, line_position=line_position, period_index__lt=index,
                reading_end__isnull=False,
            ).order_by("-period_index").values_list("reading_end", flat=True).first()
        )  # fmt: skip
        if start is None:
            raise field_error(
                "previous", _("the meter's first reading needs the previous reading too"),
                "required",
            )  # fmt: skip
    else:
        start = _number(previous, "previous", READING_MAX)
    try:
        q = engine.reading_quantity(previous=start, current=end)
    except engine.UsageError as e:
        raise ValidationError({e.field: engine_message(e)}) from None
    values = {"line_position": line_position, "period_index": index, "quantity": q,
              "reading_start": start, "reading_end": end}  # fmt: skip
    old = _replayed(contract, key, values)
    if old is not None:
        return old
    _line(contract, line_position, index, "reading")
    if UsageRecord.objects.filter(
        contract=contract, line_position=line_position, period_index=index,
        reading_end__isnull=False,
    ).exists():  # fmt: skip
        raise field_error(
            "reading", _("period %(period)s of line %(line)s already has a reading"),
            "duplicate", period=index, line=line_position,
        )  # fmt: skip
    return _save(contract, user, as_of, source, key=key, **values)


@transaction.atomic
def usage_remove(*, record: UsageRecord, user: User | None) -> None:
    """Withdraw usage not yet invoiced (a wrong reading is removed, then recorded again);
    usage on an invoice stays: correct that invoice by a storno."""
    contract = _lock(record.contract)
    deleted, _n = UsageRecord.objects.filter(pk=record.pk, invoice__isnull=True).delete()
    if not deleted:
        raise field_error("usage", _("this usage is already on an invoice"), "invoiced")
    contract.save(update_fields=["updated_at"])
    _audit(contract, user, "usage_removed", {
        "id": record.pk, "line": record.line_position, "period": record.period_index,
        "quantity": str(record.quantity),
    })  # fmt: skip


@transaction.atomic
def line_usage_values(
    *, variable: bool, meter: str, tiers: Any, minimum_charge: Any, default_quantity: Any
) -> dict[str, Any]:
    """A variable line's settings checked, as ContractLine's columns (the contract's usage page,
    the API and the import file all go through here). Errors name the field."""
    if meter not in {"sum", "reading"}:
        raise field_error("meter", _("choose a sum of usage or meter readings"), "invalid")
    if not isinstance(tiers, list | tuple):
        raise field_error("tiers", _("a list of tiers"), "invalid")
    try:
        parsed = engine.parse_tiers(list(tiers))
    except engine.UsageError as e:
        raise ValidationError({e.field: engine_message(e)}) from None
    minimum = None if minimum_charge in (None, "") else _number(minimum_charge, "minimum_charge")
    if minimum is not None and minimum != minimum.quantize(money.CENT):
        raise field_error("minimum_charge", _("at most 2 decimals"), "too_many_decimals")
    default = (
        None if default_quantity in (None, "") else _number(default_quantity, "default_quantity")
    )
    return {"variable": bool(variable), "meter": meter, "tiers": engine.tiers_json(parsed),
            "minimum_charge": minimum, "default_quantity": default}  # fmt: skip


def line_usage_set(
    *,
    contract: Contract,
    line_position: int,
    user: User | None,
    variable: bool = True,
    meter: str = "sum",
    tiers: Sequence[dict[str, Any]] = (),
    minimum_charge: Any = None,
    default_quantity: Any = None,
) -> int:
    """Make the contract's line at ``line_position`` (every version of it not yet ended)
    variable or fixed again. Returns how many line rows changed."""
    values = line_usage_values(
        variable=variable, meter=meter, tiers=tiers, minimum_charge=minimum_charge,
        default_quantity=default_quantity,
    )  # fmt: skip
    parsed = engine.parse_tiers(values["tiers"])
    minimum, default = values["minimum_charge"], values["default_quantity"]
    contract = _lock(contract)
    # The versions ending at the next period too: a later line change copies from them.
    lines = contract.lines.filter(position=line_position).exclude(
        until_index__lt=contract.next_index
    )
    n = lines.update(
        variable=variable, meter=meter, tiers=engine.tiers_json(parsed),
        minimum_charge=minimum, default_quantity=default,
    )  # fmt: skip
    if not n:
        raise field_error(
            "line", _("the contract has no line %(line)s"), "missing", line=line_position
        )
    contract.save(update_fields=["updated_at"])
    _audit(contract, user, "line_usage_set", {
        "line": line_position, "variable": variable, "meter": meter,
        "tiers": engine.tiers_json(parsed), "minimum_charge": None if minimum is None else str(minimum),
        "default_quantity": None if default is None else str(default),
    })  # fmt: skip
    return n


def usage_settings_carry(company_id: int, event_type: str, payload: dict[str, Any]) -> None:
    """A domain-event listener (recurent/wiring.py): a line change or an indexation writes new
    line rows from period ``from_period`` (contracts.services.contract_change_lines); each new
    line of the same position and product as a variable line it replaces keeps its usage
    settings, so that a price or quantity change does not turn metering off. Runs in the
    change's transaction."""
    changes = payload.get("changes")
    k = changes.get("from_period") if isinstance(changes, dict) else None
    if not isinstance(k, int) or not isinstance(payload.get("id"), int):
        return
    lines = ContractLine.objects.filter(contract_id=payload["id"])
    for li in lines.filter(until_index=k, variable=True):
        lines.filter(from_index=k, position=li.position, product_id=li.product_id).update(
            variable=True, meter=li.meter, tiers=li.tiers, minimum_charge=li.minimum_charge,
            default_quantity=li.default_quantity,
        )  # fmt: skip


@transaction.atomic
def contract_missing_usage_set(*, contract: Contract, user: User | None, value: str) -> Contract:
    """What a period without readings does: ``wait`` (set aside up to the company's cut-off)
    or ``default`` (the default quantity at once)."""
    if value not in {"wait", "default"}:
        raise field_error("missing_usage", _("choose to wait or to use the default quantity"),
                          "invalid")  # fmt: skip
    contract = _lock(contract)
    if contract.missing_usage != value:
        _audit(contract, user, "updated", {"missing_usage": [contract.missing_usage, value]})
        contract.missing_usage = value
        contract.save(update_fields=["missing_usage", "updated_at"])
    return contract


# --- what the billing engine reads -------------------------------------------------------


def usage_for_block(block: dict[int, Any], ids: Any) -> None:
    """Each claimed contract's pending usage, in ONE query for the whole block:
    ``d.usage[(line_position, period_index)] = [(record id, quantity), ...]``."""
    pending = UsageRecord.objects.filter(contract_id__in=ids, invoice__isnull=True)
    for cid, pk, pos, idx, q in pending.order_by("pk").values_list(
        "contract_id", "pk", "line_position", "period_index", "quantity"
    ):
        block[cid].usage.setdefault((pos, idx), []).append((pk, q))


def usage_lines(
    d: Any,
    index: int,
    issue_date: date,
    *,
    products: dict[int, Any],
    period_issue_date: date,
    cutoff_days: int,
) -> tuple[tuple[tuple[Any, ...], ...], list[int]]:
    """The lines of ``d``'s period ``index`` as the engine prices them, variable lines expanded
    into their bands: ``((product_id, description, quantity, unit_price), ...)`` and the contract
    line position of each (for discounts). Raises engine.usage.UsageMissing when the contract
    waits for readings; UsageError on a tier setting the core refuses."""
    out: list[tuple[Any, ...]] = []
    positions: list[int] = []
    cutoff = period_issue_date + timedelta(days=cutoff_days)
    # li: _LINE_COLS[1:] of invoices.services (product, description, quantity, price, from,
    # until, position, then variable, tiers, minimum_charge, default_quantity).
    for li in d.lines:
        if not (li[4] <= index and (li[5] is None or index < li[5])):
            continue
        positions.append(li[6])
        if not li[7]:
            out.append(li[:4])
            continue
        product_id, description, _q, price = li[:4]
        recs = d.usage.get((li[6], index))
        qty = engine.period_quantity(
            recorded=None if recs is None else sum((q for _pk, q in recs), Decimal(0)),
            wait=d.missing_usage == "wait", default=li[10], issue_date=issue_date,
            cutoff=cutoff, field=f"lines[{li[6]}]",
        )  # fmt: skip
        tiers = engine.parse_tiers(li[8])
        p = products[product_id]
        name = description or p.name
        price = p.unit_price if price is None else price
        positions.pop()
        for b in engine.bands(quantity=qty, unit_price=price, tiers=tiers, minimum=li[9]):
            if b.tier == 0:
                label = f"{name[:80]} ({gettext('minimum charge')})"
            elif tiers:
                label = f"{name[:80]} ({_band_label(tiers, b.tier)})"
            else:
                label = description
            out.append((product_id, label, b.quantity, b.unit_price))
            positions.append(li[6])
    return tuple(out), positions


def _band_label(tiers: Sequence[engine.Tier], n: int) -> str:
    low = tiers[n - 2].up_to if n > 1 else Decimal(0)
    high = tiers[n - 1].up_to if n < len(tiers) else None
    low_s = format(low.normalize(), "f") if low is not None else "0"
    if high is None:
        return f"> {low_s}"
    return f"{low_s}-{format(high.normalize(), 'f')}"


def usage_mark(ready: list[Any], invoices: list[Any]) -> None:
    """Point the usage each invoice priced at it, in the issuing transaction, in one statement
    per block; a record already on an invoice rolls the whole block back (UsageRecord says why)."""
    pairs: list[tuple[int, int]] = []  # (invoice id, record id)
    for (c, _p, _d), inv in zip(ready, invoices, strict=True):
        if not c.usage:
            continue
        idx = inv.period_index
        for li in c.lines:
            if li[7] and li[4] <= idx and (li[5] is None or idx < li[5]):
                pairs.extend((inv.pk, pk) for pk, _q in c.usage.get((li[6], idx), ()))
    if not pairs:
        return
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":  # one array per column, as invoices.services does
            cur.execute(
                "UPDATE contracts_usagerecord AS u SET invoice_id = v.inv FROM "
                "unnest(%s::bigint[], %s::bigint[]) AS v(inv, id) "
                "WHERE u.id = v.id AND u.invoice_id IS NULL",
                [[p[0] for p in pairs], [p[1] for p in pairs]],
            )
            n = cur.rowcount
        else:  # SQLite sums executemany's row counts
            cur.executemany(
                "UPDATE contracts_usagerecord SET invoice_id = %s WHERE id = %s "
                "AND invoice_id IS NULL",
                pairs,
            )
            n = cur.rowcount
    if n != len(pairs):
        raise RuntimeError(f"usage changed while being invoiced ({n} of {len(pairs)} marked)")


def period_usage(d: Any, index: int) -> list[tuple[int, Decimal]]:
    """[(line position, quantity)] recorded and pending for period ``index`` of a block's
    contract (the schedule preview and the contract page show it beside the amount)."""
    return sorted(
        (pos, sum((q for _pk, q in recs), Decimal(0)))
        for (pos, idx), recs in d.usage.items()
        if idx == index
    )


def usage_pending(*, contract: Contract) -> list[UsageRecord]:
    """The usage recorded and not yet invoiced, by period and line (contract page, schedule)."""
    return list(UsageRecord.objects.filter(contract=contract, invoice__isnull=True))


def pending_by_period(*, contract: Contract) -> dict[int, dict[int, Decimal]]:
    """{period index: {line position: quantity}} of the usage not yet invoiced."""
    out: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for r in usage_pending(contract=contract):
        line = out[r.period_index]
        line[r.line_position] = line.get(r.line_position, Decimal(0)) + r.quantity
    return dict(out)


# --- CSV import ----------------------------------------------------------------------------

CSV_COLUMNS = ("contract", "line", "period", "quantity", "reading", "previous", "key")


@transaction.atomic
def usage_import_csv(
    *, company_id: int, text: str, as_of: datetime, user: User | None
) -> list[UsageRecord]:
    """Usage and readings from a CSV file (header: contract, line, quantity or reading, and
    optionally period, previous, key), all or nothing: any refused row rolls every row back,
    and every error is reported with its row and column (``row 3: quantity: ...``)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ("contract", "line") if c not in header]
    if missing or not ({"quantity", "reading"} & set(header)):
        raise field_error(
            "file", _("the header needs the columns contract, line and quantity or reading"),
            "header",
        )  # fmt: skip
    errors: list[ValidationError] = []
    done: list[UsageRecord] = []
    contracts = {
        c.number: c for c in Contract.objects.filter(company_id=company_id)
    }  # one query; a file names a few hundred contracts
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        c = contracts.get(row.get("contract", ""))
        if c is None:
            errors.append(_row_error(n, "contract", _("no contract numbered %(value)s"),
                                     "not_found", value=row.get("contract", "")[:50]))  # fmt: skip
            continue
        try:
            with transaction.atomic():
                done.append(_import_row(c, row, as_of, user))
        except ValidationError as e:
            for field, code, message in details_of(e):
                errors.append(_row_error(n, field, message, code))
    if errors:
        transaction.set_rollback(True)
        raise ValidationError({"file": errors})
    return done


def _row_error(n: int, field: str, message: Any, code: str, **params: Any) -> ValidationError:
    text = message % params if params else message
    return ValidationError(
        _("row %(row)s: %(field)s: %(reason)s"), code=code,
        params={"row": n, "field": field, "reason": text},
    )  # fmt: skip


def _import_row(c: Contract, row: dict[str, str], as_of: datetime, user: User | None) -> Any:
    line = row.get("line", "")
    if not line.isdigit():
        raise field_error("line", _("a line number (1, 2, ...)"), "invalid")
    period = row.get("period", "")
    if period and not period.isdigit():
        raise field_error("period", _("a period number (0, 1, ...)"), "invalid")
    common: dict[str, Any] = {"contract": c, "line_position": int(line), "as_of": as_of, "user": user,
              "period_index": int(period) if period else None, "key": row.get("key", ""),
              "source": UsageSource.CSV}  # fmt: skip
    if row.get("reading"):
        return reading_record(
            reading=row["reading"], previous=row.get("previous") or None, **common
        )
    return usage_record(quantity=row.get("quantity", ""), **common)
