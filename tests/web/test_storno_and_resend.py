"""Storno from the invoice page (whole, or chosen lines and quantities) and email resend."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse

from recurent.invoices.models import Invoice, InvoiceKind
from recurent.mail.models import OutboxMessage
from tests import factories as f
from tests.factories import local


def _two_line_invoice(world) -> Invoice:
    from recurent.invoices.services import issue_due

    a = f.product(world.company, code="HOST", name="Găzduire", unit_price="100.00")
    b = f.product(world.company, code="SUP", name="Suport", unit_price="50.00")
    f.contract(
        world.company, issuer=world.user, lines=[(a, "3"), (b, "1")], first=local(2026, 1, 31)
    )
    issue_due(as_of=local(2026, 1, 31, 10, 0))
    return Invoice.objects.get(kind=InvoiceKind.INVOICE)


def test_a_partial_storno_credits_the_chosen_quantities_and_links_both_ways(admin_client, world):
    inv = _two_line_invoice(world)
    host = inv.lines.get(position=1)
    page = admin_client.get(reverse("web:invoice", args=[inv.pk])).content.decode()
    storno_url = reverse("web:invoice-storno", args=[inv.pk])
    assert storno_url in page
    form = admin_client.get(storno_url).content.decode()
    assert f'name="qty-{host.pk}"' in form
    # When two of the three hosting months are credited
    r = admin_client.post(storno_url, {"mode": "lines", f"qty-{host.pk}": "2"})
    credit = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert r.status_code == 302 and r["Location"] == reverse("web:invoice", args=[credit.pk])
    # Then the credit note has one line of -2 and references the invoice, which links back
    assert [(li.position, li.quantity) for li in credit.lines.all()] == [(1, Decimal("-2"))]
    assert credit.credited_invoice_id == inv.pk
    credit_page = admin_client.get(r["Location"]).content.decode()
    assert inv.full_number in credit_page
    original = admin_client.get(reverse("web:invoice", args=[inv.pk])).content.decode()
    assert credit.full_number in original
    inv.refresh_from_db()
    assert inv.status == "partially_credited"


def test_too_much_is_refused_next_to_the_form_and_nothing_is_issued(admin_client, world):
    inv = _two_line_invoice(world)
    host = inv.lines.get(position=1)
    url = reverse("web:invoice-storno", args=[inv.pk])
    r = admin_client.post(url, {"mode": "lines", f"qty-{host.pk}": "4"})
    assert r.status_code == 400
    assert "depășește ce a rămas de stornat" in r.content.decode()
    r = admin_client.post(url, {"mode": "lines", f"qty-{host.pk}": "doi"})
    assert r.status_code == 400 and "nu este o cantitate" in r.content.decode()
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()


def test_a_whole_storno_cancels_the_invoice_and_hides_the_button(admin_client, world):
    inv = _two_line_invoice(world)
    url = reverse("web:invoice-storno", args=[inv.pk])
    assert admin_client.post(url, {"mode": "whole"}).status_code == 302
    inv.refresh_from_db()
    assert inv.status == "cancelled"
    credit = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert credit.gross_total == -inv.gross_total
    assert url not in admin_client.get(reverse("web:invoice", args=[inv.pk])).content.decode()
    # A second storno is refused by the service.
    r = admin_client.post(url, {"mode": "whole"})
    assert r.status_code == 400
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1


def test_a_viewer_cannot_storno(viewer_client, world, data):
    url = reverse("web:invoice-storno", args=[data.invoice.pk])
    assert viewer_client.get(url).status_code == 403
    assert viewer_client.post(url, {"mode": "whole"}).status_code == 403
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()


def test_another_companys_invoice_cannot_be_reversed(admin_client, data, other_company):
    url = reverse("web:invoice-storno", args=[other_company.invoice.pk])
    assert admin_client.post(url, {"mode": "whole"}).status_code == 404


def test_resend_queues_the_invoice_email_again(admin_client, data):
    before = OutboxMessage.objects.filter(invoice=data.invoice).count()
    r = admin_client.post(reverse("web:invoice-resend", args=[data.invoice.pk]))
    assert r.status_code == 302
    msgs = OutboxMessage.objects.filter(invoice=data.invoice)
    assert msgs.count() == before + 1 and msgs.order_by("-pk").first().manual
