"""A contract's late-payment interest and missing-readings choice in the API (issue 19; docs/
interest.md, docs/usage.md), mixed into ContractIn, ContractPatch and ContractOut (schemas.py is
at its size limit). The values are checked by the contract's own rules (contracts.services)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

InterestRule = Literal["", "none", "legal", "legal_professional", "legal_consumer", "contractual"]
MissingUsage = Literal["wait", "default"]
DailyPercent = Field(
    None, gt=0, max_digits=7, decimal_places=4,
    description="with interest_rule 'contractual': the penalty in % a day",
)  # fmt: skip


class ContractOptionsIn(Schema):
    interest_rule: InterestRule = Field(
        "", description="late-payment interest: '' follows the company's settings"
    )
    interest_daily_percent: Decimal | None = DailyPercent
    missing_usage: MissingUsage = Field(
        "wait", description="a variable line without usage: wait for readings or the default"
    )


class ContractOptionsPatch(Schema):
    interest_rule: InterestRule | None = None
    interest_daily_percent: Decimal | None = DailyPercent
    missing_usage: MissingUsage | None = None


class ContractOptionsOut(Schema):
    interest_rule: str
    interest_daily_percent: Decimal | None
    missing_usage: str
