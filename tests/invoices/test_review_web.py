"""The review queue on the web: the list with approve/skip, the edit page, the dashboard box."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from recurent.companies.models import Role
from recurent.invoices.models import Invoice, InvoiceDraft, ReviewStatus
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local
from tests.web.conftest import client_for

RUN_AT = local(2026, 2, 2, 9)


def _prepared(world, n=1):  # type: ignore[no-untyped-def]
    for _ in range(n):
        f.contract(world.company, issuer=world.user, review_before_issue=True)
    issue_due(as_of=RUN_AT)
    return list(InvoiceDraft.objects.order_by("pk"))


def test_the_queue_lists_the_drafts_and_approves_the_ticked_ones_in_order(world):
    a, b, c = _prepared(world, 3)
    web = client_for(world, Role.ACCOUNTANT)
    page = web.get("/invoices/review/").content.decode()
    assert f'id="draft-{a.pk}"' in page and a.contract.number in page
    r = web.post("/invoices/review/", {"draft": [str(c.pk), str(a.pk)], "action": "approve"})
    assert r.status_code == 302
    numbers = dict(Invoice.objects.values_list("draft__id", "number"))
    assert numbers == {a.pk: 1, c.pk: 2}  # the order they were prepared in
    r = web.post("/invoices/review/", {"draft": [str(b.pk)], "action": "skip"})
    b.refresh_from_db()
    assert b.review_status == ReviewStatus.SKIPPED and Invoice.objects.count() == 2
    assert "draft-" not in web.get("/invoices/review/").content.decode()


def test_the_edit_page_changes_a_quantity_and_approves(world):
    (d,) = _prepared(world)
    web = client_for(world, Role.ACCOUNTANT)
    page = web.get(f"/invoices/review/{d.pk}/").content.decode()
    assert 'name="quantity-1"' in page
    r = web.post(f"/invoices/review/{d.pk}/", {"quantity-1": "0", "notes": "x", "action": "save"})
    assert r.status_code == 400 and "lines[1].quantity" in r.content.decode()
    assert d.lines.get().quantity == Decimal("1")
    r = web.post(
        f"/invoices/review/{d.pk}/", {"quantity-1": "2,5", "notes": "Consum", "action": "approve"}
    )
    assert r.status_code == 302
    inv = Invoice.objects.get()
    assert inv.net_total == Decimal("250.00") and inv.notes == "Consum"


def test_a_viewer_sees_the_queue_but_cannot_approve(world):
    (d,) = _prepared(world)
    web = client_for(world, Role.VIEWER)
    page = web.get("/invoices/review/").content.decode()
    assert f'id="draft-{d.pk}"' in page and 'value="approve"' not in page
    assert (
        web.post("/invoices/review/", {"draft": [str(d.pk)], "action": "approve"}).status_code
        == 403
    )
    assert Invoice.objects.count() == 0


def test_the_dashboard_reports_drafts_waiting_too_long(world, monkeypatch):
    (d,) = _prepared(world)
    web = client_for(world, Role.VIEWER)
    monkeypatch.setattr("recurent.common.clock.now", lambda: RUN_AT + timedelta(hours=1))
    page = web.get("/").content.decode()
    assert 'id="review-attention"' in page and f"/invoices/review/{d.pk}/" not in page
    monkeypatch.setattr("recurent.common.clock.now", lambda: RUN_AT + timedelta(days=4))
    page = web.get("/").content.decode()
    assert f"/invoices/review/{d.pk}/" in page  # older than the company's 3 days


def test_the_forms_offer_the_options_and_the_contract_page_shows_it(world):
    web = client_for(world, Role.ADMIN)
    assert 'name="review_before_issue"' in web.get("/contracts/new/").content.decode()
    page = web.get("/settings/").content.decode()
    assert 'name="review_before_issue"' in page and 'name="review_stale_days"' in page
    c = f.contract(world.company, issuer=world.user)
    assert "/invoices/review/" not in web.get(f"/contracts/{c.pk}/").content.decode()
    world.company.review_before_issue = True
    world.company.save()
    page = web.get(f"/contracts/{c.pk}/").content.decode()
    assert 'id="review-option"' in page and "/invoices/review/" in page


def test_the_one_off_draft_page_sends_a_draft_under_review_to_its_review_page(world):
    (d,) = _prepared(world)
    web = client_for(world, Role.ACCOUNTANT)
    r = web.get(f"/invoices/drafts/{d.pk}/")
    assert r.status_code == 302 and r["Location"] == f"/invoices/review/{d.pk}/"
