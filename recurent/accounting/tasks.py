"""Worker task: tell the accountant, on the company's day, that last month's package is ready.

The package itself can weigh tens of megabytes (every PDF of the month), more than mail servers
take, so the message carries the link to download it (behind the accountant's login), not the
ZIP. Each month is announced once: the mark is written in the notice's transaction, so a crash
either sends it with the mark or neither.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from recurent.common import clock

from .models import AccountingSettings


def base_url() -> str:
    return (
        getattr(settings, "RECURENT_BASE_URL", "")
        or getattr(settings, "RECURENT_PUBLIC_URL", "")
        or "http://127.0.0.1:8000"
    ).rstrip("/")


def month_close_notify(*, limit: int = 50, as_of: datetime | None = None) -> int:
    from recurent.mail.services import notice_queue

    now = as_of or clock.now()
    today = timezone.localtime(now).date()
    previous = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    due = (
        AccountingSettings.objects.filter(package_day__gt=0, package_day__lte=today.day)
        .exclude(accountant_email="")
        .exclude(package_sent_for=previous)
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for pk in list(due):
        with transaction.atomic():
            s = AccountingSettings.objects.select_for_update().select_related("company").get(pk=pk)
            if s.package_sent_for == previous:
                continue  # another worker announced it meanwhile
            link = f"{base_url()}{reverse('web:accounting-month-close')}?month={previous}"
            name = s.company.legal_name
            notice_queue(
                company=s.company,
                to=[s.accountant_email],
                subject=f"{name}: pachetul de închidere pentru {previous}",
                body_text=(
                    f"Bună ziua,\n\nPachetul de închidere a lunii {previous} pentru {name} este "
                    f"gata: facturile (PDF, XML, răspunsurile ANAF), fișierele pentru Saga și "
                    f"WinMENTOR, încasările și sumarul lunii.\n\nÎl descărcați de aici (după "
                    f"autentificare): {link}\n\nRecurent"
                ),
                as_of=now,
            )
            s.package_sent_for = previous
            s.save(update_fields=["package_sent_for", "updated_at"])
            sent += 1
    return sent
