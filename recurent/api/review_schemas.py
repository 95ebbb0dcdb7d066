"""The review-before-numbering option of a contract in the API (invoices/review.py, docs/review.md),
mixed into ContractIn, ContractPatch and ContractOut (schemas.py is at its size limit)."""

from __future__ import annotations

from ninja import Field, Schema


class ReviewOptionIn(Schema):
    review_before_issue: bool = Field(
        False, description="each period waits as a draft until approved (GET /review/drafts)"
    )


class ReviewOptionPatch(Schema):
    review_before_issue: bool | None = None


class ReviewOptionOut(Schema):
    review_before_issue: bool
