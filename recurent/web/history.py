"""A contract's audit trail in words (the rows are written by contracts.services.contract_audit)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from recurent.contracts.models import Contract, ContractChange, ContractStatus
from recurent.engine.cycles import BUCHAREST

ACTIONS = {
    "created": gettext_lazy("created"),
    "activated": gettext_lazy("activated"),
    "paused": gettext_lazy("paused"),
    "resumed": gettext_lazy("resumed"),
    "cancelled": gettext_lazy("cancelled"),
    "cancel_at_period_end": gettext_lazy("set to end with the current period"),
    "unused_days_credited": gettext_lazy("unused days credited"),
    "hold_released": gettext_lazy("released for the next billing run"),
    "updated": gettext_lazy("changed"),
    "lines_changed": gettext_lazy("products changed"),
    "discount_added": gettext_lazy("discount added"),
    "discount_removed": gettext_lazy("discount removed"),
    "trial_noticed": gettext_lazy("client told the trial ends"),
    "indexation_noticed": gettext_lazy("yearly indexation announced to the client"),
    "indexed": gettext_lazy("prices indexed"),
}
ACTORS = {
    "portal": gettext_lazy("the client, from the portal"),
    "indexation": gettext_lazy("yearly indexation"),
}


def _indexation(c: dict[str, Any]) -> list[str]:
    """The figure used and each line's old and new unit price (contracts.indexation)."""
    used = c.get("index_used") or {}
    if used.get("method") == "cpi":
        how = _("inflation %(year)s (INS): %(percent)s %%") % {
            "year": used.get("cpi_year"), "percent": used.get("percent")}  # fmt: skip
    elif used.get("method") == "eur":
        how = _("EUR at BNR: %(base)s → %(rate)s") % {
            "base": used.get("eur_base"), "rate": used.get("eur_rate")}  # fmt: skip
    else:
        how = f"{used.get('percent')} %"
    if c.get("effective_on"):
        how += " · " + _("from %(date)s") % {"date": _value("", c["effective_on"])}
    return [how] + [f"{p['description']}: {p['old']} → {p['new']}" for p in c.get("prices", [])]


def _value(field: str, v: Any) -> str:
    if v is None or v == "":
        return "—"
    if isinstance(v, bool):
        return _("yes") if v else _("no")
    if field == "status" and v in ContractStatus.values:
        return str(ContractStatus(v).label)
    if isinstance(v, str) and len(v) >= 10 and v[4] == "-" and v[7] == "-":
        try:
            if len(v) == 10:
                return date_format(date.fromisoformat(v), "SHORT_DATE_FORMAT")
            at = datetime.fromisoformat(v)
            return date_format(
                at.astimezone(BUCHAREST) if at.tzinfo else at, "SHORT_DATETIME_FORMAT"
            )
        except ValueError:
            pass
    return str(v)


def _label(field: str) -> str:
    name = field.removesuffix("_id")
    try:
        return str(getattr(Contract._meta.get_field(name), "verbose_name", name))
    except Exception:  # noqa: BLE001 - a key that is not a field
        return name.replace("_", " ")


def change_text(change: ContractChange) -> dict[str, Any]:
    """{"action": words, "who": the actor in words or None, "details": [words]}."""
    c = change.changes or {}
    details: list[str] = []
    if change.action == "updated":
        for field, pair in c.items():
            old, new = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
            details.append(f"{_label(field)}: {_value(field, old)} → {_value(field, new)}")
    elif change.action == "created" and "status" in c:
        details.append(f"{_label('status')}: {_value('status', c['status'])}")
    elif change.action == "activated" and c.get("next_issue_at"):
        details.append(_("next invoice: %(at)s") % {"at": _value("", c["next_issue_at"])})
    elif change.action == "cancel_at_period_end" and c.get("final_period") is not None:
        details.append(_("last invoiced period: %(n)s") % {"n": int(c["final_period"]) + 1})
    elif change.action == "resumed" and c.get("skipped_periods"):
        a, b = c["skipped_periods"]
        if b > a:
            details.append(_("periods not invoiced while paused: %(n)s") % {"n": b - a})
    elif change.action == "lines_changed":
        after = ", ".join(f"{code} × {qty}" for code, qty in c.get("after", []))
        details.append(
            _("from period %(n)s: %(lines)s")
            % {"n": int(c.get("from_period", 0)) + 1, "lines": after}
        )
    elif change.action in {"discount_added", "discount_removed"}:
        unit = " %" if c.get("kind") == "percent" else ""
        details.append(f"{c.get('reason', '')}: −{c.get('value', '')}{unit}")
    elif change.action in {"indexation_noticed", "indexed"}:
        details.extend(_indexation(c))
    elif change.action == "trial_noticed" and c.get("ends_on"):
        details.append(f"{c.get('reason', '')}: {_value('', c['ends_on'])}")
    elif change.action == "unused_days_credited":
        details.append(
            _("credit note %(number)s: %(amount)s")
            % {"number": c.get("credit_note", ""), "amount": c.get("amount", "")}
        )
    elif change.action == "hold_released" and c.get("reason"):
        details.append(str(c["reason"]))
    return {
        "action": ACTIONS.get(change.action, change.action),
        "who": (change.user.get_full_name() or change.user.username)
        if change.user
        else ACTORS.get(change.actor, change.actor) or "—",
        "details": details,
    }
