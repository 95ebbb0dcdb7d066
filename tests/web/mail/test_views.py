"""The mail screens: templates with preview, SMTP settings with a test message through a real
SMTP server, reminder rules and the outbox — per role, per company."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from recurent.companies.models import Role
from recurent.companies.services import membership_grant
from recurent.invoices.models import Invoice
from recurent.mail import crypto
from recurent.mail.models import (
    EmailTemplate,
    OutboxMessage,
    OutboxState,
    ReminderRule,
    SmtpSettings,
)
from recurent.mail.sender import send_pending
from recurent.mail.services import (
    email_template_create,
    mail_templates_ensure_defaults,
    reminder_rule_create,
    smtp_settings_save,
)
from tests import factories as f
from tests.mail.helpers import AFTER, issue

SECRET = "Parolă-Secretă-7f3c9e"  # distinctive: searched for in every response


@pytest.fixture(autouse=True)
def _mail_urls(settings):
    # The real URLconf: these pages extend the web layout, whose menu reverses web: names.
    settings.ROOT_URLCONF = "recurent.urls"


def login(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def in_english(c: Client) -> Client:
    """The user's own choice of English (the pages are Romanian by default)."""
    assert c.post(reverse("web:set-language"), {"language": "en"}).status_code == 302
    return c


def as_role(world, role: str) -> Client:
    if role == Role.ADMIN:
        return login(world.user)
    u = f.user(email=f"{role}@demo.ro")
    membership_grant(user=u, company=world.company, role=role)
    return login(u)


@pytest.fixture
def invoice(world):
    return issue(world)[0]


@pytest.fixture
def template(world):
    return mail_templates_ensure_defaults(company=world.company)[0]


@pytest.fixture
def other(db):
    """Another company with its own template, reminder rule, invoice and outbox message."""
    c = f.company(legal_name="Alta Firma SRL", cui="RO14399840")
    f.series(c, code="ALT")
    u = f.user()
    membership_grant(user=u, company=c, role=Role.ADMIN)
    world = type("W", (), {"company": c, "user": u})
    issue(world)
    inv = Invoice.objects.get(company=c)
    return type(
        "Other",
        (),
        {
            "company": c,
            "template": mail_templates_ensure_defaults(company=c)[0],
            "rule": reminder_rule_create(company=c, offset_days=5),
            "invoice": inv,
            "message": OutboxMessage.objects.filter(invoice=inv).first(),
        },
    )


def pages(template) -> dict[str, str]:
    return {
        "templates": reverse("mail:templates"),
        "template-add": reverse("mail:template-add"),
        "template-edit": reverse("mail:template-edit", args=[template.pk]),
        "reminders": reverse("mail:reminders"),
        "outbox": reverse("mail:outbox"),
        "settings": reverse("mail:settings"),
    }


# Who may open which page (GET): template-add is for writers, SMTP settings for administrators.
EXPECTED = {
    Role.VIEWER: {"template-add": 403, "settings": 403},
    Role.ACCOUNTANT: {"settings": 403},
    Role.ADMIN: {},
}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ACCOUNTANT, Role.ADMIN])
def test_every_page_renders_for_each_role(world, invoice, template, role):
    c = as_role(world, role)
    for name, url in pages(template).items():
        r = c.get(url)
        assert r.status_code == EXPECTED[role].get(name, 200), (name, r.status_code)
        if r.status_code == 200:
            assert b'class="tabs"' in r.content or name.startswith("template-"), name
    page = c.get(reverse("mail:template-edit", args=[template.pk])).content.decode()
    assert ("disabled" in page) == (role == Role.VIEWER)  # viewers read, fields disabled


def test_logged_out_users_are_sent_to_the_login_page(world, template):
    for url in pages(template).values():
        r = Client().get(url)
        assert r.status_code == 302 and "login" in r["Location"]


