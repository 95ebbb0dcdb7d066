"""The screens of the workflow, through Django's test client."""

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from recurent.clients.models import Client
from recurent.contracts.models import Contract
from recurent.invoices.models import Invoice
from tests import factories as f
from tests.factories import local

CLIENT_FORM = {
    "kind": "company", "name": "Beta SRL", "tax_id": "RO18547291", "street": "Str. Lungă 2", "city": "Brașov",
    "county": "BV", "country": "RO", "postal_code": "", "emails": "a@beta.ro, b@beta.ro", "iban": "",
    "bank": "", "payment_term_days": "15", "notes": "", "trade_register": "",
}  # fmt: skip


def test_an_invalid_cui_is_shown_next_to_the_field_then_a_valid_one_is_saved(admin_client, world):
    r = admin_client.post(reverse("web:client-add"), CLIENT_FORM)
    assert r.status_code == 200
    html = r.content.decode()
    assert (
        'id="id_tax_id_error"' in html and "nu este un CUI/CIF valid" in html
    )  # Romanian by default
    assert not Client.objects.exists()
    r = admin_client.post(reverse("web:client-add"), {**CLIENT_FORM, "tax_id": "RO14399840"})
    c = Client.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("web:client", args=[c.pk])
    assert c.emails == ["a@beta.ro", "b@beta.ro"] and c.county == "RO-BV"


def test_a_contract_with_two_lines_is_created_and_activated(admin_client, world):
    p1 = f.product(world.company, unit_price=Decimal("100"))
    p2 = f.product(world.company, unit_price=Decimal("50"))
    cl = f.client(world.company)
    body = {
        "client": cl.pk, "number": "CTR-1", "signed_on": "2026-01-05", "first_issue_at": "2026-01-31T09:00",
        "ends_at": "", "series": world.series.pk, "issuer": world.user.pk, "cycle": "monthly", "every_days": "",
        "payment_term_days": "15", "currency": "RON", "invoice_currency": "RON", "email_template_code": "",
        "lines-TOTAL_FORMS": "2", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "1", "lines-MAX_NUM_FORMS": "1000",
        "lines-0-product": p1.pk, "lines-0-quantity": "2", "lines-0-unit_price": "", "lines-0-description": "",
        "lines-1-product": p2.pk, "lines-1-quantity": "1,5", "lines-1-unit_price": "40,00", "lines-1-description": "Suport",
        "activate": "1",
    }  # fmt: skip
    r = admin_client.post(reverse("web:contract-add"), body)
    assert r.status_code == 302, r.content.decode()[:3000]
    c = Contract.objects.get(number="CTR-1")
    assert c.status == "active" and c.next_issue_at == local(2026, 1, 31)
    lines = list(c.lines.order_by("position"))
    assert [(li.quantity, li.unit_price) for li in lines] == [
        (Decimal("2"), None),
        (Decimal("1.5"), Decimal("40")),
    ]
    page = admin_client.get(reverse("web:contract", args=[c.pk])).content.decode()
    # The next 12 issue dates are previewed, and the audit trail shows the creation.
    assert page.count("<td>12</td>") == 1 and "Creat" in page


def test_a_contract_ending_before_it_starts_is_refused_next_to_the_field(admin_client, world):
    p = f.product(world.company)
    cl = f.client(world.company)
    body = {
        "client": cl.pk, "number": "CTR-2", "signed_on": "2026-01-05", "first_issue_at": "2026-01-31T09:00",
        "ends_at": "2026-01-01T09:00", "series": world.series.pk, "issuer": world.user.pk, "cycle": "monthly",
        "payment_term_days": "15", "currency": "RON", "invoice_currency": "RON",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-0-product": p.pk, "lines-0-quantity": "1",
    }  # fmt: skip
    r = admin_client.post(reverse("web:contract-add"), body)
    assert r.status_code == 200 and 'id="id_ends_at_error"' in r.content.decode()
    assert not Contract.objects.filter(number="CTR-2").exists()


