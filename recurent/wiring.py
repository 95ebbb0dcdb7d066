"""What runs when, in one place: issue hooks, event listeners, worker tasks, stored secrets.

Called once, from ``recurent.worker.apps.WorkerConfig.ready`` (the worker app is last in
INSTALLED_APPS: every app is loaded by then). Apps do not register anything in their own
``AppConfig.ready()`` any more: the lists below are the order things run in, and it matters.

TO ADD ONE (other developers: this is the documented way): import your function inside
``wire()`` (a worker task: inside ``_worker_tasks()``) and add ONE line to the right list, with
the reason if its place matters.
- an AFTER_ISSUE hook: ``fn(invoices)``, called inside the issuing transaction (invoices and
  credit notes); it only writes rows (outbox, queue, intents); never calls out;
- a domain-event listener: ``fn(company_id, event_type, payload)`` in the emitter's transaction;
- a worker task: ``(name, fn)`` with ``fn(*, limit) -> int``, run after each billing pass in
  this order, each in its own try/except;
- a stored secret: model label and its encrypted fields (``recurent rotate-key`` rewrites them).
An app that still registers itself in its ready() keeps working: ``wire()`` puts its hooks and
tasks after the listed ones, in INSTALLED_APPS order. Move them here when you can.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recurent.common import crypto, events
from recurent.invoices import services as billing
from recurent.worker import tasks

# model label -> its encrypted text fields (recurent.common.crypto).
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "mail.SmtpSettings": ("password_encrypted",),
    "efactura.SpvConnection": ("client_secret_enc", "access_token_enc", "refresh_token_enc"),
    "gateways.GatewayAccount": ("secret_encrypted", "webhook_secret_encrypted"),
    "gateways.CardAgreement": ("token_encrypted",),
}


def _ordered(listed: list[Any], registered: list[Any]) -> list[Any]:
    """``listed`` first, then what an app registered by itself (not yet moved here)."""
    return [*listed, *(x for x in registered if x not in listed)]


def _worker_tasks() -> list[tuple[str, tasks.Task]]:
    """The worker's tasks, in the order each pass runs them (the reasons beside each)."""
    from recurent.accounting.tasks import month_close_notify
    from recurent.api import webhooks
    from recurent.api.idempotency import idempotency_purge
    from recurent.contracts import discounts, indexation
    from recurent.documents.services import render_pending
    from recurent.efactura.deadline import deadline_tick
    from recurent.efactura.services import efactura_tick
    from recurent.efactura.supplier import supplier_tick
    from recurent.gateways.services import charges_run, expiring_cards_notify
    from recurent.invoices import proforma_period
    from recurent.mail.sender import send_pending
    from recurent.mail.services import reminders_queue
    from recurent.payments.bank import statements_task
    from recurent.payments.interest import interest_tick

    return [
        # Webhooks need no document: delivered before rendering, which can take a whole pass
        # when many invoices are issued at once (issue 14).
        ("webhooks", webhooks.webhooks_deliver),
        # Late-payment interest invoices (on their day of the month) before documents and
        # mail, so that each is rendered and emailed in the pass that issues it.
        ("payments-interest", interest_tick),
        # Then documents: mail attaches the PDF and e-Factura uploads the XML they render, so
        # an invoice issued in this pass is sent in this pass, not the next one.
        ("documents", render_pending),
        ("efactura", efactura_tick),
        # After "efactura", whose pass lists new supplier invoices: they are downloaded now.
        ("efactura-suppliers", supplier_tick),
        ("efactura-deadline", deadline_tick),
        # Card charges before reminders and mail: an invoice charged in this pass is paid
        # before a reminder is considered, and the SCA / declined notices go out in this pass.
        ("gateways-charges", charges_run),
        ("gateways-expiring-cards", expiring_cards_notify),
        # Yearly price indexation: its notices are queued before mail sends this pass's messages.
        ("contracts-indexation", indexation.indexation_tick),
        ("contracts-trial-notices", discounts.trial_notices_tick),  # also before "mail"
        # Reminders before mail, so that a reminder queued in this pass goes out in it.
        ("mail-reminders", reminders_queue),
        ("mail", send_pending),
        ("accounting-month-close", month_close_notify),  # independent: one notice a month
        # Uploaded bank statements are imported and matched here, not in the web request.
        ("statements", statements_task),
        ("api_idempotency_purge", idempotency_purge),
        ("proformas-expire", proforma_period.proformas_expire),  # independent: unpaid, past N days
    ]


