"""The company's proration policy (contracts.proration; docs/proration.md).

Read by any token of the company; changed by an administrator's, as on the settings page.
The lines themselves change through POST /contracts/{id}/lines, which applies the policy.
"""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema

from recurent.companies.models import Company, Role
from recurent.companies.services import company_update

from ..auth import caller_of, require_role
from ..schemas import In

router = Router(tags=["company"])

Policy = Literal["next_period", "immediately"]


class ProrationOut(Schema):
    proration_policy: Policy = Field(
        description="next_period: a change of lines takes effect from the next period not "
        "invoiced; immediately: from its day, with a prorated charge or credit per changed line "
        "on the next invoice"
    )


class ProrationIn(In):
    proration_policy: Policy


@router.get("/company/proration", response=ProrationOut, summary="The proration policy")
def get_proration(request: HttpRequest) -> dict:
    return {"proration_policy": caller_of(request).company.proration_policy}


@router.put("/company/proration", response=ProrationOut, summary="Set the proration policy")
def set_proration(request: HttpRequest, body: ProrationIn) -> dict:
    caller = require_role(request, Role.ADMIN)
    company = company_update(
        company=Company.objects.get(pk=caller.company_id), proration_policy=body.proration_policy
    )
    return {"proration_policy": company.proration_policy}