def test_a_viewer_cannot_change_anything_by_crafting_a_post(world, invoice, template):
    rule = reminder_rule_create(company=world.company, offset_days=3)
    msg = OutboxMessage.objects.get(invoice=invoice)
    viewer = as_role(world, Role.VIEWER)
    accountant = as_role(world, Role.ACCOUNTANT)
    posts = {
        reverse("mail:template-add"): {"code": "x", "name": "x", "kind": "invoice",
                                       "language": "ro", "subject": "s", "body_html": "h", "body_text": "t"},
        reverse("mail:template-edit", args=[template.pk]): {"name": "changed"},
        reverse("mail:reminders"): {"offset_days": "7"},
        reverse("mail:reminder-remove", args=[rule.pk]): {},
        reverse("mail:outbox-resend", args=[msg.pk]): {},
        reverse("mail:settings"): {"host": "evil.example", "from_email": "a@b.ro"},
        reverse("mail:settings-test"): {},
    }  # fmt: skip
    for url, data in posts.items():
        assert viewer.post(url, data).status_code == 403, url
    # SMTP settings are the administrator's, even for an accountant.
    for url in (reverse("mail:settings"), reverse("mail:settings-test")):
        assert accountant.post(url, posts[url]).status_code == 403
    template.refresh_from_db()
    assert template.name != "changed"
    assert ReminderRule.objects.get(pk=rule.pk).active
    assert OutboxMessage.objects.filter(invoice=invoice).count() == 1
    assert not SmtpSettings.objects.filter(company=world.company).exists()
    assert not ReminderRule.objects.filter(offset_days=7).exists()


def test_another_companys_objects_do_not_exist(world, invoice, template, other):
    c = as_role(world, Role.ADMIN)
    assert c.get(reverse("mail:template-edit", args=[other.template.pk])).status_code == 404
    assert c.post(reverse("mail:template-edit", args=[other.template.pk]), {}).status_code == 404
    # Previewing one's own template with another company's invoice.
    url = reverse("mail:template-edit", args=[template.pk])
    assert c.get(url, {"invoice": other.invoice.pk}).status_code == 404
    assert c.post(reverse("mail:reminder-remove", args=[other.rule.pk])).status_code == 404
    assert c.post(reverse("mail:outbox-resend", args=[other.message.pk])).status_code == 404
    listing = c.get(reverse("mail:outbox")).content.decode()
    assert invoice.full_number in listing and other.invoice.full_number not in listing
    assert other.template.pk not in [
        t.pk for t in c.get(reverse("mail:templates")).context["templates"]
    ]
    assert ReminderRule.objects.get(pk=other.rule.pk).active


def _template_data(t: EmailTemplate, **changes) -> dict:
    data = {k: getattr(t, k) for k in ("name", "code", "kind", "language", "subject",
                                       "body_html", "body_text")}  # fmt: skip
    if t.is_default:
        data["is_default"] = "on"
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "field,source,message",
    [
        ("body_html", "<p>{{ ''.__class__.__mro__ }}</p>", "is not a field you can use"),
        (
            "subject",
            "{{ cycler.__init__.__globals__ }}",
            "'cycler.__init__.__globals__' is not a field",
        ),
        ("body_text", "{{ invoice.total.__class__ }}", "is not a field you can use"),
        ("body_text", "{% for x in client %}{% endfor %}", "loops are not allowed"),
        ("body_html", "{{ invoice.totl }}", "'invoice.totl' is not a field you can use"),
    ],
)
def test_a_template_injection_is_refused_at_save_next_to_the_field(
    world, template, field, source, message
):
    c = in_english(as_role(world, Role.ACCOUNTANT))
    before = (template.subject, template.body_html, template.body_text)
    r = c.post(
        reverse("mail:template-edit", args=[template.pk]),
        _template_data(template, **{field: source}),
    )
    assert r.status_code == 400
    form = r.context["form"]
    assert any(message in e for e in form.errors[field]), form.errors
    # Shown in the field's own error list, right under it.
    html = r.content.decode()
    block = html.split(f'id="id_{field}_error"', 1)[1].split("</ul>", 1)[0]
    assert "line 1" in block
    template.refresh_from_db()
    assert (template.subject, template.body_html, template.body_text) == before


def test_the_template_checkers_findings_are_in_the_users_language(world, template):
    c = as_role(world, Role.ACCOUNTANT)
    url = reverse("mail:template-edit", args=[template.pk])
    data = _template_data(
        template, body_text="{{ invoice.totl }}\n{% for x in client %}{% endfor %}"
    )
    page = c.post(url, data).content.decode().replace("&#x27;", "'")
    assert "linia 1: „invoice.totl” nu este un câmp pe care îl puteți folosi" in page
    assert "is not a field you can use" not in page
    r = in_english(c).post(url, data)
    page = r.content.decode().replace("&#x27;", "'")
    assert "line 1: 'invoice.totl' is not a field you can use; available:" in page
    assert "nu este un câmp" not in page
    r = c.post(url, _template_data(template, body_html="{% for x in client %}{% endfor %}"))
    assert r.context["form"].errors["body_html"] == [
        "line 1: loops are not allowed in email templates"
    ]


