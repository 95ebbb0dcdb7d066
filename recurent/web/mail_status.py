"""What the dashboard and the invoice pages say about email: the truth, in one place.

"Every email was delivered" may only be said when nothing waits, nothing failed and the company
can send at all. Two small queries on the outbox (grouped by state) and one on the SMTP row.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce

from recurent.companies.models import Company


@dataclass(frozen=True)
class MailStatus:
    smtp_configured: bool
    waiting: int  # queued, not sent yet (all of them stay queued while SMTP is not set up)
    failed: int
    unknown: int  # the sender stopped mid-delivery: may or may not have arrived

    @property
    def all_delivered(self) -> bool:
        return self.smtp_configured and not (self.waiting or self.failed or self.unknown)

    @property
    def level(self) -> str:
        """The alert class of the banner ("" when there is nothing to say)."""
        if not self.smtp_configured and self.waiting:
            return "error"
        if self.failed or self.unknown:
            return "error"
        if not self.smtp_configured:
            return "warning"
        return ""


def mail_status(company_id: int) -> MailStatus | None:
    """None when the mail app is not installed (the pages then say nothing about email).

    Two queries: the SMTP row and the waiting/unknown counts in one, the failures the
    dashboard lists (``failed_count``: not made good by a later send) in the other.
    """
    try:
        from recurent.mail.models import OutboxMessage, OutboxState, SmtpSettings
        from recurent.mail.selectors import failed_count
    except ImportError:  # pragma: no cover - the mail app is always installed today
        return None

    def count(*states: str) -> Coalesce:
        rows = (
            OutboxMessage.objects.filter(company_id=OuterRef("pk"), state__in=states)
            .order_by()
            .values("company_id")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(rows), 0)

    row = (
        Company.objects.filter(pk=company_id)
        .annotate(
            smtp=Exists(SmtpSettings.objects.filter(company_id=OuterRef("pk"))),
            waiting=count(OutboxState.PENDING, OutboxState.SENDING),
            unknown=count(OutboxState.UNKNOWN),
        )
        .values_list("smtp", "waiting", "unknown")
        .first()
    )
    smtp, waiting, unknown = row or (False, 0, 0)
    return MailStatus(
        smtp_configured=bool(smtp),
        waiting=waiting,
        # The selector counts failed and unknown messages that no later send made good.
        failed=max(0, failed_count(company_id) - unknown),
        unknown=unknown,
    )
