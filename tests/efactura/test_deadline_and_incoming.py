"""Invoices ANAF has not accepted in time are shown and emailed once; supplier invoices are listed."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail

from recurent.efactura.deadline import deadline_tick
from recurent.efactura.models import EfacturaState, EState, IncomingInvoice
from recurent.efactura.selectors import invoices_not_accepted
from recurent.efactura.services import efactura_tick, incoming_download, incoming_sync
from recurent.mail.models import OutboxKind, OutboxMessage
from tests.factories import local

from .conftest import issue_one


def test_an_invoice_not_accepted_after_n_days_is_listed_and_emailed_once(world, anaf, connected):
    connected.notify_email = "contabil@demo.ro"
    connected.save()
    anaf.processing_polls = 0
    late = issue_one(world, when=local(2026, 1, 31, 9))
    accepted = issue_one(world, when=local(2026, 1, 31, 10))
    EfacturaState.objects.filter(pk=late.pk).update(state=EState.NOT_SENT, next_attempt_at=None)
    efactura_tick(limit=50, as_of=local(2026, 1, 31, 10))
    efactura_tick(limit=50, as_of=local(2026, 1, 31, 10, 5))
    assert EfacturaState.objects.get(pk=accepted.pk).state == EState.ACCEPTED
    # Day 2: not late yet.
    assert (
        list(invoices_not_accepted(company_id=world.company.pk, as_of=local(2026, 2, 2, 9))) == []
    )
    # Day 3 (the company's setting): listed for the dashboard, emailed once.
    assert list(invoices_not_accepted(company_id=world.company.pk, as_of=local(2026, 2, 3, 9))) == [
        late
    ]
    # Queued in the company's outbox (the mail sender delivers it with retries), not sent from
    # the worker's task directly (issue 16, item 11).
    assert deadline_tick(limit=100, as_of=local(2026, 2, 3, 9)) == 1
    [notice] = OutboxMessage.objects.filter(kind=OutboxKind.NOTICE)
    assert notice.recipients == ["contabil@demo.ro"] and late.full_number in notice.body_text
    assert accepted.full_number not in notice.body_text
    assert deadline_tick(limit=100, as_of=local(2026, 2, 4, 9)) == 0
    assert OutboxMessage.objects.filter(kind=OutboxKind.NOTICE).count() == 1
    assert len(mail.outbox) == 0


def test_supplier_invoices_are_listed_once_and_archived_on_download(client, world, anaf, connected):
    anaf.incoming.append({
        "data_creare": "202601301015", "cif": "18547290", "id_solicitare": "5001", "tip": "FACTURA PRIMITA",
        "detalii": "Factura cu id_incarcare=5001 emisa de cif_emitent=14399840 pentru cif_beneficiar=18547290",
        "id": "3001",
    })  # fmt: skip
    assert incoming_sync(company_id=world.company.pk, as_of=local(2026, 1, 31, 9)) == 1
    assert incoming_sync(company_id=world.company.pk, as_of=local(2026, 1, 31, 10)) == 0
    row = IncomingInvoice.objects.get()
    assert row.supplier_cif == "14399840" and row.upload_index == "5001"
    incoming_download(incoming=row, as_of=local(2026, 1, 31, 11))
    incoming_download(incoming=row, as_of=local(2026, 1, 31, 12))
    assert anaf.hits["descarcare"] == 1  # archived: the second download is local
    client.force_login(world.user)
    page = client.get("/efactura/incoming/")
    assert page.status_code == 200 and b"14399840" in page.content
    z = client.get(f"/efactura/incoming/{row.pk}/download/")
    assert z.status_code == 200 and z.content.startswith(b"PK")


def test_the_poller_lists_supplier_invoices_every_hour(world, anaf, connected):
    t = local(2026, 1, 31, 9)
    efactura_tick(limit=10, as_of=t)
    efactura_tick(limit=10, as_of=t + timedelta(minutes=30))
    assert anaf.hits["listaMesajeFactura"] == 1
    efactura_tick(limit=10, as_of=t + timedelta(minutes=61))
    assert anaf.hits["listaMesajeFactura"] == 2
