"""The contract's email template (issue 16, item 8): a choice of the company's invoice templates,
with a preview of the chosen one; no typed code."""

import json
import re

from django.urls import reverse

from recurent.contracts.models import Contract
from recurent.mail.services import email_template_create
from tests import factories as f


def _template(world):
    return email_template_create(
        company=world.company, code="lunar", name="Factura lunară", kind="invoice",
        language="ro", subject="Factura {{ invoice.full_number }} pe luna aceasta",
        body_html="<p>{{ client.name }}</p>", body_text="Bună ziua, {{ client.name }}",
    )  # fmt: skip


def test_the_form_offers_the_companys_templates_with_a_preview(admin_client, world):
    _template(world)
    page = admin_client.get(reverse("web:contract-add")).content.decode()
    select = re.search(r'<select name="email_template_code".*?</select>', page, re.S)
    assert select, "the template is a choice, not a text box"
    assert re.search(r'<option value="lunar">Factura lunară \(Română\)</option>', select[0])
    previews = json.loads(
        re.search(r'<script id="template-previews" type="application/json">(.*?)</script>', page)[1]
    )
    assert previews["lunar"]["subject"] == "Factura {{ invoice.full_number }} pe luna aceasta"


def test_the_chosen_template_is_saved_and_an_unknown_code_is_refused(admin_client, world):
    _template(world)
    p = f.product(world.company)
    cl = f.client(world.company)
    body = {
        "client": cl.pk, "number": "CTR-T", "signed_on": "2026-01-05", "first_issue_at": "2026-01-31T09:00",
        "series": world.series.pk, "issuer": world.user.pk, "cycle": "monthly", "payment_term_days": "15",
        "currency": "RON", "invoice_currency": "RON", "auto_email": "on", "email_template_code": "lunar",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-0-product": p.pk, "lines-0-quantity": "1",
    }  # fmt: skip
    assert admin_client.post(reverse("web:contract-add"), body).status_code == 302
    assert Contract.objects.get(number="CTR-T").email_template_code == "lunar"
    body.update(number="CTR-U", email_template_code="nu-exista")
    r = admin_client.post(reverse("web:contract-add"), body)
    assert r.status_code == 200 and not Contract.objects.filter(number="CTR-U").exists()
