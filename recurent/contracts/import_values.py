"""The values of an import file (docs/import-format.md) as the services take them: each parser
raises a ValidationError on the record's path (``contracts[3].signed_on``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from recurent.common.errors import engine_message, field_error
from recurent.engine import money
from recurent.engine.cycles import BUCHAREST


def int_of(value: Any, where: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise field_error(where, gettext_lazy("a whole number"), "whole_number")
    try:
        n = int(value)
    except ValueError:
        raise field_error(
            where,
            gettext_lazy("%(value)s is not a whole number"),
            "not_whole_number",
            value=repr(str(value)[:30]),
        ) from None
    if not 0 <= n <= 10**9:
        raise field_error(where, gettext_lazy("between 0 and 1000000000"), "out_of_range")
    return n


def unknown(where: str, data: dict, allowed: set[str]) -> list[tuple[str, str]]:
    return [(f"{where}.{k}", "unknown field") for k in data if k not in allowed]


def instant_of(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise field_error(
            where,
            gettext_lazy("an ISO 8601 date-time, e.g. 2026-01-31T09:00 (Bucharest time)"),
            "not_a_datetime",
        )
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise field_error(
            where,
            gettext_lazy("%(value)s is not an ISO 8601 date-time"),
            "not_a_datetime",
            value=repr(value),
        ) from None
    return dt.replace(tzinfo=BUCHAREST, fold=0) if dt.tzinfo is None else dt


def date_of(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise field_error(
            where,
            gettext_lazy("%(value)s is not a date (YYYY-MM-DD)"),
            "not_a_date",
            value=repr(value),
        ) from None


def decimal_of(value: Any, where: str) -> Decimal:
    try:
        return money.to_decimal(value, where)
    except money.MoneyError as e:
        raise ValidationError({where: engine_message(e)}) from None


def tax_key(value: str) -> str:
    return (value or "").strip().upper().replace(" ", "").removeprefix("RO")