def test_a_new_template_is_saved_and_previewed_against_a_real_invoice(world, invoice):
    c = as_role(world, Role.ACCOUNTANT)
    data = {
        "name": "Factura lunară",
        "code": "lunar",
        "kind": "invoice",
        "language": "ro",
        "subject": "Factura {{ invoice.full_number }} pentru {{ client.name }}",
        "body_html": "<p>Total: <b>{{ invoice.total }}</b> <script>alert(1)</script></p>",
        "body_text": "Total {{ invoice.total }}, scadent {{ invoice.due_date }}",
    }
    r = c.post(reverse("mail:template-add"), data)
    t = EmailTemplate.objects.get(company=world.company, code="lunar")
    assert r.status_code == 302 and r["Location"] == reverse("mail:template-edit", args=[t.pk])
    page = c.get(r["Location"], {"invoice": invoice.pk})
    rendered = page.context["rendered"]
    assert rendered.subject == f"Factura {invoice.full_number} pentru {invoice.buyer_name}"
    html = page.content.decode()
    assert f'id="preview-subject">{rendered.subject}<' in html.replace("&#x27;", "'")
    # The HTML version sits in a sandboxed iframe, as an escaped srcdoc attribute.
    frame = html.split("<iframe", 1)[1].split(">", 1)[0]
    assert 'sandbox=""' in frame and 'srcdoc="&lt;p&gt;Total: &lt;b&gt;' in frame
    assert "<script>alert(1)</script>" not in html
    assert "scadent 15.02.2026" in html  # the plain-text version
    # The placeholders are documented on the page.
    for name in ("invoice.full_number", "client.name", "portal_url", "reminder.days_overdue"):
        assert name in html
    # A second template with the same code is refused next to the code field.
    r = c.post(reverse("mail:template-add"), data)
    assert r.status_code == 400 and r.context["form"].errors["code"]


def test_the_smtp_password_is_never_in_any_response(world, invoice, template):
    c = as_role(world, Role.ADMIN)
    url = reverse("mail:settings")
    data = {"host": "smtp.demo.ro", "port": "587", "security": "starttls", "username": "facturi",
            "password": SECRET, "from_email": "facturi@demo.ro", "timeout": "30"}  # fmt: skip
    responses = [c.post(url, data)]
    assert responses[0].status_code == 302
    stored = SmtpSettings.objects.get(company=world.company)
    assert crypto.decrypt(stored.password_encrypted) == SECRET
    assert SECRET not in stored.password_encrypted
    # An invalid submission re-renders the form without the password typed.
    bad = responses[-1:] + [c.post(url, {**data, "from_email": "not-an-address"})]
    assert bad[-1].status_code == 400 and bad[-1].context["form"].errors["from_email"]
    responses += bad
    # Blank keeps the stored password.
    responses.append(c.post(url, {**data, "password": "", "host": "smtp2.demo.ro"}))
    stored.refresh_from_db()
    assert stored.host == "smtp2.demo.ro" and crypto.decrypt(stored.password_encrypted) == SECRET
    for u in [*pages(template).values(), reverse("mail:settings")]:
        responses.append(c.get(u))
    for r in responses:
        assert SECRET.encode() not in r.content
        assert stored.password_encrypted.encode() not in r.content
    page = c.get(url).content.decode()
    assert 'type="password"' in page and "O parolă este salvată" in page
    # The box "remove the stored password" clears it.
    c.post(url, {**data, "password": "", "forget_password": "on"})
    stored.refresh_from_db()
    assert stored.password_encrypted == ""


