"""Issue 15: a contract edit from the web commits once, through contract_edit: lines refused in
the second half leave the billing fields (and the audit trail) as they were."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from recurent.contracts.models import ContractChange
from recurent.contracts.services import LineSpec, contract_edit
from recurent.engine.cycles import BUCHAREST
from tests import factories as f
from tests.web.conftest import login

pytestmark = pytest.mark.django_db


def _world():
    company, series, user = f.setup_company()
    p = f.product(company, code="HOST", unit_price="100.00")
    c = f.contract(company, issuer=user, lines=[(p, "1")], payment_term_days=15)
    return company, user, p, c


def test_refused_lines_leave_the_fields_and_the_history_as_they_were():
    company, user, p, c = _world()
    changes = ContractChange.objects.filter(contract=c).count()
    with pytest.raises(ValidationError) as e:
        contract_edit(
            contract=c, user=user, payment_term_days=30,
            lines=[LineSpec(product=p, quantity=Decimal("2"), min_quantity=Decimal("5"),
                            max_quantity=Decimal("3"), self_service=True)],
        )  # fmt: skip
    assert "lines[1].max_quantity" in e.value.message_dict
    c.refresh_from_db()
    assert c.payment_term_days == 15
    assert [li.quantity for li in c.lines.all()] == [Decimal("1.0000")]
    assert ContractChange.objects.filter(contract=c).count() == changes


def test_fields_and_lines_change_together_and_unchanged_lines_write_nothing():
    company, user, p, c = _world()
    contract_edit(contract=c, user=user, payment_term_days=30, lines=[LineSpec(p, Decimal("1"))])
    c.refresh_from_db()
    assert c.payment_term_days == 30
    assert not ContractChange.objects.filter(contract=c, action="lines_changed").exists()
    contract_edit(contract=c, user=user, payment_term_days=30, lines=[LineSpec(p, Decimal("3"))])
    assert [li.quantity for li in c.lines.filter(until_index__isnull=True)] == [Decimal("3.0000")]
    assert ContractChange.objects.filter(contract=c, action="lines_changed").count() == 1


def test_the_edit_page_saves_through_contract_edit(monkeypatch):
    company, user, p, c = _world()
    calls = []
    import recurent.contracts.services as services

    real = services.contract_edit
    monkeypatch.setattr(services, "contract_edit", lambda **kw: calls.append(kw) or real(**kw))
    page = login(user).get(reverse("web:contract-edit", args=[c.pk]))
    form = page.context["form"]
    body = {k: ("" if v is None else v) for k, v in form.initial.items()}
    body.update({
        "first_issue_at": c.first_issue_at.astimezone(BUCHAREST).strftime("%Y-%m-%dT%H:%M"),
        "client": c.client_id, "series": c.series_id, "issuer": user.pk, "payment_term_days": "45",
        "cycle": c.cycle, "currency": "RON", "invoice_currency": "RON", "ends_at": "",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-0-product": p.pk,
        "lines-0-quantity": "2",
    })  # fmt: skip
    for k in ("signed_on",):
        body[k] = c.signed_on.isoformat()
    r = login(user).post(reverse("web:contract-edit", args=[c.pk]), body)
    assert r.status_code == 302, r.content.decode()[:3000]
    assert len(calls) == 1
    c.refresh_from_db()
    assert c.payment_term_days == 45
    assert [li.quantity for li in c.lines.filter(until_index__isnull=True)] == [Decimal("2.0000")]
