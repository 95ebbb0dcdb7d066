"""The PDF of a proforma: the invoice layout titled "Factură proformă".

Drawn from an unsaved invoice (invoices.proforma builds it with the engine's prices), through
the same bridge as every invoice (``snapshot.from_invoice``) and the same template.
"""

from __future__ import annotations

import json
from typing import Any

from . import pdf
from .snapshot import from_invoice


def render(invoice: Any, lines: list[Any]) -> bytes:
    from .services import style_for

    data = pdf.payload(
        from_invoice(invoice, lines=lines, correction={}), style_for(invoice.company)
    )
    data["title"], data["title_en"] = "FACTURĂ PROFORMĂ", "PROFORMA INVOICE"
    compiler = pdf._compiler(pdf.template_path())
    with pdf._lock:  # as pdf.render: one typst world per template, renders take turns
        return compiler.compile(sys_inputs={"data": json.dumps(data, ensure_ascii=False)})  # type: ignore[no-any-return]