def wire() -> None:
    from recurent.api import webhooks
    from recurent.contracts import discounts, indexation
    from recurent.contracts.usage import usage_settings_carry
    from recurent.documents import pdf
    from recurent.documents.proforma import render as proforma_render
    from recurent.documents.services import RENDER_FIRST
    from recurent.documents.snapshot import CORRECTIONS
    from recurent.efactura.correction import latest_corrections
    from recurent.efactura.services import on_invoices_issued
    from recurent.gateways.proforma_pay import proforma_pay_link
    from recurent.gateways.selectors import pay_link_for, pdf_pay_link
    from recurent.gateways.services import charges_after_issue
    from recurent.invoices import proforma_period
    from recurent.mail import templating
    from recurent.mail.selectors import invoices_awaiting_documents
    from recurent.mail.services import (
        client_language,
        notice_queue,
        outbox_after_issue,
        outbox_resend,
    )
    from recurent.payments import interest as payments_interest
    from recurent.payments.balances import on_issued

    # Inside the issuing transaction, after the invoice rows are written. Each only writes rows
    # of its own, so an invoice and everything it sets going exist together or not at all.
    after_issue: list[Callable[[list[Any]], None]] = [
        on_invoices_issued,  # e-Factura: queue the upload (companies with auto-upload)
        outbox_after_issue,  # mail: one outbox message per invoice whose contract emails it
        on_issued,  # payments: the stored balance of each invoice and of what it credits;
        # hooks that read balances (online-payment charges) go after this line
        charges_after_issue,  # gateways: an automatic-charge intent per invoice with a saved card
        webhooks.after_issue,  # API: invoice.issued deliveries, one batch at a time
    ]
    listeners: list[events.Listener] = [
        webhooks.on_event,  # API: a delivery row per event, in the transaction of the change
        usage_settings_carry,  # contracts.usage: a changed variable line stays variable
    ]
    worker_tasks = _worker_tasks()

    # What a document snapshot applies over the issued invoice: e-Factura's corrections of an
    # invoice ANAF rejected (buyer, delivery data, notes), so PDF and XML show them.
    snapshot_corrections = [latest_corrections]
    # The online pay link printed as a QR code next to the IBAN on an invoice's PDF, and the
    # one the email templates offer as {{ pay_url }}.
    pdf_pay_links = [pdf_pay_link]
    mail_pay_links = [pay_link_for]
    # The indexation notice goes through the mail outbox, in the client's language (contracts
    # sit below mail and cannot import it).
    indexation.NOTICE_QUEUE[:] = [notice_queue]
    indexation.CLIENT_LANGUAGE[:] = [client_language]
    discounts.NOTICE_QUEUE[:] = [notice_queue]  # "your trial ends on ...", the same way
    discounts.CLIENT_LANGUAGE[:] = [client_language]
    # An interest invoice's email, queued when it is issued (payments sits below mail).
    payments_interest.EMAIL_QUEUE[:] = [outbox_resend]

    # Rendered before the other invoices: those whose email waits for its attachments.
    render_first = [invoices_awaiting_documents]
    billing.AFTER_ISSUE[:] = _ordered(after_issue, billing.AFTER_ISSUE)
    RENDER_FIRST[:] = _ordered(render_first, RENDER_FIRST)
    CORRECTIONS[:] = _ordered(snapshot_corrections, CORRECTIONS)
    pdf.PAY_LINKS[:] = _ordered(pdf_pay_links, pdf.PAY_LINKS)
    # The PDF of a proforma the billing run issues and its email (invoices sits below both).
    proforma_period.PROFORMA_RENDER[:] = [proforma_render]
    proforma_period.PROFORMA_NOTICE[:] = [notice_queue]
    proforma_period.CLIENT_LANGUAGE[:] = [client_language]
    proforma_period.PROFORMA_PAY_LINK[:] = [proforma_pay_link]
    templating.PAY_LINKS[:] = _ordered(mail_pay_links, templating.PAY_LINKS)
    for fn in listeners:
        events.listen(fn)
    names = {n for n, _ in worker_tasks}
    tasks.TASKS[:] = [*worker_tasks, *(t for t in tasks.TASKS if t[0] not in names)]
    crypto.SECRET_FIELDS.update(SECRET_FIELDS)
