"""One invoice per client (issue 18): a client's contracts due in the same block, one invoice.

A client with ``one_invoice_per_client`` gets one invoice for all its contracts that fall due
in the same run with the same series, invoice currency, price currency and issue date; each
contract is a line group: its lines, each carrying the contract and the period it bills
(``InvoiceLine.contract/period_start/period_end``, printed in the line's description).

How it fits the engine (``services.issue_batch``), without changing anything for other clients:
- ``siblings``: once a block is claimed, the other due contracts of its grouping clients are
  claimed into the same block (locked the same way), so a client's contracts are not split
  between blocks by the block size;
- ``groups_split``: the drafted contracts of a grouping client that share the key above are
  taken out of the ordinary path (a lone one stays on it: exactly today's invoice);
- ``groups_add``: one invoice row per group, numbered under the same series lock, its totals
  computed from all its lines at once (VAT per (category, rate), rounded once, as always);
- ``periods_write``: the lines of the grouped invoices, and one ``InvoicePeriod`` row per
  (invoice, contract period) for every invoice of the block: the unique constraint
  ``invoice_period_once`` on it is what makes "exactly once per (contract, period)" hold.

The grouped invoice's own contract and period columns name its first contract (the lowest id:
its mail settings and email template apply) and the span of the periods it covers.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _

from recurent.common import bulk
from recurent.common.errors import field_error
from recurent.companies.models import InvoiceSeries
from recurent.engine.vat import LineInput, compute_totals

from .models import Invoice, InvoiceKind, InvoiceLine, InvoiceOrigin, InvoicePeriod
from .numbering import vat_breakdown

# At most this many other contracts of the block's grouping clients join a block (a client
# with more due contracts than this gets one invoice per block of them).
SIBLINGS_MAX = 1000

PERIOD_COLUMNS = ("invoice_id", "contract_id", "period_index", "period_start", "period_end",
                  "sequence")  # fmt: skip
GROUP_LINE_COLUMNS = ("contract_id", "period_start", "period_end")


def siblings(
    block: list[Any], *, as_of: datetime, company_id: int | None, exclude: set[int]
) -> list[Any]:
    """The other due contracts of the block's grouping clients, claimed as ``_claim`` does."""
    clients = {d.client_id for d in block if d.one_invoice}
    if not clients:
        return []
    from .services import _due_rows, due_contracts

    taken = exclude | {d.pk for d in block}
    qs = (
        due_contracts(as_of, company_id=company_id, exclude=taken)
        .filter(client_id__in=clients)
        .order_by("next_issue_at")
    )
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return _due_rows(qs, SIBLINGS_MAX)


def _key(item: tuple[Any, Any, Any]) -> tuple[Any, ...] | None:
    c, _period, priced = item
    if not c.one_invoice:
        return None
    d = priced.draft
    return (c.client_id, c.series_id, d.currency, d.price_currency, d.issue_date)


def groups_split(ready: list[Any]) -> tuple[list[Any], list[list[Any]]]:
    """(contracts invoiced alone, in block order; groups of two or more, each by contract id)."""
    if not any(c.one_invoice for c, _, _ in ready):
        return ready, []
    by_key: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for item in ready:
        k = _key(item)
        if k is not None:
            by_key[k].append(item)
    single = [item for item in ready if (k := _key(item)) is None or len(by_key[k]) == 1]
    groups = [sorted(g, key=lambda item: item[0].pk) for g in by_key.values() if len(g) > 1]
    return single, groups


def line_label(number: str, start: date, end: date) -> str:
    """What a grouped line says of its line group (the invoice is in Romanian, as pdf.py)."""
    return f"Contract {number}, perioada {start:%d.%m.%Y} - {end:%d.%m.%Y}"


def _contract_numbers(members: Sequence[Any]) -> str:
    numbers = ", ".join(c.number for c, _, _ in members)
    return numbers if len(numbers) <= 50 else f"{members[0][0].number} (+{len(members) - 1})"[:50]


class _Group:
    """One grouped invoice in the making: its lines (driver rows) and totals."""

    def __init__(self, members: list[Any]) -> None:
        self.members = members
        inputs: list[LineInput] = []
        at = connection.ops.adapt_datefield_value
        self.lines: list[tuple[Any, ...]] = []
        for c, period, priced in members:
            label = line_label(c.number, period.start, period.end)
            extra = (c.pk, at(period.start), at(period.end))
            # The engine's own line rows (adapted for the driver), renumbered and labelled.
            for li, row in zip(priced.draft.lines, priced.line_rows, strict=True):
                off = sum((a.amount for a in li.allowances), Decimal(0))
                inputs.append(LineInput(li.quantity, li.unit_price, li.vat_category,
                                        li.vat_rate, off))  # fmt: skip
                own = li.description if li.description.strip() != li.name.strip() else ""
                desc = f"{label} · {own}" if own else label
                self.lines.append((len(self.lines) + 1, *row[1:3], desc, *row[4:], *extra))
        first = members[0][2].draft
        # Totals from every line at once: VAT per (category, rate) rounded once on the invoice,
        # not per contract. Line nets do not change (each line is priced on its own).
        self.totals = compute_totals(inputs, first.fx_rate if first.currency != "RON" else None)


