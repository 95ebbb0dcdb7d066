"""The company's late-payment interest settings (payments.interest; docs/interest.md).

Read by any token of the company; changed by an administrator's, as on the settings page,
through the same service (interest_settings_update checks the rule and the rate together).
A contract may override the rule: ``interest_rule`` on POST/PATCH /contracts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema

from recurent.companies.models import Company, Role
from recurent.payments.interest import interest_settings_update

from ..auth import caller_of, require_role
from ..schemas import In

router = Router(tags=["company"])

Rule = Literal["legal", "legal_professional", "legal_consumer", "contractual"]


class InterestSettingsOut(Schema):
    interest_enabled: bool = Field(description="late-payment interest invoices are issued")
    interest_rule: str
    interest_daily_percent: Decimal | None = Field(description="with 'contractual': % a day")
    interest_min_amount: Decimal = Field(description="smaller interest is not invoiced")


class InterestSettingsIn(In):
    interest_enabled: bool
    interest_rule: Rule
    interest_daily_percent: Decimal | None = Field(None, max_digits=7, decimal_places=4)
    interest_min_amount: Decimal = Field(Decimal("0"), max_digits=14, decimal_places=2)


def _out(company: Company) -> dict[str, Any]:
    return {f: getattr(company, f) for f in InterestSettingsOut.model_fields}


@router.get(
    "/company/interest", response=InterestSettingsOut, summary="Late-payment interest settings"
)
def get_interest(request: HttpRequest) -> dict[str, Any]:
    return _out(caller_of(request).company)


@router.put("/company/interest", response=InterestSettingsOut, summary="Set late-payment interest")
def set_interest(request: HttpRequest, body: InterestSettingsIn) -> dict[str, Any]:
    caller = require_role(request, Role.ADMIN)
    company = interest_settings_update(
        company=Company.objects.get(pk=caller.company_id), enabled=body.interest_enabled,
        rule=body.interest_rule, daily_percent=body.interest_daily_percent,
        min_amount=body.interest_min_amount,
    )  # fmt: skip
    return _out(company)
