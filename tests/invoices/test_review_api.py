"""The review queue through the API: list, edit, approve, skip; viewers only read."""

from __future__ import annotations

from recurent.invoices.models import Invoice, InvoiceDraft
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.api.conftest import accountant_api, viewer_api  # noqa: F401
from tests.factories import local

RUN_AT = local(2026, 2, 2, 9)


def _prepared(world, n=1):  # type: ignore[no-untyped-def]
    for _ in range(n):
        f.contract(world.company, issuer=world.user, review_before_issue=True)
    issue_due(as_of=RUN_AT)
    return list(InvoiceDraft.objects.order_by("pk"))


def test_the_queue_lists_drafts_waiting_and_approval_issues_the_invoice(world, accountant_api):  # noqa: F811
    a, b = _prepared(world, 2)
    r = accountant_api.get("/review/drafts")
    assert r.status_code == 200, r.content
    rows = r.json()
    assert [d["id"] for d in rows] == [a.pk, b.pk]
    assert rows[0]["status"] == "pending" and rows[0]["period_start"] == "2026-01-31"
    assert rows[0]["lines"][0]["position"] == 1 and rows[0]["invoice_id"] is None
    r = accountant_api.patch(f"/review/drafts/{a.pk}", {"lines": [{"position": 1, "quantity": "3"}],
                                                          "notes": "trei luni"})  # fmt: skip
    assert r.status_code == 200, r.content
    assert r.json()["notes"] == "trei luni"
    r = accountant_api.post(f"/review/drafts/{a.pk}/approve")
    assert r.status_code == 201, r.content
    out = r.json()
    assert out["full_number"] == "REC-000001" and out["net_total"] in ("300.00", "300")
    again = accountant_api.post(f"/review/drafts/{a.pk}/approve")
    assert again.status_code in (400, 409, 422) and "issued" in again.content.decode()
    r = accountant_api.post(f"/review/drafts/{b.pk}/skip")
    assert r.status_code == 200 and r.json()["status"] == "skipped"
    assert accountant_api.get("/review/drafts").json() == []
    assert Invoice.objects.count() == 1


def test_a_bad_quantity_names_its_line_and_changes_nothing(world, accountant_api):  # noqa: F811
    (d,) = _prepared(world)
    r = accountant_api.patch(
        f"/review/drafts/{d.pk}",
        {"lines": [{"position": 1, "quantity": "2"}, {"position": 9, "quantity": "2"}]},
    )
    assert r.status_code in (400, 422), r.content
    assert '"field": "lines.1.quantity"' in r.content.decode()  # the second entry (from 0)
    assert d.lines.get().quantity == 1


def test_a_viewer_reads_the_queue_but_cannot_approve(world, viewer_api):  # noqa: F811
    (d,) = _prepared(world)
    assert viewer_api.get("/review/drafts").status_code == 200
    assert viewer_api.post(f"/review/drafts/{d.pk}/approve").status_code == 403
    assert Invoice.objects.count() == 0


def test_another_companys_draft_is_not_found(world, accountant_api):  # noqa: F811
    c2, _, u2 = f.setup_company()
    f.contract(c2, issuer=u2, review_before_issue=True)
    issue_due(as_of=RUN_AT)
    other = InvoiceDraft.objects.get(company=c2)
    assert accountant_api.get("/review/drafts").json() == []
    assert accountant_api.post(f"/review/drafts/{other.pk}/approve").status_code == 404


def test_the_contract_option_is_set_and_shown_through_the_api(world, accountant_api):  # noqa: F811
    c = f.contract(world.company, issuer=world.user)
    r = accountant_api.patch(f"/contracts/{c.pk}", {"review_before_issue": True})
    assert r.status_code == 200, r.content
    assert r.json()["review_before_issue"] is True
    c.refresh_from_db()
    assert c.review_before_issue
