"""Payment reminders (once per invoice and rule, never for settled invoices), resending by
hand, and what the invoice page and dashboard read."""

import sys
import types
from datetime import timedelta

import pytest
from django.core.management import call_command

from recurent.invoices.models import Invoice
from recurent.mail.models import OutboxMessage, OutboxState
from recurent.mail.selectors import delivery_state, failed_count, is_outstanding
from recurent.mail.sender import send_pending
from recurent.mail.services import outbox_resend, reminder_rule_create, reminders_queue
from tests.factories import local
from tests.mail.helpers import AFTER, issue

# Invoices issued 2026-01-31 with a 15-day term are due 2026-02-15.


def _first_sent(world):
    issue(world)
    send_pending(limit=10, as_of=AFTER)
    return Invoice.objects.get()


def test_reminders_go_on_their_days_once_each(mail_world):
    inv = _first_sent(mail_world)
    for offset in (-3, 0, 7):
        reminder_rule_create(company=mail_world.company, offset_days=offset)
    assert reminders_queue(limit=100, as_of=local(2026, 2, 11)) == 0  # 4 days before
    assert reminders_queue(limit=100, as_of=local(2026, 2, 12)) == 1  # 3 days before
    assert reminders_queue(limit=100, as_of=local(2026, 2, 12, 18)) == 0  # once
    send_pending(limit=10, as_of=local(2026, 2, 12, 18))
    msg = mail_world.smtp.received[-1].message
    assert msg["Subject"] == "Reamintire: factura REC-000001 are scadența 15.02.2026"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert reminders_queue(limit=100, as_of=local(2026, 2, 15)) == 1  # on the day
    assert reminders_queue(limit=100, as_of=local(2026, 2, 22)) == 1  # 7 days after
    send_pending(limit=10, as_of=local(2026, 2, 22, 10))
    body = mail_world.smtp.received[-1].message.get_body(("plain",)).get_content()
    assert "neachitată de 7 zile" in body
    offsets = sorted(
        m.reminder_rule.offset_days for m in OutboxMessage.objects.filter(kind="reminder")
    )
    assert offsets == [-3, 0, 7]
    assert reminders_queue(limit=100, as_of=local(2026, 2, 23)) == 0
    assert [i.kind for i in delivery_state(inv.pk).messages].count("reminder") == 3


def test_a_missed_reminder_day_is_caught_up_only_briefly(mail_world):
    _first_sent(mail_world)
    reminder_rule_create(company=mail_world.company, offset_days=0)
    assert reminders_queue(limit=100, as_of=local(2026, 2, 25)) == 0  # 10 days late: too late
    reminder_rule_create(company=mail_world.company, offset_days=7)
    assert reminders_queue(limit=100, as_of=local(2026, 2, 24)) == 1  # 2 days late: still sent


def test_no_reminder_for_a_cancelled_invoice_even_when_already_queued(mail_world):
    inv = _first_sent(mail_world)
    reminder_rule_create(company=mail_world.company, offset_days=0)
    reminders_queue(limit=100, as_of=local(2026, 2, 15))
    Invoice.objects.filter(pk=inv.pk).update(status="cancelled")
    n = len(mail_world.smtp.received)
    send_pending(limit=10, as_of=local(2026, 2, 15, 10))
    assert len(mail_world.smtp.received) == n
    m = OutboxMessage.objects.get(kind="reminder")
    assert m.state == OutboxState.CANCELLED and "paid or cancelled" in m.last_response
    reminder_rule_create(company=mail_world.company, offset_days=3)
    assert reminders_queue(limit=100, as_of=local(2026, 2, 18)) == 0


def test_the_payments_app_decides_what_is_outstanding_when_it_exists(mail_world, monkeypatch):
    inv = _first_sent(mail_world)
    paid = {inv.pk}
    fake = types.ModuleType("recurent.payments.selectors")
    fake.outstanding = lambda invoice: 0 if invoice.pk in paid else invoice.gross_total
    monkeypatch.setitem(sys.modules, "recurent.payments.selectors", fake)
    assert is_outstanding(inv) is False
    reminder_rule_create(company=mail_world.company, offset_days=0)
    assert reminders_queue(limit=100, as_of=local(2026, 2, 15)) == 0
    paid.clear()
    assert is_outstanding(inv) is True
    assert reminders_queue(limit=100, as_of=local(2026, 2, 15)) == 1


def test_no_reminders_for_contracts_that_do_not_email(mail_world):
    issue(mail_world, auto_email=False)
    reminder_rule_create(company=mail_world.company, offset_days=0)
    assert reminders_queue(limit=100, as_of=local(2026, 2, 15)) == 0


def test_resend_sends_a_new_message_and_clears_the_failure_from_the_dashboard(mail_world):
    issue(mail_world)
    mail_world.smtp.handler.data_replies.append("550 5.7.1 rejected")
    send_pending(limit=10, as_of=AFTER)
    inv = Invoice.objects.get()
    state = delivery_state(inv.pk)
    assert state.state == "failed" and state.needs_attention and "550" in state.last_response
    assert failed_count(mail_world.company.pk) == 1
    m = outbox_resend(invoice=inv, as_of=AFTER + timedelta(hours=1))
    send_pending(limit=10, as_of=AFTER + timedelta(hours=1))
    m.refresh_from_db()
    assert m.state == "sent" and m.manual
    assert delivery_state(inv.pk).state == "sent"
    assert failed_count(mail_world.company.pk) == 0
    old = OutboxMessage.objects.exclude(pk=m.pk).get()
    assert old.message_id != m.message_id  # a resend is a new message


def test_resend_command_sends_at_once(mail_world, capsys):
    _first_sent(mail_world)
    call_command("resend", "REC-000001", "--now")
    out = capsys.readouterr().out
    assert "queued as message" in out and "sent 250" in out
    assert len(mail_world.smtp.received) == 2


def test_resend_command_names_a_missing_invoice(mail_world):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no invoice REC-999"):
        call_command("resend", "REC-999")


def test_send_mail_command_delivers_everything_queued(mail_world, capsys):
    issue(mail_world, 3)
    call_command("send-mail", "--no-progress", "--batch", "2")
    assert len(mail_world.smtp.received) == 3
    assert "3 messages attempted" in capsys.readouterr().out


def test_the_delivery_include_renders(mail_world):
    from django.template.loader import render_to_string

    inv = _first_sent(mail_world)
    html = render_to_string("mail/_delivery.html", {"delivery": delivery_state(inv.pk)})
    assert "sent" in html.lower() and "250 2.0.0" in html


def test_tasks_and_hook_are_registered():
    from recurent.invoices import services as invoices
    from recurent.mail.sender import send_pending as sp
    from recurent.mail.services import outbox_after_issue
    from recurent.worker.tasks import TASKS

    assert ("mail", sp) in TASKS and ("mail-reminders", reminders_queue) in TASKS
    assert outbox_after_issue in invoices.AFTER_ISSUE