def test_the_test_message_reaches_the_real_server_and_its_answer_is_shown(mail_world):
    mail_world.user.email = "owner@demo.ro"
    mail_world.user.save()
    c = as_role(mail_world, Role.ADMIN)
    r = c.post(reverse("mail:settings-test"))
    assert r.status_code == 302 and r["Location"] == reverse("mail:settings")
    [got] = mail_world.smtp.received
    assert got.rcpt_tos == ["owner@demo.ro"] and got.mail_from == "facturi@demo.ro"
    assert got.message["To"] == "owner@demo.ro"
    assert "Recurent Demo" in got.message["From"]
    page = c.get(r["Location"]).content.decode()
    assert "250 2.0.0 Ok: queued as Q1" in page
    assert "Serverul a acceptat mesajul de test." in page
    # Shown once: the answer does not stay on the page.
    assert "queued as Q1" not in c.get(r["Location"]).content.decode()


def test_a_refused_test_message_shows_the_servers_answer(mail_world):
    mail_world.user.email = "nobody@demo.ro"
    mail_world.user.save()
    mail_world.smtp.handler.rcpt_replies["nobody@demo.ro"] = (
        "550 5.1.1 <nobody@demo.ro>: no such user"
    )
    c = as_role(mail_world, Role.ADMIN)
    page = c.post(reverse("mail:settings-test"), follow=True).content.decode()
    assert "550 5.1.1" in page and "Mesajul de test nu a fost acceptat." in page
    assert mail_world.smtp.received == []


def test_an_unreachable_server_is_reported_not_crashed(world):
    from tests.mail.conftest import free_port

    smtp_settings_save(company=world.company, host="127.0.0.1", port=free_port(),
                       security="none", from_email="facturi@demo.ro")  # fmt: skip
    world.user.email = "owner@demo.ro"
    world.user.save()
    page = as_role(world, Role.ADMIN).post(reverse("mail:settings-test"), follow=True)
    # One generic answer (no port-scanner oracle; tests/core/test_hardening_should.py).
    text = page.content.decode()
    assert "Mesajul nu a putut fi trimis" in text and "ConnectionRefusedError" not in text


def test_reminder_rules_are_added_refused_twice_removed_and_brought_back(world):
    reminder = email_template_create(
        company=world.company, code="amintire", name="Amintire", kind="reminder", language="ro",
        subject="Factura {{ invoice.full_number }}", body_html="<p>{{ reminder.days_overdue }}</p>",
        body_text="{{ reminder.days_overdue }} zile",
    )  # fmt: skip
    c = as_role(world, Role.ACCOUNTANT)
    url = reverse("mail:reminders")
    assert c.post(url, {"offset_days": "-3"}).status_code == 302
    assert c.post(url, {"offset_days": "7", "template_code": "amintire"}).status_code == 302
    rules = list(ReminderRule.objects.filter(company=world.company).order_by("offset_days"))
    assert [(r.offset_days, r.template_code) for r in rules] == [(-3, ""), (7, "amintire")]
    page = c.get(url).content.decode()
    assert "cu 3 zile înainte de scadență" in page and "la 7 zile după scadență" in page
    assert reminder.name in page
    r = c.post(url, {"offset_days": "7"})
    assert r.status_code == 400 and r.context["form"].errors["offset_days"]
    r = c.post(url, {"offset_days": "400"})
    assert r.status_code == 400 and r.context["form"].errors["offset_days"]
    # Removing keeps the rule (its reminders already sent stay linked, never sent again).
    seven = rules[1]
    assert c.post(reverse("mail:reminder-remove", args=[seven.pk])).status_code == 302
    assert not ReminderRule.objects.get(pk=seven.pk).active
    assert "la 7 zile după" not in c.get(url).content.decode()
    assert c.post(url, {"offset_days": "7"}).status_code == 302
    seven.refresh_from_db()
    assert seven.active and seven.template_code == ""
    assert ReminderRule.objects.filter(company=world.company).count() == 2


