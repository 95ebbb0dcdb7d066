"""Prepare a file database for the kill test: migrate, one company sending to PORT, N
invoices issued through the real engine with their queued messages.

python -m tests.mail.kill_prep PORT N   (DATABASE_URL and DJANGO_SETTINGS_MODULE set)
"""

import sys

import django

django.setup()

from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0)

from recurent.invoices import services as invoices  # noqa: E402
from recurent.mail.services import outbox_after_issue, smtp_settings_save  # noqa: E402
from tests import factories as f  # noqa: E402
from tests.mail.helpers import ISSUE_AT  # noqa: E402

port, n = int(sys.argv[1]), int(sys.argv[2])
invoices.AFTER_ISSUE[:] = [outbox_after_issue]
c, s, u = f.setup_company()
smtp_settings_save(
    company=c, host="127.0.0.1", port=port, security="none", from_email="facturi@demo.ro"
)
for _ in range(n):
    f.contract(c, issuer=u, first=ISSUE_AT, auto_email=True)
invoices.issue_due(as_of=ISSUE_AT)
