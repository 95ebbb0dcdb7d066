"""Templates: sandboxed, validated when saved, defaults shipped, preview on a real invoice."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from recurent.mail.models import EmailTemplate
from recurent.mail.services import (
    email_template_create,
    email_template_update,
    mail_templates_ensure_defaults,
    template_preview,
)
from tests.mail.helpers import issue

GOOD = dict(
    code="t1",
    name="T",
    kind="invoice",
    language="ro",
    subject="Factura {{ invoice.full_number }}",
    body_html="<p>{{ client.name }}</p>",
    body_text="{{ client.name }}",
)


def make(world, **kw):
    return email_template_create(company=world.company, **{**GOOD, **kw})


@pytest.mark.parametrize(
    "source, message",
    [
        ("{{ ''.__class__ }}", "is not a field you can use"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "calling functions is not allowed"),
        ("{{ cycler.__init__.__globals__ }}", "is not a field you can use"),
        ("{{ cycler }}", "unknown variable 'cycler'"),
        ("{{ self._TemplateReference__context }}", "is not a field you can use"),
        ("{{ invoice.__class__ }}", "'invoice.__class__' is not a field"),
        ("{{ invoice['__class__'] }}", "is not a field you can use"),
        ("{{ client.name.upper() }}", "calling functions is not allowed"),
        ("{{ client|attr('__class__') }}", "filter 'attr' is not allowed"),
        ("{{ client.name|format('%s') }}", "filter 'format' is not allowed"),
        ("{{ 'a' * 100000000 }}", "multiplication is not allowed"),
        ("{{ 9 ** 9 ** 9 }}", "powers are not allowed"),
        ("{% for x in range(10) %}{% endfor %}", "loops are not allowed"),
        ("{% include 'x.html' %}", "includes are not allowed"),
        ("{% extends 'base.html' %}", "extends are not allowed"),
        ("{% macro m() %}{% endmacro %}", "macros are not allowed"),
        ("{% import 'os' as os %}", "imports are not allowed"),
        (
            "{{ invoice.secret_field }}",
            "'invoice.secret_field' is not a field you can use; available:",
        ),
        ("{{ client }}", "'client' alone is not a field"),
        ("{{ unknown_thing }}", "unknown variable 'unknown_thing'"),
        ("{{ reminder.days_overdue }}", "is not a field you can use"),  # not in an invoice template
        ("{% set x = client %}{{ x.__class__ }}", "'client' alone is not a field"),
        ("{{ client.name|truncate(client.name) }}", "takes only literal arguments"),
        ("{{ client.name ", "line 2: unexpected end of template"),
        ("{% if %}", "line 2:"),
    ],
)
def test_template_injection_and_mistakes_are_refused_when_saved(world, source, message):
    # In English: outside a request (API, command line) no user language applies.
    with translation.override("en"), pytest.raises(ValidationError) as e:
        make(world, body_html="<p>ok</p>\n" + source)
    (err,) = e.value.message_dict["body_html"]
    assert message in err
    assert EmailTemplate.objects.count() == 0


def test_errors_name_the_field_and_line(world):
    with translation.override("en"), pytest.raises(ValidationError) as e:
        make(world, body_text="line one\nline two {{ client.nope }}", subject="{{ 'x'.__class__ }}")
    errs = e.value.message_dict
    assert errs["body_text"][0].startswith("line 2: 'client.nope'")
    assert "subject" in errs


def test_a_template_changed_to_something_unsafe_is_refused_and_kept(world):
    t = make(world)
    with pytest.raises(ValidationError):
        email_template_update(template=t, subject="{{ cycler.__init__.__globals__.os }}")
    t.refresh_from_db()
    assert t.subject == GOOD["subject"]


def test_saving_the_model_directly_is_checked_too(world):
    t = EmailTemplate(company=world.company, **{**GOOD, "body_text": "{{ lipsum.__globals__ }}"})
    with pytest.raises(ValidationError):
        t.save()


def test_documented_fields_filters_and_conditions_are_accepted(world):
    t = make(
        world,
        body_text="{% set who = client.name|upper %}{{ who }} {{ invoice.total|default('-') }}"
        "{% if invoice.period %} {{ invoice.period_start }}–{{ invoice.period_end }}{% endif %}"
        " {{ contract.number }} {{ company.iban }} {{ portal_url }} {{ client['name']|truncate(10) }}",
    )
    assert t.pk


def test_defaults_are_created_once_per_company_in_both_languages(world):
    first = mail_templates_ensure_defaults(company=world.company)
    again = mail_templates_ensure_defaults(company=world.company)
    assert [t.pk for t in first] == [t.pk for t in again]
    assert {(t.kind, t.language) for t in first} == {
        ("invoice", "ro"),
        ("invoice", "en"),
        ("reminder", "ro"),
        ("reminder", "en"),
    }
    assert all(t.is_default for t in first)


def test_a_new_default_takes_over_from_the_old_one(world):
    mail_templates_ensure_defaults(company=world.company)
    mine = make(world, is_default=True)
    defaults = EmailTemplate.objects.filter(
        company=world.company, kind="invoice", language="ro", is_default=True
    )
    assert list(defaults) == [mine]


def test_preview_against_a_real_invoice(world):
    inv = issue(world, name="Alfa & Beta SRL")[0]
    t = make(
        world,
        subject="Factura {{ invoice.full_number }} – {{ invoice.total }}",
        body_html="<b>{{ client.name }}</b> {{ invoice.due_date }} {{ invoice.period }}",
        body_text="{{ client.name }} {{ contract.number }}",
    )
    r = template_preview(template=t, invoice=inv)
    assert r.subject == "Factura REC-000001 – 121,00 RON"
    assert r.html == "<b>Alfa &amp; Beta SRL</b> 15.02.2026 31.01.2026 – 27.02.2026"
    assert r.text == f"Alfa & Beta SRL {inv.contract_number}"


def test_a_subject_on_two_lines_is_refused(world):
    with translation.override("en"):
        with pytest.raises(ValidationError, match="the subject must be one line"):
            make(world, subject="A\nBcc: victim@example.com")
    with translation.override("ro"):
        with pytest.raises(ValidationError, match="subiectul trebuie să fie pe un singur rând"):
            make(world, subject="A\nBcc: victim@example.com")
