"""Proration (issue 19): under the company's "immediately" policy a change of lines in the
middle of a period puts a prorated charge or credit on the next invoice; under "next period"
(the default) nothing changes from today's behaviour."""

from decimal import Decimal

from recurent.common import clock
from recurent.companies.services import company_update
from recurent.contracts.charges import charges_pending
from recurent.contracts.discounts import discount_add
from recurent.contracts.models import ContractChange
from recurent.contracts.services import LineSpec, contract_change_lines
from recurent.invoices.models import Invoice
from recurent.invoices.services import contract_upcoming, issue_due
from tests import factories as f
from tests.factories import local


def _immediately(world):
    company_update(company=world.company, proration_policy="immediately")


def _monthly(world, *, in_arrears=False, price="100", first=None):
    p = f.product(world.company, unit_price=Decimal(price), vat_rate="standard", name="Abonament")
    c = f.contract(world.company, issuer=world.user, lines=[(p, "1")],
                   first=first or local(2026, 1, 1), in_arrears=in_arrears)  # fmt: skip
    return c, p


def _change(c, world, p, qty, at):
    return contract_change_lines(contract=c, user=world.user, lines=[LineSpec(p, Decimal(qty))],
                                 as_of=at)  # fmt: skip


def test_by_default_a_change_waits_for_the_next_period_and_nothing_is_prorated(world):
    c, p = _monthly(world)
    issue_due(as_of=local(2026, 1, 1))
    _change(c, world, p, "2", local(2026, 1, 22))
    assert charges_pending(contract=c) == []
    issue_due(as_of=local(2026, 2, 1))
    assert Invoice.objects.get(contract=c, period_start="2026-02-01").net_total == Decimal("200")


def test_billed_in_advance_an_upgrade_charges_the_remaining_days_on_the_next_invoice(world):
    _immediately(world)
    c, p = _monthly(world)
    issue_due(as_of=local(2026, 1, 1))
    _change(c, world, p, "2", local(2026, 1, 22, 18))
    (ch,) = charges_pending(contract=c)
    # 22..31 January: 10 of 31 days of the 100.00 difference, rounded once.
    assert (ch.kind, ch.quantity, ch.unit_price) == ("charge", Decimal(1), Decimal("32.26"))
    assert ch.description == "Abonament: 1 → 2, 22.01.2026-31.01.2026 (10/31 zile)"
    assert (ch.vat_category, ch.vat_rate) == ("S", "standard")
    up = contract_upcoming(contract=c, as_of=local(2026, 1, 22, 18), count=2)
    assert [u["net"] for u in up] == [Decimal("232.26"), Decimal("200.00")]
    issue_due(as_of=local(2026, 2, 1))
    issue_due(as_of=local(2026, 2, 1))  # run twice: the charge lands once
    feb = Invoice.objects.get(contract=c, period_start="2026-02-01")
    assert feb.net_total == Decimal("232.26") and feb.lines.count() == 2
    issue_due(as_of=local(2026, 3, 1))
    assert Invoice.objects.get(contract=c, period_start="2026-03-01").net_total == Decimal("200")


def test_billed_in_advance_a_downgrade_credits_the_unused_days(world):
    _immediately(world)
    c, p = _monthly(world, price="310")
    issue_due(as_of=local(2026, 1, 1))
    _change(c, world, p, "0.5", local(2026, 1, 11))
    (ch,) = charges_pending(contract=c)
    # 11..31 January: 21 of 31 days of half of 310.00 = 105.00 back.
    assert (ch.kind, ch.unit_price) == ("credit", Decimal("105.00"))
    issue_due(as_of=local(2026, 2, 1))
    feb = Invoice.objects.get(contract=c, period_start="2026-02-01")
    assert feb.net_total == Decimal("50.00")  # 155.00 - 105.00


def test_billed_in_arrears_the_days_before_the_change_keep_the_old_price(world):
    _immediately(world)
    c, p = _monthly(world, in_arrears=True, price="310", first=local(2026, 2, 1))
    _change(c, world, p, "2", local(2026, 1, 11))
    (ch,) = charges_pending(contract=c)
    # The February 1 invoice covers January with the new lines: 1..10 January back at the old.
    assert (ch.kind, ch.unit_price) == ("credit", Decimal("100.00"))
    issue_due(as_of=local(2026, 2, 1))
    inv = Invoice.objects.get(contract=c)
    assert (str(inv.period_start), inv.net_total) == ("2026-01-01", Decimal("520.00"))


