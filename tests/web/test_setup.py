"""Issue 16: the guided set-up on an empty installation, step by step, through the services the
settings pages use; the dashboard says what is still missing."""

import pytest
from django.contrib.auth.models import User
from django.test import Client as HttpClient

from recurent.companies.models import Company, InvoiceSeries, Membership, Role
from recurent.mail.models import SmtpSettings
from tests import factories as f
from tests.mail.conftest import SmtpServer

pytestmark = pytest.mark.django_db

COMPANY = {
    "cui": "RO18547290", "legal_name": "Firma Nouă SRL", "trade_register": "J40/1/2020",
    "street": "Str. Lungă 1", "city": "București", "sector": "3", "county": "RO-B",
    "postal_code": "030001", "country": "RO", "vat_payer": "on", "email": "office@firma.ro",
}  # fmt: skip


def ro(user: User) -> HttpClient:
    c = HttpClient(HTTP_ACCEPT_LANGUAGE="ro")
    c.force_login(user)
    c.cookies["django_language"] = "ro"
    return c


@pytest.fixture
def owner() -> User:
    return User.objects.create_superuser("owner", "owner@firma.ro", "pw-owner")


def test_first_login_of_the_installer_goes_to_the_set_up_not_to_no_company(owner):
    c = ro(owner)
    r = c.get("/", follow=True)
    assert r.redirect_chain[-1][0] == "/setup/company/"
    body = r.content.decode()
    assert "Pasul 1 din 5" in body and "Completează din registrul ANAF" in body


def test_a_plain_user_without_company_is_still_told_to_ask_an_administrator():
    u = f.user()
    r = ro(u).get("/", follow=True)
    assert r.status_code == 403 and "/setup/" not in r.redirect_chain[-1][0]
    assert ro(u).get("/setup/company/").status_code == 302  # and cannot found a company


def test_the_company_step_founds_the_company_with_its_first_administrator(owner):
    c = ro(owner)
    r = c.post("/setup/company/", COMPANY)
    assert r.status_code == 302 and r["Location"] == "/setup/bank/"
    company = Company.objects.get(cui="RO18547290")
    assert company.city == "SECTOR3"
    assert Membership.objects.get(user=owner, company=company).role == Role.ADMIN
    # The session now works in that company: the next step and the dashboard open.
    assert c.get("/setup/bank/").status_code == 200
    assert c.get("/").status_code == 200


def test_a_refused_company_is_not_half_created_and_the_error_is_in_romanian(owner):
    c = ro(owner)
    r = c.post("/setup/company/", {**COMPANY, "cui": "RO18547291"})
    assert r.status_code == 400
    assert "nu este un CUI/CIF valid" in r.content.decode()
    assert not Company.objects.exists() and not Membership.objects.exists()


def test_bank_series_and_email_steps_then_done(owner, settings):
    c = ro(owner)
    c.post("/setup/company/", COMPANY)
    company = Company.objects.get()
    r = c.post("/setup/bank/", {"iban": "RO48AAAA1B31007593840000", "bank": "Banca"})
    assert r.status_code == 400 and "IBAN" in r.content.decode()
    r = c.post("/setup/bank/", {"iban": "RO66BACX0000001234567890", "bank": "UniCredit"})
    assert r.status_code == 302 and r["Location"] == "/setup/series/"
    company.refresh_from_db()
    assert company.iban == "RO66BACX0000001234567890"
    r = c.get("/setup/series/")
    assert 'value="FCT"' in r.content.decode()  # a suggested code
    r = c.post("/setup/series/", {"code": "FCT", "next_number": "41"})
    assert r.status_code == 302 and r["Location"] == "/setup/email/"
    s = InvoiceSeries.objects.get(company=company)
    assert (s.code, s.next_number, s.is_default) == ("FCT", 41, True)

    server = SmtpServer().start()
    try:
        r = c.post("/setup/email/", {
            "host": "127.0.0.1", "port": server.port, "security": "none",
            "from_email": "facturi@firma.ro", "timeout": "10",
        })  # fmt: skip
        assert r.status_code == 302 and SmtpSettings.objects.filter(company=company).exists()
        r = c.post("/setup/email/", {"action": "test"}, follow=True)
        body = r.content.decode()
        assert "Serverul a acceptat mesajul de test" in body
        assert [m.rcpt_tos for m in server.received] == [["owner@firma.ro"]]
    finally:
        server.stop()
    r = c.get("/setup/", follow=True)
    assert r.redirect_chain[-1][0] == "/setup/efactura/"  # the one step left, optional
    r = c.get("/setup/done/")
    assert "Creează primul contract" in r.content.decode()


def test_the_dashboard_lists_what_the_set_up_still_misses():
    company, series, user = f.setup_company()
    body = ro(user).get("/").content.decode()
    assert 'id="setup-reminder"' in body and "/setup/email/" in body
    assert "/setup/series/" not in body  # done by the factory
    # A viewer sees the reminder without the links to steps only an administrator can do.
    viewer = f.user()
    from recurent.companies.services import membership_grant

    membership_grant(user=viewer, company=company, role=Role.VIEWER)
    body = ro(viewer).get("/").content.decode()
    assert 'id="setup-reminder"' in body and "/setup/email/" not in body
    assert ro(viewer).get("/setup/email/").status_code == 302
