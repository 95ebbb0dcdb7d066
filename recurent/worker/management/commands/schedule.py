"""recurent schedule: the next issue instants and the periods they cover."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from recurent.common import clock
from recurent.common.cli_args import parse_wall
from recurent.contracts.charges import charges_pending
from recurent.contracts.indexation import as_if_indexed
from recurent.contracts.models import Contract
from recurent.engine.cycles import BUCHAREST, Cycle, Schedule, ScheduleError, localize
from recurent.invoices.services import contract_upcoming


class Command(BaseCommand):
    help = (
        "Show the next N issue instants of a saved contract (id or number) or of one being drafted "
        "(--first LOCAL-DATETIME --cycle ...). Times without an offset are Bucharest wall time."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("contract", nargs="?", help="contract id or number")
        parser.add_argument(
            "--first", help="first invoice, local date-time (e.g. 2026-01-31T09:00)"
        )
        parser.add_argument(
            "--cycle", choices=["weekly", "monthly", "quarterly", "half-yearly", "yearly", "days"]
        )
        parser.add_argument("--every-days", type=int)
        parser.add_argument("--end", help="contract end, local date-time")
        parser.add_argument("--in-arrears", action="store_true")
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        if o["count"] < 1:
            raise CommandError("--count: must be 1 or more")
        start = 0
        amounts: dict[int, dict] = {}  # period index -> the drafted invoice (saved contracts)
        pending: list = []  # one-off and prorated charges: all on the next invoice
        if o["contract"]:
            if o["first"] or o["cycle"]:
                raise CommandError("give either a saved contract or --first/--cycle, not both")
            ref = o["contract"]
            qs = Contract.objects.filter(number=ref)
            if ref.isdigit():
                qs = Contract.objects.filter(pk=int(ref)) | qs
            found = list(qs[:2])
            if not found:
                raise CommandError(f"contract: {ref!r} not found")
            if len(found) > 1:
                raise CommandError(
                    f"contract: {ref!r} is ambiguous (several companies); use the id"
                )
            sched = found[0].schedule()
            start = found[0].next_index
            # Priced by the engine's own drafting (lines in force, pending charges, VAT by date),
            # with an announced yearly indexation from its day (as on the contract page).
            with as_if_indexed(contract=found[0], as_of=clock.now()):
                upcoming = contract_upcoming(contract=found[0], as_of=clock.now(), count=o["count"])
            amounts = {u["index"]: u for u in upcoming}
            pending = charges_pending(contract=found[0])
        else:
            if not o["first"] or not o["cycle"]:
                raise CommandError("--first and --cycle are required without a saved contract")
            try:
                end = localize(parse_wall(o["end"], "--end"), BUCHAREST) if o["end"] else None
                sched = Schedule(
                    first_wall=parse_wall(o["first"], "--first"),
                    cycle=Cycle.parse(o["cycle"], o["every_days"]),
                    end=end,
                    in_arrears=o["in_arrears"],
                )
            except ScheduleError as e:
                raise CommandError(f"--{e.field.replace('_', '-')}: {e.message}") from None
        periods = []
        for p in sched.periods(start):
            periods.append(p)
            if len(periods) >= o["count"]:
                break
        if o["json"]:
            out = [
                {k: v for k, v in p.as_json().items() if k != "index"}
                | _amount_json(amounts.get(p.index))
                | ({"charges": [_charge_json(ch) for ch in pending]} if i == 0 and pending else {})
                for i, p in enumerate(periods)
            ]
            self.stdout.write(json.dumps(out, indent=2))
            return
        now = clock.now()
        for p in periods:
            local = p.issue_at.astimezone(BUCHAREST)
            mark = " (past)" if p.issue_at <= now else ""
            self.stdout.write(
                f"{local:%Y-%m-%d %H:%M %Z}  covers {p.start.isoformat()} .. {p.end.isoformat()}"
                f"{_amount_text(amounts.get(p.index))}{mark}"
            )
            if p is periods[0]:
                for ch in pending:
                    sign = "-" if ch.kind == "credit" else "+"
                    self.stdout.write(f"    {sign} {ch.quantity.normalize():f} x {ch.unit_price} "
                                      f"{found[0].currency}  {ch.description}")  # fmt: skip
        if not periods:
            self.stdout.write("no more invoices: the schedule is over")


def _amount_json(u: dict | None) -> dict:
    if u is None:
        return {}
    # Usage recorded for the period and not yet invoiced (contracts.usage).
    usage = {"usage": [{"line": pos, "quantity": str(q)} for pos, q in u.get("usage", ())]}
    if "problem" in u:
        return {"problem": u["problem"], **usage}
    return usage | {"currency": u["currency"], "net": str(u["net"]), "vat": str(u["vat"]),
            "total": str(u["total"]), "estimated": u["estimated"],
            "discount": str(u["discount"]), "trial": u["trial"]}  # fmt: skip


def _charge_json(ch) -> dict:  # type: ignore[no-untyped-def]
    return {"kind": ch.kind, "description": ch.description, "quantity": str(ch.quantity),
            "unit_price": str(ch.unit_price)}  # fmt: skip


def _amount_text(u: dict | None) -> str:
    if u is None:
        return ""
    used = "".join(f", usage line {pos}: {q}" for pos, q in u.get("usage", ()))
    if "problem" in u:
        return f"  (cannot be priced: {u['problem']}){used}"
    est = " estimated at the latest BNR rate" if u["estimated"] else ""
    # Discounts and trials (contracts.discounts): the net is already after them.
    off = f", discount {u['discount']}" if u["discount"] else ""
    off += ", trial" if u["trial"] else ""
    return f"  total {u['total']} {u['currency']} (net {u['net']}{off}, VAT {u['vat']}){est}{used}"
