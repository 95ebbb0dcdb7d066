"""The accountant's files: accounting exports (Saga, WinMENTOR, journal) and the month-close ZIP.

Both need the accountant role; a viewer's token is refused (403). An export is a POST because
it records which invoices it handed over (so ``only_new`` takes the rest); the month-close
package records nothing and is a GET.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from recurent.accounting.closing import month_close_package
from recurent.accounting.services import ExportFile, accounting_export
from recurent.common import clock

from ..auth import require_role

router = Router(tags=["accounting"])

_FILE = {
    200: {
        "description": "the file (a ZIP for saga, winmentor and the month-close package)",
        "content": {
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


class AccountingExportIn(Schema):
    format: Literal["saga", "winmentor", "csv", "xlsx"]
    date_from: date
    date_to: date
    only_new: bool = False


def _file(f: ExportFile) -> HttpResponse:
    response = HttpResponse(f.content, content_type=f.content_type)
    response["Content-Disposition"] = f'attachment; filename="{f.filename}"'
    response["X-Invoice-Count"] = str(f.invoice_count)
    return response


@router.post(
    "/accounting/exports",
    summary="Export invoices and payments for an accounting program",
    openapi_extra={"responses": _FILE},
)
def export_accounting(request: HttpRequest, body: AccountingExportIn) -> HttpResponse:
    caller = require_role(request, "accountant")
    return _file(
        accounting_export(
            company=caller.company,
            fmt=body.format,
            date_from=body.date_from,
            date_to=body.date_to,
            only_new=body.only_new,
            user=caller.user,
            as_of=clock.now(),
        )  # fmt: skip
    )


@router.get(
    "/accounting/month-close/{month}",
    summary="The month-close package (ZIP) of a month, YYYY-MM",
    openapi_extra={"responses": _FILE},
)
def month_close(request: HttpRequest, month: str) -> HttpResponse:
    caller = require_role(request, "accountant")
    return _file(
        month_close_package(
            company=caller.company, month=month, as_of=clock.now(), user=caller.user
        )
    )
