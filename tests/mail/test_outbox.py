"""The outbox: a message is queued in the same transaction as its invoice."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recurent.invoices import services as invoices
from recurent.invoices.models import Invoice
from recurent.mail.models import OutboxMessage, OutboxState
from tests.mail.helpers import ISSUE_AT, issue


def test_an_invoice_with_auto_email_gets_exactly_one_queued_message(world):
    inv = issue(world, auto_email=True)[0]
    m = OutboxMessage.objects.get()
    assert (m.invoice_id, m.state, m.kind, m.attempts) == (
        inv.pk,
        OutboxState.PENDING,
        "invoice",
        0,
    )
    assert m.queued_at == inv.issued_at == m.not_before
    assert invoices.issue_due(as_of=ISSUE_AT).issued == 0
    assert OutboxMessage.objects.count() == 1


def test_no_message_when_the_contract_does_not_email(world):
    issue(world, auto_email=False)
    assert Invoice.objects.count() == 1
    assert OutboxMessage.objects.count() == 0


def test_the_contract_template_code_is_kept_on_the_message(world):
    issue(world, template="my-template")
    assert OutboxMessage.objects.get().template_code == "my-template"


def test_a_rolled_back_issue_leaves_neither_invoice_nor_message(world, monkeypatch):
    def boom(invs):
        assert OutboxMessage.objects.filter(invoice__in=invs).count() == len(invs)  # written...
        raise RuntimeError("crash after the outbox hook")

    monkeypatch.setattr(invoices, "AFTER_ISSUE", [*invoices.AFTER_ISSUE, boom])
    with pytest.raises(RuntimeError):
        issue(world, 3)
    assert Invoice.objects.count() == 0  # ...and rolled back with the invoices
    assert OutboxMessage.objects.count() == 0


def test_a_batch_of_invoices_is_queued_with_one_insert(world):
    from tests import factories as f

    for _ in range(30):
        f.contract(world.company, issuer=world.user, first=ISSUE_AT, auto_email=True)
    with CaptureQueriesContext(connection) as ctx:
        invoices.issue_due(as_of=ISSUE_AT, batch_size=200)
    outbox_sql = [q["sql"] for q in ctx.captured_queries if "mail_outboxmessage" in q["sql"]]
    # One statement for the batch (executemany of one prepared INSERT, logged "30 times: …").
    assert len(outbox_sql) == 1
    assert outbox_sql[0].split(" times: ", 1)[-1].lstrip().upper().startswith("INSERT")
    assert OutboxMessage.objects.count() == 30
