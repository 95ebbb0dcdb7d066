"""The client portal lists the client's proformas next to its invoices: open, paid or expired,
with the PDF as sent and, when the company takes cards, the link to pay an open one online."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from django.urls import reverse

from recurent.clients import portal_links as links
from recurent.documents.proforma import render
from recurent.invoices.models import InvoiceDraft
from recurent.invoices.oneoff import DraftLineSpec, invoice_create_draft
from recurent.invoices.proforma import proforma_issue
from recurent.invoices.proforma_period import proformas_expire
from recurent.payments.proformas import proforma_payment_record
from tests import factories as f
from tests.factories import local
from tests.gateways.conftest import stripe_account, stripe_fake  # noqa: F401


def _proforma(world, client, price):
    d = invoice_create_draft(
        company=world.company, client=client, series=world.series,
        as_of=local(2026, 2, 2, 9), user=world.user,
        lines=[DraftLineSpec(quantity=Decimal(1), name="Curs", unit_price=Decimal(price))],
    )  # fmt: skip
    return proforma_issue(draft=d, as_of=local(2026, 2, 2, 10), user=world.user, render=render)


def _three(world):
    """One client's proformas: open and half paid (PF-1), paid in full (PF-2), expired (PF-3)."""
    cl = f.client(world.company)
    open_, paid, expired = (_proforma(world, cl, p) for p in ("100", "200", "300"))
    for d, amount in ((open_, "60.50"), (paid, "242.00")):
        proforma_payment_record(proforma=d, date=date(2026, 2, 3), amount=Decimal(amount),
                                as_of=local(2026, 2, 3, 10), user=world.user)  # fmt: skip
    InvoiceDraft.objects.filter(pk=expired.pk).update(proforma_expires_on=date(2026, 2, 10))
    assert proformas_expire(limit=10, as_of=local(2026, 2, 11, 9)) == 1
    paid.refresh_from_db()
    assert paid.invoice is not None  # the payment covering it issued the invoice
    return cl, open_, paid, expired


def _rows(html: str) -> dict[str, str]:
    """The proformas table's rows by proforma number: its state and what the row says."""
    table = html.split('id="portal-proformas"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr data-state="(\w+)">(.*?)</tr>', table, re.S)
    return {re.search(r"PF-\d+", body).group(0): (state, body) for state, body in rows}


def test_the_portal_lists_open_paid_and_expired_proformas_with_their_pdf(world, client):
    cl, open_, paid, expired = _three(world)
    other = _proforma(world, f.client(world.company), "50")  # another client's: never shown
    token = links.portal_token(cl.pk)
    page = client.get(reverse("portal:home", args=[token]))
    assert page.status_code == 200
    html = page.content.decode()
    rows = _rows(html)
    assert set(rows) == {open_.proforma_number, paid.proforma_number, expired.proforma_number}
    state, body = rows[open_.proforma_number]
    assert state == "open" and "60,50" in body  # 121.00 less the 60.50 paid
    assert "neîncasată" in body
    state, body = rows[paid.proforma_number]
    assert state == "paid" and paid.invoice.full_number in body and "încasată" in body
    assert rows[expired.proforma_number][0] == "expired" and "expirată" in html
    assert other.proforma_number not in html
    assert "/gateways/" not in html.split('id="portal-proformas"', 1)[1]  # no card provider

    pdf = client.get(reverse("portal:proforma-pdf", args=[token, open_.pk]))
    assert pdf.status_code == 200 and bytes(pdf.content) == bytes(open_.proforma_pdf)
    assert client.get(reverse("portal:proforma-pdf", args=[token, other.pk])).status_code == 404


def test_with_card_payments_an_open_proforma_has_its_pay_link(world, client, stripe_account):  # noqa: F811
    cl, open_, paid, expired = _three(world)
    html = client.get(reverse("portal:home", args=[links.portal_token(cl.pk)])).content.decode()
    rows = _rows(html)
    assert "/gateways/pay-proforma/" in rows[open_.proforma_number][1]
    assert "/gateways/pay-proforma/" not in rows[paid.proforma_number][1]
    assert "/gateways/pay-proforma/" not in rows[expired.proforma_number][1]
    link = re.search(r'href="[^"]*(/gateways/pay-proforma/[^"]+)"', rows[open_.proforma_number][1])
    assert client.get(link.group(1)).status_code == 200  # the proforma's pay page opens