def groups_add(
    groups: list[list[Any]],
    rows: Any,
    *,
    lock: Any,
    shared: Any,
    stamps: dict[str, Any],
    prepared: dict[str, Any],
) -> list[_Group]:
    """One invoice row per group in ``rows`` (numbered now, under the series lock); its lines
    are written by ``periods_write`` once the invoice ids are known."""
    out = []
    for members in groups:
        g = _Group(members)
        lead, lead_period, lead_priced = members[0]
        draft = lead_priced.draft
        s, year, number, full_number = lock.take(lead.series_id)
        seller, seller_db, _ = shared.seller(lead.company_id)
        company = shared.companies[lead.company_id]
        t = g.totals
        rows.add(
            {
                "company_id": lead.company_id, "series_id": s.pk, "year": year,
                "number": number, "full_number": full_number,
                "kind": InvoiceKind.INVOICE, "origin": InvoiceOrigin.SCHEDULE,
                "contract_id": lead.pk, "client_id": lead.client_id,
                "period_index": lead_period.index,
                "period_start": min(p.start for _, p, _ in members),
                "period_end": max(p.end for _, p, _ in members),
                "issue_date": draft.issue_date,
                "due_date": min(pr.draft.due_date for _, _, pr in members),
                "issuer_id": lead.issuer_id, "issuer_name": shared.issuer_names[lead.issuer_id],
                "currency": draft.currency, "price_currency": draft.price_currency,
                "fx_rate": draft.fx_rate, "fx_date": draft.fx_date, "net_total": t.net,
                "vat_total": t.vat, "gross_total": t.gross, "vat_total_ron": t.vat_ron,
                "vat_breakdown": vat_breakdown(t), "seller": seller, "buyer": lead.buyer,
                "buyer_name": lead.buyer["name"], "contract_number": _contract_numbers(members),
                "contract_date": lead.signed_on,
                "vat_on_collection": company.vat_on_collection and company.vat_payer,
                **stamps,
            },
            {"seller": seller_db, **prepared},
            [],
        )  # fmt: skip
        out.append(g)
    return out


def periods_write(
    single: list[Any], groups: list[_Group], invoices: list[Invoice]
) -> tuple[list[Any], list[Invoice]]:
    """The grouped invoices' lines and every invoice's period rows (the exactly-once rule).

    Returns the block's (contract, period, draft) items each with the invoice it went on, for
    the hooks that mark what a contract's period consumed (one-off charges, usage): a grouped
    invoice is given to each of its contracts as a copy carrying that contract's period."""
    at = connection.ops.adapt_datefield_value
    rows = [(inv.pk, c.pk, p.index, at(p.start), at(p.end), 1)
            for (c, p, _), inv in zip(single, invoices, strict=False)]  # fmt: skip
    if not groups:
        bulk.insert_rows(InvoicePeriod, PERIOD_COLUMNS, rows)
        return single, invoices
    from .services import LINE_COLUMNS

    items, per_item = list(single), list(invoices[: len(single)])
    lines: list[tuple[Any, ...]] = []
    for g, inv in zip(groups, invoices[len(single) :], strict=True):
        lines.extend((inv.pk, None, *li) for li in g.lines)
        for seq, (c, p, priced) in enumerate(g.members, start=1):
            rows.append((inv.pk, c.pk, p.index, at(p.start), at(p.end), seq))
            mine = copy.copy(inv)
            mine.period_index = p.index
            items.append((c, p, priced))
            per_item.append(mine)
    bulk.insert_rows(InvoicePeriod, PERIOD_COLUMNS, rows)
    bulk.insert_rows(
        InvoiceLine,
        ["invoice_id", "credited_line_id", *LINE_COLUMNS, *GROUP_LINE_COLUMNS],
        lines,
    )
    return items, per_item


def line_groups(invoice: Invoice) -> dict[int, list[InvoiceLine]]:
    """A grouped invoice's lines by contract id, in line order ({} for any other invoice)."""
    out: dict[int, list[InvoiceLine]] = defaultdict(list)
    for li in invoice.lines.filter(contract__isnull=False).order_by("position"):
        assert li.contract_id is not None
        out[li.contract_id].append(li)
    return dict(out)


def invoice_storno_group(
    *,
    invoice: Invoice,
    contract_id: int,
    as_of: datetime,
    user: Any,
    series: InvoiceSeries | None = None,
) -> Invoice:
    """Storno of one line group of a grouped invoice: every line of that contract still not
    credited, by ``storno.invoice_storno`` (same numbering, limits and hooks). Returns the
    credit note; the invoice is cancelled once every group is credited."""
    from .storno import credited_quantities, invoice_storno

    with transaction.atomic():
        group = line_groups(invoice).get(contract_id)
        if not group:
            raise field_error(
                "contract", _("contract %(contract)s has no line group on %(number)s"),
                "not_in_invoice", contract=contract_id, number=invoice.full_number,
            )  # fmt: skip
        done = credited_quantities(invoice)
        wanted = [(li, li.quantity - done.get(li.pk, Decimal(0))) for li in group]
        wanted = [(li, q) for li, q in wanted if q > 0]
        if not wanted:
            raise field_error(
                "contract", _("the line group of contract %(contract)s is already credited"),
                "group_credited", contract=contract_id,
            )  # fmt: skip
        return invoice_storno(invoice=invoice, lines=wanted, as_of=as_of, user=user, series=series)


def invoice_period_of(*, invoice: Invoice) -> list[InvoicePeriod]:
    """The contract periods ``invoice`` covers (one for a contract invoice, one per line group
    for a grouped one, none for a manual invoice or a credit note)."""
    return list(InvoicePeriod.objects.filter(invoice=invoice).order_by("sequence"))


def contracts_on(*, invoice_ids: list[int]) -> dict[int, list[str]]:
    """{invoice id: its contracts' numbers in line-group order} for the grouped invoices among
    ``invoice_ids`` (one query; lists such as the client portal's show them)."""
    out: dict[int, list[str]] = defaultdict(list)
    qs = InvoicePeriod.objects.filter(invoice_id__in=invoice_ids).order_by("invoice_id", "sequence")
    for iid, number in qs.values_list("invoice_id", "contract__number"):
        out[iid].append(number)
    return {iid: numbers for iid, numbers in out.items() if len(numbers) > 1}