def test_pause_resume_and_cancel_at_period_end_go_through_the_services(admin_client, data):
    url = lambda a: reverse("web:contract-action", args=[data.contract.pk, a])  # noqa: E731
    admin_client.post(url("pause"))
    data.contract.refresh_from_db()
    assert data.contract.status == "paused"
    admin_client.post(url("resume"))
    admin_client.post(url("cancel"), {"at_period_end": "on"})
    data.contract.refresh_from_db()
    assert (
        data.contract.status in {"active", "cancelled"}
        and data.contract.changes.filter(action="cancel_at_period_end").exists()
    )


def test_billing_run_preview_issues_nothing_then_a_run_issues(admin_client, world):
    f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    r = admin_client.post(
        reverse("web:billing-run"), {"as_of": "2026-03-01T10:00", "dry_run": "on"}, follow=True
    )
    html = r.content.decode()
    assert "O rulare ar emite 2 facturi." in html and "REC-000001" in html
    assert not Invoice.objects.exists()
    r = admin_client.post(reverse("web:billing-run"), {"as_of": "2026-03-01T10:00"}, follow=True)
    assert "2 facturi emise." in r.content.decode()
    assert Invoice.objects.count() == 2
    token = r.redirect_chain[-1][0].rstrip("/").split("/")[-1]
    status = admin_client.get(
        reverse("web:billing-job-status", args=[token]), HTTP_HX_REQUEST="true"
    )
    assert status.status_code == 286  # htmx stops polling when the run is over


def test_another_session_cannot_read_a_billing_job(admin_client, accountant_client, world):
    r = admin_client.post(reverse("web:billing-run"), {"dry_run": "on"})
    token = r["Location"].rstrip("/").split("/")[-1]
    assert accountant_client.get(reverse("web:billing-job", args=[token])).status_code == 404


def test_amounts_are_formatted_for_the_language(admin_client, world):
    f.product(world.company, code="BIG", unit_price=Decimal("1234.56"))
    html = admin_client.get(reverse("web:products")).content.decode()
    assert "1.234,56\u00a0lei" in html and "Produse și servicii" in html
    admin_client.post(reverse("web:set-language"), {"language": "en", "next": "/products/"})
    html = admin_client.get(reverse("web:products")).content.decode()
    assert "1,234.56\u00a0RON" in html and "Products and services" in html


def test_the_language_follows_the_user_to_a_new_browser(world, client):
    from django.test import Client as Browser

    b = Browser()
    b.force_login(world.user)
    b.post(reverse("web:set-language"), {"language": "en"})
    fresh = Browser()
    r = fresh.post(
        reverse("web:login"),
        {"username": world.user.username, "password": "pw-" + world.user.username},
    )
    assert r.cookies["django_language"].value == "en"


def _many(world, n):
    for i in range(n):
        cl = f.client(world.company, name=f"Client {i:03d} SRL")
        f.contract(world.company, issuer=world.user, client_=cl, first=local(2026, 1, 31))


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_pages_run_a_constant_number_of_queries(admin_client, world):
    from recurent.invoices.services import issue_due

    _many(world, 3)
    issue_due(as_of=local(2026, 2, 28, 10, 0))
    urls = [
        reverse(n)
        for n in [
            "web:products",
            "web:clients",
            "web:contracts",
            "web:invoices",
            "web:series",
            "web:dashboard",
        ]
    ]
    admin_client.get(urls[0])  # the first request of a session also loads and saves it
    few = {u: _queries(admin_client, u) for u in urls}
    _many(world, 12)
    issue_due(as_of=local(2026, 2, 28, 10, 0))
    many = {u: _queries(admin_client, u) for u in urls}
    assert many == few, (few, many)
    # The dashboard is the largest: figures, receivables, MRR, due next, held contracts,
    # e-Factura rejections and deadline watch, failed emails, whether emails leave at all (3:
    # SMTP set up, waiting, failed) (PostgreSQL: 2 more, a savepoint around a planner setting
    # for the receivables query), the billing workers' heartbeats (1), what the guided set-up
    # still misses (1), drafts waiting for review (1 while there are none), render failures.
    assert max(few.values()) <= 26, few
