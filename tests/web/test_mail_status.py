"""Email status (issue 16, item 2): the dashboard and the invoice pages tell the truth: SMTP not
set up, messages waiting, failed or unknown; "every email was delivered" only when it is so."""

import html

from django.urls import reverse

from recurent.invoices.services import issue_due
from recurent.mail.models import OutboxMessage, OutboxState
from recurent.mail.services import smtp_settings_save
from tests import factories as f
from tests.factories import local

DELIVERED = "toate emailurile au fost livrate"


def _page(client, name, *args) -> str:
    r = client.get(reverse(name, args=args))
    assert r.status_code == 200
    return html.unescape(r.content.decode())


def _emailing(world, n=2):
    for _ in range(n):
        f.contract(world.company, issuer=world.user, first=local(2026, 1, 31), auto_email=True)
    issue_due(as_of=local(2026, 1, 31, 10, 0))
    assert OutboxMessage.objects.filter(state=OutboxState.PENDING).count() == n


def test_without_smtp_the_dashboard_and_invoice_pages_say_clients_receive_nothing(
    admin_client, world
):
    _emailing(world)
    invoice = world.company.invoices.first()
    for page in (
        _page(admin_client, "web:dashboard"),
        _page(admin_client, "web:invoices"),
        _page(admin_client, "web:invoice", invoice.pk),
    ):
        assert 'id="mail-status"' in page
        assert "Emailul nu este configurat: clienții nu primesc nimic." in page
        assert "2 emailuri așteaptă să fie trimise." in page
        assert DELIVERED not in page


def test_failed_and_waiting_messages_are_counted_once_smtp_is_set_up(admin_client, world):
    _emailing(world, 3)
    smtp_settings_save(company=world.company, host="127.0.0.1", from_email="facturi@demo.ro")
    first = OutboxMessage.objects.order_by("pk").first()
    OutboxMessage.objects.filter(pk=first.pk).update(state=OutboxState.FAILED)
    page = _page(admin_client, "web:dashboard")
    assert "1 email a eșuat." in page and "2 emailuri așteaptă să fie trimise." in page
    assert DELIVERED not in page


def test_every_email_delivered_is_said_only_when_true(admin_client, world):
    smtp_settings_save(company=world.company, host="127.0.0.1", from_email="facturi@demo.ro")
    page = _page(admin_client, "web:dashboard")
    assert 'id="mail-status"' not in page and DELIVERED in page


def test_other_pages_do_not_carry_the_banner(admin_client, world):
    _emailing(world, 1)
    assert 'id="mail-status"' not in _page(admin_client, "web:clients")
