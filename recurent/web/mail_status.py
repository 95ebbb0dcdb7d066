"""What the dashboard and the invoice pages say about email: the truth, in one place.

"Every email was delivered" may only be said when nothing waits, nothing failed and the company
can send at all. Two small queries on the outbox (grouped by state) and one on the SMTP row.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count


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
    """None when the mail app is not installed (the pages then say nothing about email)."""
    try:
        from recurent.mail.models import OutboxMessage, OutboxState, SmtpSettings
        from recurent.mail.selectors import failed_count
    except ImportError:  # pragma: no cover - the mail app is always installed today
        return None
    by_state = dict(
        OutboxMessage.objects.filter(
            company_id=company_id,
            state__in=[OutboxState.PENDING, OutboxState.SENDING, OutboxState.UNKNOWN],
        )
        .order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
    )
    unknown = by_state.get(OutboxState.UNKNOWN, 0)
    return MailStatus(
        smtp_configured=SmtpSettings.objects.filter(company_id=company_id).exists(),
        waiting=by_state.get(OutboxState.PENDING, 0) + by_state.get(OutboxState.SENDING, 0),
        # The selector counts failed and unknown messages that no later send made good.
        failed=max(0, failed_count(company_id) - unknown),
        unknown=unknown,
    )
