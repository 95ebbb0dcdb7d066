"""e-Factura in the web app: state on the list (filter, no N+1), the invoice page (state, ANAF's
errors, history, send button, ANAF's answer), the dashboard's watch, and the registry flags."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from recurent.common import clock
from recurent.efactura.models import ClientAnafCheck, EfacturaState, EState
from recurent.engine.cycles import BUCHAREST
from tests import factories as f
from tests.efactura.conftest import issue_one
from tests.efactura.test_upload_flow import tick_at
from tests.factories import local


def test_a_rejected_invoice_shows_anafs_errors_history_and_a_send_again_button(
    admin_client,
    world,
    anaf,
    connected,
):
    # Given ANAF rejects the uploaded invoice
    anaf.upload_outcome = "nok"
    anaf.processing_polls = 0
    inv = issue_one(world)
    tick_at(0)
    tick_at(1)
    assert EfacturaState.objects.get(pk=inv.pk).state == EState.REJECTED
    # When the invoice page is opened
    html = admin_client.get(reverse("web:invoice", args=[inv.pk])).content.decode()
    # Then the state, ANAF's errors in plain words, the exchanges and the answer are shown
    assert 'data-efactura="rejected"' in html
    assert "Rule BR-RO-110: Adresa vanzatorului trebuie sa contina strada" in html
    assert "Schimburi cu ANAF" in html and "Încărcare" in html
    assert reverse("efactura:answer", args=[inv.pk]) in html
    assert 'id="efactura-send"' in html and "Trimite din nou în e-Factura" in html
    # And the list filters by that state
    listed = admin_client.get(reverse("web:invoices") + "?efactura=rejected").content.decode()
    assert inv.full_number in listed
    none = admin_client.get(reverse("web:invoices") + "?efactura=accepted").content.decode()
    assert inv.full_number not in none


def test_send_to_efactura_uploads_by_hand_and_returns_to_the_invoice(
    admin_client,
    world,
    anaf,
    connected,
):
    connected.auto_upload = False
    connected.save()
    inv = issue_one(world)
    page = reverse("web:invoice", args=[inv.pk])
    html = admin_client.get(page).content.decode()
    assert 'data-efactura="not_sent"' in html and "Trimite în e-Factura" in html
    # The list shows "not sent" for an invoice that has no state row at all, too.
    other = f.contract(world.company, issuer=world.user, first=local(2026, 2, 27, 9))
    from recurent.invoices.services import issue_due

    issue_due(as_of=local(2026, 2, 27, 9))
    without_row = other.invoices.get()
    # As for an invoice issued before the company connected to SPV: no state row.
    EfacturaState.objects.filter(pk=without_row.pk).delete()
    listed = admin_client.get(reverse("web:invoices") + "?efactura=not_sent").content.decode()
    assert inv.full_number in listed and without_row.full_number in listed

    r = admin_client.post(reverse("efactura:send", args=[inv.pk]), {"next": page})
    assert r.status_code == 302 and r["Location"] == page
    assert anaf.hits["upload"] == 1
    st = EfacturaState.objects.get(pk=inv.pk)
    assert st.state == EState.UPLOADED
    html = admin_client.get(page).content.decode()
    assert 'data-efactura="uploaded"' in html and st.upload_index in html
    assert 'id="efactura-send"' not in html  # already at ANAF: no second upload from here


def test_a_viewer_sees_the_state_but_no_send_button(viewer_client, world, data):
    html = viewer_client.get(reverse("web:invoice", args=[data.invoice.pk])).content.decode()
    assert 'data-efactura="not_sent"' in html and 'id="efactura-send"' not in html
    r = viewer_client.post(reverse("efactura:send", args=[data.invoice.pk]))
    assert r.status_code == 403


def test_the_list_reads_the_state_without_a_query_per_invoice(admin_client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from recurent.invoices.services import issue_due

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            html = admin_client.get(reverse("web:invoices")).content.decode()
        assert "data-efactura" in html
        return len(ctx.captured_queries)

    for i in range(2):
        f.contract(world.company, issuer=world.user, first=local(2026, 1, 10 + i, 9))
    issue_due(as_of=local(2026, 1, 20, 9))
    admin_client.get(reverse("web:invoices"))
    few = count()
    for i in range(8):
        f.contract(world.company, issuer=world.user, first=local(2026, 1, 21 + i, 9))
    issue_due(as_of=local(2026, 1, 30, 9))
    for inv in world.company.invoices.all()[:5]:
        EfacturaState.objects.update_or_create(
            invoice=inv, defaults={"company": world.company, "state": EState.ACCEPTED}
        )
    assert count() == few


def test_the_dashboard_shows_rejections_and_invoices_not_accepted_in_time(admin_client, world):
    # Given two recent invoices: one rejected, one never accepted past the deadline (3 days)
    from recurent.invoices.services import issue_due

    now = clock.now()
    when = (now - timedelta(days=6)).astimezone(BUCHAREST).replace(hour=9, minute=0, second=0)
    f.contract(world.company, issuer=world.user, first=when)
    f.contract(world.company, issuer=world.user, first=when + timedelta(minutes=5))
    issue_due(as_of=when + timedelta(minutes=10))
    rejected, late = world.company.invoices.order_by("number")
    EfacturaState.objects.update_or_create(invoice=rejected, defaults={
        "company": world.company, "state": EState.REJECTED,
        "errors": ["Rule BR-RO-120: Codul de identificare al cumparatorului lipseste"],
    })  # fmt: skip
    # When the dashboard is opened
    html = admin_client.get(reverse("web:dashboard")).content.decode()
    # Then both need attention, linked to their invoice pages
    box = html[html.index('id="efactura-attention"') :]
    assert rejected.full_number in box and "BR-RO-120" in box
    assert late.full_number in box
    assert "1 respinsă" in box


def test_registry_flags_show_on_the_client_and_before_the_next_invoice(admin_client, data):
    check = ClientAnafCheck.objects.create(
        client=data.client, checked_at=clock.now(),
        changes=[{"field": "street", "old": "Str. Veche 1", "new": "Str. Nouă 2", "applied": False}],
    )  # fmt: skip
    client_page = admin_client.get(reverse("web:client", args=[data.client.pk])).content.decode()
    assert 'id="anaf-flags"' in client_page and "Str. Nouă 2" in client_page
    contract_page = admin_client.get(
        reverse("web:contract", args=[data.contract.pk])
    ).content.decode()
    assert 'id="anaf-flags"' in contract_page and "înainte de următoarea factură" in contract_page
    # Marking it seen closes it.
    r = admin_client.post(reverse("web:client-flag-ack", args=[data.client.pk, check.pk]))
    assert r.status_code == 302
    check.refresh_from_db()
    assert check.acknowledged_at is not None
    assert (
        'id="anaf-flags"'
        not in admin_client.get(reverse("web:client", args=[data.client.pk])).content.decode()
    )


def test_another_companys_flag_cannot_be_closed(admin_client, data, other_company):
    check = ClientAnafCheck.objects.create(
        client=other_company.client, checked_at=clock.now(), changes=[]
    )
    r = admin_client.post(reverse("web:client-flag-ack", args=[other_company.client.pk, check.pk]))
    assert r.status_code == 404
    check.refresh_from_db()
    assert check.acknowledged_at is None


@pytest.mark.parametrize("role_client", ["admin_client"])
def test_the_client_form_offers_the_registry_lookup(request, role_client, world):
    c = request.getfixturevalue(role_client)
    html = c.get(reverse("web:client-add")).content.decode()
    assert f'data-registry-url="{reverse("efactura:registry-lookup")}"' in html
    assert "web/client-form.js" in html and 'id="registry-texts"' in html
    assert 'id="id_vat_on_collection"' in html