def test_two_changes_in_one_period_add_up_to_each_price_for_its_days(world):
    _immediately(world)
    c, p = _monthly(world, price="310")
    issue_due(as_of=local(2026, 1, 1))
    _change(c, world, p, "2", local(2026, 1, 11))  # +210.00 for 11..31
    _change(c, world, p, "3", local(2026, 1, 21))  # +110.00 for 21..31
    assert sorted(ch.unit_price for ch in charges_pending(contract=c)) == [
        Decimal("110.00"), Decimal("210.00"),
    ]  # fmt: skip
    issue_due(as_of=local(2026, 2, 1))
    feb = Invoice.objects.get(contract=c, period_start="2026-02-01")
    # January: 10 days of 310, 10 of 620, 11 of 930 a month = 100 + 200 + 330 = 630, of which
    # 310 was invoiced: 320 more on February's 930.
    assert feb.net_total == Decimal("930.00") + Decimal("320.00")


def test_a_product_switch_credits_the_old_one_and_charges_the_new_one_at_its_vat(world):
    _immediately(world)
    c, basic = _monthly(world, price="31")
    book = f.product(world.company, unit_price=Decimal("62"), vat_rate="reduced", name="Carte")
    issue_due(as_of=local(2026, 1, 1))
    contract_change_lines(contract=c, user=world.user, lines=[LineSpec(book, Decimal(1))],
                          as_of=local(2026, 1, 22))  # fmt: skip
    got = [(ch.kind, ch.unit_price, ch.vat_rate) for ch in charges_pending(contract=c)]
    assert got == [
        ("charge", Decimal("20.00"), "reduced"),
        ("credit", Decimal("10.00"), "standard"),
    ]
    audit = ContractChange.objects.filter(contract=c, action="lines_changed").get()
    assert [x["amount"] for x in audit.changes["prorated"]["charges"]] == ["20.00", "10.00"]


def test_a_change_planned_for_a_later_period_is_not_prorated(world):
    _immediately(world)
    c, p = _monthly(world)
    issue_due(as_of=local(2026, 1, 1))
    contract_change_lines(contract=c, user=world.user, lines=[LineSpec(p, Decimal(2))],
                          from_index=3, as_of=local(2026, 1, 15))  # fmt: skip
    assert charges_pending(contract=c) == []


def test_a_discounted_period_is_not_prorated_and_the_audit_says_so(world):
    _immediately(world)
    c, p = _monthly(world)
    discount_add(contract=c, user=world.user, as_of=local(2025, 12, 20), kind="percent",
                 value="100", periods=1, trial=True, reason="Trial")  # fmt: skip
    issue_due(as_of=local(2026, 1, 1))
    _change(c, world, p, "2", local(2026, 1, 15))
    assert charges_pending(contract=c) == []
    audit = ContractChange.objects.filter(contract=c, action="lines_changed").get()
    assert audit.changes["prorated"]["skipped_discounted_periods"] == [0]


def test_a_change_without_an_instant_is_prorated_from_today(world, monkeypatch):
    _immediately(world)
    c, p = _monthly(world)
    issue_due(as_of=local(2026, 1, 1))
    monkeypatch.setattr(clock, "now", lambda: local(2026, 1, 31, 23, 30))
    contract_change_lines(contract=c, user=world.user, lines=[LineSpec(p, Decimal(2))])
    (ch,) = charges_pending(contract=c)
    assert ch.unit_price == Decimal("3.23")  # the last day: 1/31 of 100.00


def test_the_settings_page_saves_the_policy_and_a_post_without_it_keeps_it(world):
    from django.test import Client

    from recurent.companies.models import Company

    web = Client()
    web.force_login(world.user)
    page = web.get("/settings/").content.decode()
    assert 'name="proration_policy"' in page and "se aplică imediat" in page
    c = Company.objects.get(pk=world.company.pk)
    body = {
        "legal_name": c.legal_name, "cui": c.cui, "street": c.street, "city": c.city,
        "county": c.county, "country": "RO", "postal_code": c.postal_code, "iban": c.iban,
        "bank": c.bank, "vat_payer": "on", "email": c.email, "phone": "", "trade_register": "",
        "share_capital": "",
    }  # fmt: skip
    assert web.post("/settings/", body | {"proration_policy": "immediately"}).status_code == 302
    c.refresh_from_db()
    assert c.proration_policy == "immediately"
    assert web.post("/settings/", body).status_code == 302
    c.refresh_from_db()
    assert c.proration_policy == "immediately"
    r = web.post("/settings/", body | {"proration_policy": "sometimes"})
    assert r.status_code == 200 and "proration_policy" in r.context["form"].errors


def test_the_api_change_of_lines_is_prorated_and_its_charge_listed(world, admin_api, monkeypatch):
    _immediately(world)
    c, p = _monthly(world)
    issue_due(as_of=local(2026, 1, 1))
    monkeypatch.setattr(clock, "now", lambda: local(2026, 1, 22, 10))
    r = admin_api.post(
        f"/contracts/{c.pk}/lines", {"lines": [{"product_id": p.pk, "quantity": "2"}]}
    )
    assert r.status_code == 200, r.content
    listed = admin_api.get(f"/contracts/{c.pk}/charges").json()
    assert [(x["kind"], Decimal(x["unit_price"])) for x in listed] == [("charge", Decimal("32.26"))]


