"""The yearly indexation settings of a contract in the API (docs/indexation.md), mixed into
ContractIn, ContractPatch and ContractOut (schemas.py is near its size limit)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import BeforeValidator

IndexMethod = Literal["none", "fixed", "cpi", "eur"]
IndexDateRule = Literal["anniversary", "fixed"]


def _no_float(v: Any) -> Any:
    if isinstance(v, bool | float):
        raise ValueError('give the percentage as a string ("5.00") or an integer, not a float')
    return v


Percent = Annotated[Decimal, BeforeValidator(_no_float), Field(max_digits=6, decimal_places=2)]
METHOD = (
    "yearly indexation: none; fixed (index_percent a year); cpi (INS's annual inflation rate "
    "of the year before); eur (a RON price re-pegged to EUR at the BNR rate)"
)


class IndexationIn(Schema):
    index_method: IndexMethod = Field("none", description=METHOD)
    index_percent: Percent | None = Field(None, description="for index_method fixed")
    index_date_rule: IndexDateRule = Field(
        "anniversary", description="the anniversary of signed_on, or index_day / index_month"
    )
    index_day: int | None = Field(None, ge=1, le=31)
    index_month: int | None = Field(None, ge=1, le=12)
    index_notice_days: int = Field(30, ge=0, le=365, description="the client's notice, in days")


class IndexationPatch(Schema):
    index_method: IndexMethod | None = Field(None, description=METHOD)
    index_percent: Percent | None = None
    index_date_rule: IndexDateRule | None = None
    index_day: int | None = Field(None, ge=1, le=31)
    index_month: int | None = Field(None, ge=1, le=12)
    index_notice_days: int | None = Field(None, ge=0, le=365)


class IndexationOut(Schema):
    index_method: str
    index_percent: Decimal | None
    index_date_rule: str
    index_day: int | None
    index_month: int | None
    index_notice_days: int