def test_the_outbox_lists_filters_and_resends(mail_world):
    invoices = issue(mail_world, 3)
    mail_world.smtp.handler.data_replies.append("550 5.7.1 rejected")
    send_pending(limit=10, as_of=AFTER)
    failed = OutboxMessage.objects.get(state=OutboxState.FAILED)
    assert OutboxMessage.objects.filter(state=OutboxState.SENT).count() == 2
    c = as_role(mail_world, Role.ACCOUNTANT)
    url = reverse("mail:outbox")
    page = c.get(url, {"state": "attention"})
    assert [m.pk for m in page.context["page"]] == [failed.pk]
    html = page.content.decode()
    assert "550 5.7.1 rejected" in html and failed.invoice.full_number in html
    assert len(c.get(url, {"state": "sent"}).context["page"]) == 2
    assert len(c.get(url).context["page"]) == 3
    # Resend: a new queued message for the same invoice, by hand; back to the filtered list.
    back = f"{url}?state=attention"
    r = c.post(reverse("mail:outbox-resend", args=[failed.pk]), {"next": back})
    assert r.status_code == 302 and r["Location"] == back
    again = OutboxMessage.objects.filter(invoice=failed.invoice).order_by("-pk").first()
    assert again.pk != failed.pk and again.manual and again.state == OutboxState.PENDING
    send_pending(limit=10)  # queued now (the real clock), so sent now
    again.refresh_from_db()
    assert again.state == OutboxState.SENT
    assert len(mail_world.smtp.received) == 3
    # An outside redirect target is ignored.
    r = c.post(reverse("mail:outbox-resend", args=[failed.pk]), {"next": "https://evil.example/"})
    assert r["Location"] == url
    assert {i.pk for i in invoices} == set(OutboxMessage.objects.values_list("invoice", flat=True))


def test_the_outbox_page_makes_the_same_number_of_queries_for_more_messages(mail_world):
    c = as_role(mail_world, Role.VIEWER)
    issue(mail_world, 2)
    c.get(reverse("mail:outbox"))  # warm the session and the membership caches
    with CaptureQueriesContext(connection) as few:
        assert c.get(reverse("mail:outbox")).status_code == 200
    issue(mail_world, 6)
    with CaptureQueriesContext(connection) as many:
        r = c.get(reverse("mail:outbox"))
    assert len(r.context["page"]) == 8
    assert len(many) == len(few)


def test_the_last_default_template_of_a_language_cannot_be_unset(world, template):
    c = as_role(world, Role.ACCOUNTANT)
    url = reverse("mail:template-edit", args=[template.pk])
    data = _template_data(template)
    del data["is_default"]
    r = c.post(url, data)
    assert r.status_code == 400 and r.context["form"].errors["is_default"]
    r = c.post(url, _template_data(template, language="en" if template.language == "ro" else "ro"))
    assert r.status_code == 400 and r.context["form"].errors["is_default"]
    template.refresh_from_db()
    assert template.is_default
    # Another default of the same kind and language takes over; then the old one may go.
    r = c.post(reverse("mail:template-add"), _template_data(template, code="nou", name="Nou"))
    assert r.status_code == 302
    template.refresh_from_db()
    assert not template.is_default
    assert EmailTemplate.objects.get(company=world.company, code="nou").is_default


def test_the_pages_speak_romanian_by_default_and_english_when_the_user_chooses_it(world, invoice):
    reminder_rule_create(company=world.company, offset_days=-1)
    reminder_rule_create(company=world.company, offset_days=3)
    c = as_role(world, Role.ADMIN)
    ro = {
        reverse("mail:templates"): ["Șabloane email", "Adaugă un șablon", ">implicit<"],
        reverse("mail:reminders"): ["cu 1 zi înainte de scadență", "la 3 zile după scadență",
                                    "Adaugă un memento", "Zile după scadență"],
        reverse("mail:outbox"): ["Mesaje trimise și în așteptare", "necesită atenție", "Încercări"],
        reverse("mail:settings"): ["Serverul de email al firmei", "Adresa expeditorului",
                                   "Salvați întâi setările."],
    }  # fmt: skip
    en = {
        reverse("mail:templates"): ["Email templates", "Add template", ">default<"],
        reverse("mail:reminders"): ["1 day before the due date", "3 days after the due date",
                                    "Add a reminder", "Days after the due date"],
        reverse("mail:outbox"): ["Sent and queued messages", "need attention", "Attempts"],
        reverse("mail:settings"): ["Your company's mail server", "From address",
                                   "Save the settings first."],
    }  # fmt: skip
    for url, texts in ro.items():
        page = c.get(url).content.decode().replace("&#x27;", "'")
        for text in texts:
            assert text in page, (url, text)
        assert "Sent and queued messages" not in page
    in_english(c)
    for url, texts in en.items():
        page = c.get(url).content.decode().replace("&#x27;", "'")
        for text in texts:
            assert text in page, (url, text)
        assert "Mesaje trimise și în așteptare" not in page
