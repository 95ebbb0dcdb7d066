"""Deadline watch: email the company about invoices ANAF has not accepted N days after issue.

Each invoice is mentioned once (``deadline_notified_at``); one email per company per pass.
The email goes first and the mark after it: a crash in between repeats a warning rather
than losing one.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from recurent.companies.models import Company

from .models import EfacturaState, EState, SpvConnection
from .selectors import invoices_not_accepted


def _recipient(company: Company) -> str:
    conn = SpvConnection.objects.filter(company=company).first()
    return (conn.notify_email if conn else "") or company.email


def deadline_tick(*, limit: int = 200, as_of: datetime | None = None) -> int:
    from recurent.common import clock
    from recurent.mail.services import notice_queue

    as_of = as_of or clock.now()
    sent = 0
    companies = Company.objects.filter(
        Q(spv_connection__isnull=False) | Q(invoices__efactura__isnull=False)
    ).distinct()
    for company in companies.order_by("pk"):
        if sent >= limit:
            break
        late = [
            inv
            for inv in invoices_not_accepted(company_id=company.pk, as_of=as_of)[: limit - sent]
            if not (getattr(inv, "efactura", None) and inv.efactura.deadline_notified_at)
        ]
        to = _recipient(company)
        if not late or not to:
            continue
        lines = [
            f"- {inv.full_number} from {inv.issue_date:%d.%m.%Y}, {inv.buyer_name}: "
            + (inv.efactura.get_state_display() if getattr(inv, "efactura", None) else "not sent")
            for inv in late
        ]
        # Through the company's outbox, not a direct SMTP call from the worker: with no SMTP
        # server answering, the sender retries with backoff and the dashboard says the email
        # waits (issue 16) instead of the worker printing a traceback every minute.
        notice_queue(
            company=company,
            to=[to],
            subject=f"e-Factura: {len(late)} invoice(s) not accepted by ANAF yet",
            body_text=(
                f"{company.legal_name}: these invoices have not been accepted by ANAF's SPV yet.\n"
                "The legal deadline is 5 calendar days from issue.\n\n" + "\n".join(lines) + "\n"
            ),
            as_of=as_of,
        )
        for inv in late:
            st, _ = EfacturaState.objects.get_or_create(
                invoice=inv, defaults={"company_id": company.pk, "state": EState.NOT_SENT}
            )
            EfacturaState.objects.filter(pk=st.pk).update(deadline_notified_at=as_of)
        sent += len(late)
    return sent