def test_the_schedule_and_the_contract_page_show_the_prorated_charge_of_the_next_invoice(
    world, monkeypatch
):
    import json
    from io import StringIO

    from django.core.management import call_command
    from django.test import Client

    _immediately(world)
    c, p = _monthly(world)
    issue_due(as_of=local(2026, 1, 1))
    _change(c, world, p, "2", local(2026, 1, 22))
    monkeypatch.setattr(clock, "now", lambda: local(2026, 1, 22, 10))
    out = StringIO()
    call_command("schedule", str(c.pk), "--count", "2", "--json", stdout=out)
    rows = json.loads(out.getvalue())
    assert [r["net"] for r in rows] == ["232.26", "200.00"]
    assert [(x["kind"], x["unit_price"]) for x in rows[0]["charges"]] == [("charge", "32.2600")]
    assert "charges" not in rows[1]
    text = StringIO()
    call_command("schedule", str(c.pk), "--count", "1", stdout=text)
    assert "+ 1 x 32.2600 RON  Abonament: 1 → 2, 22.01.2026-31.01.2026 (10/31 zile)" in (
        text.getvalue()
    )
    web = Client()
    web.force_login(world.user)
    page = web.get(f"/contracts/{c.pk}/").content.decode()
    assert "Abonament: 1 → 2, 22.01.2026-31.01.2026 (10/31 zile)" in page
    assert "281,03" in page.split('class="num upcoming-total"')[1]  # 232.26 + 21 % VAT


def test_the_api_reads_the_policy_and_only_an_administrator_changes_it(
    world, admin_api, viewer_api
):
    assert admin_api.get("/company/proration").json() == {"proration_policy": "next_period"}
    r = _put(admin_api, {"proration_policy": "immediately"})
    assert r.status_code == 200 and r.json() == {"proration_policy": "immediately"}
    assert viewer_api.get("/company/proration").json() == {"proration_policy": "immediately"}
    assert _put(viewer_api, {"proration_policy": "next_period"}).status_code == 403
    bad = _put(admin_api, {"proration_policy": "sometimes"})
    assert bad.status_code == 422 and "proration_policy" in bad.content.decode()
    world.company.refresh_from_db()
    assert world.company.proration_policy == "immediately"


def _put(api, body):
    import json

    return api.http.put("/api/v1/company/proration", json.dumps(body),
                        content_type="application/json", headers=api._headers(None))  # fmt: skip


def test_the_contract_form_change_is_prorated_from_the_day_it_is_saved(world, monkeypatch):
    from django.urls import reverse

    from recurent.engine.cycles import BUCHAREST
    from tests.web.conftest import login

    _immediately(world)
    c, p = _monthly(world)
    issue_due(as_of=local(2026, 1, 1))
    monkeypatch.setattr(clock, "now", lambda: local(2026, 1, 22, 10))
    page = login(world.user).get(reverse("web:contract-edit", args=[c.pk]))
    body = {k: ("" if v is None else v) for k, v in page.context["form"].initial.items()}
    body.update({
        "first_issue_at": c.first_issue_at.astimezone(BUCHAREST).strftime("%Y-%m-%dT%H:%M"),
        "client": c.client_id, "series": c.series_id, "issuer": world.user.pk, "ends_at": "",
        "cycle": c.cycle, "currency": "RON", "invoice_currency": "RON",
        "signed_on": c.signed_on.isoformat(), "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0", "lines-0-product": p.pk, "lines-0-quantity": "2",
    })  # fmt: skip
    r = login(world.user).post(reverse("web:contract-edit", args=[c.pk]), body)
    assert r.status_code == 302, r.content.decode()[:3000]
    assert [(ch.kind, ch.unit_price) for ch in charges_pending(contract=c)] == [
        ("charge", Decimal("32.26"))
    ]


def test_periods_due_but_not_yet_invoiced_keep_the_old_price_for_their_days(world):
    _immediately(world)
    c, p = _monthly(world)
    issue_due(as_of=local(2026, 1, 1))  # then the worker stops until March 11
    _change(c, world, p, "2", local(2026, 3, 11))
    got = [(ch.kind, ch.unit_price) for ch in charges_pending(contract=c)]
    # February (all of it before the change) and 1..10 March go back to the old price.
    assert got == [("credit", Decimal("100.00")), ("credit", Decimal("32.26"))]
    issue_due(as_of=local(2026, 3, 11))
    feb, mar = Invoice.objects.filter(contract=c, period_start__gte="2026-02-01").order_by(
        "period_start"
    )
    # 100.00 for February + 10/31 x 100 + 21/31 x 200 for March = 267.74
    assert (feb.net_total, mar.net_total) == (Decimal("67.74"), Decimal("200.00"))
