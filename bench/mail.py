"""Messages per second through the real sender, over one reused SMTP connection.

    .venv/bin/python bench/mail.py [N]          (default 1000)

A fresh SQLite file database (migrated), N invoices issued by the engine, a 50 KB PDF and
a 3 KB XML stored for each, and an aiosmtpd Sink server in a separate process on
127.0.0.1. Measures ``send_pending`` end to end (claim commit, template, MIME, SMTP,
result commit) and, separately, the SMTP transactions alone with prebuilt messages.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
tmp = Path(tempfile.mkdtemp(prefix="bench-mail-"))
os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.mail.settings_subprocess"

import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402


def main() -> None:
    call_command("migrate", verbosity=0)
    from smtp_sink import smtp_sink

    from recurent.invoices import services as invoices
    from recurent.invoices.models import Invoice
    from recurent.mail import sender
    from recurent.mail.models import OutboxMessage, SmtpSettings
    from recurent.mail.services import outbox_after_issue, smtp_settings_save
    from tests import factories as f
    from tests.mail.helpers import AFTER, ISSUE_AT, add_documents

    with smtp_sink() as port:
        invoices.AFTER_ISSUE[:] = [outbox_after_issue]
        c, s, u = f.setup_company()
        smtp_settings_save(
            company=c, host="127.0.0.1", port=port, security="none", from_email="facturi@demo.ro"
        )
        t0 = time.perf_counter()
        for _ in range(N):
            f.contract(c, issuer=u, first=ISSUE_AT, auto_email=True)
        invoices.issue_due(as_of=ISSUE_AT, batch_size=500)
        print(f"setup: {N} contracts and invoices in {time.perf_counter() - t0:.1f}s")
        pdf = os.urandom(50 * 1024)
        for inv in Invoice.objects.all():
            add_documents(inv, pdf=pdf, xml=b"<Invoice>" + b"x" * 3000 + b"</Invoice>")
        assert OutboxMessage.objects.count() == N

        connects = []
        real_connect = sender.connect
        sender.connect = lambda cfg: connects.append(1) or real_connect(cfg)  # type: ignore[assignment]
        profile = os.environ.get("BENCH_PROFILE")  # a path: cProfile of the timed call
        if profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        t0 = time.perf_counter()
        sent = sender.send_pending(limit=N, as_of=AFTER)
        dt = time.perf_counter() - t0
        if profile:
            prof.disable()
            prof.dump_stats(profile)
        assert sent == N and OutboxMessage.objects.filter(state="sent").count() == N
        size = len(
            sender._prepare(OutboxMessage.objects.first(), SmtpSettings.objects.get(), AFTER).data
        )  # type: ignore[union-attr]
        print(
            f"send_pending end to end: {N} messages of {size / 1024:.0f} KB in {dt:.2f}s "
            f"= {N / dt:.0f} messages/s over {len(connects)} connection(s)"
        )

        # SMTP alone: the same bytes, prebuilt, over one connection.
        cfg = SmtpSettings.objects.get()
        msgs = list(
            OutboxMessage.objects.select_related(
                "company", "invoice", "invoice__client", "invoice__contract", "invoice__series"
            )[:N]
        )
        OutboxMessage.objects.update(state="pending", message_id="")
        t0 = time.perf_counter()
        prepared = [sender._prepare(m, cfg, AFTER) for m in msgs]
        build = time.perf_counter() - t0
        conn = sender.connect(cfg)
        t0 = time.perf_counter()
        for p in prepared:
            sender.transact(conn, p)  # type: ignore[arg-type]
        smtp = time.perf_counter() - t0
        conn.quit()
        print(
            f"building messages (template + MIME + attachments query): {build / N * 1000:.2f} ms each"
        )
        print(f"SMTP only: {N / smtp:.0f} messages/s ({smtp / N * 1000:.2f} ms each)")


if __name__ == "__main__":
    main()
