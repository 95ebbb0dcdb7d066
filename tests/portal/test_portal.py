"""The client portal: one client's data only, signed expiring revocable links, unsubscribe and
change of subscription (audited, confirmed by email, notified to the company)."""

import hashlib
import time
from decimal import Decimal as D
from unittest import mock

import pytest
from django.core import signing
from django.db import transaction
from django.urls import reverse

from recurent.clients import portal_links as links
from recurent.clients.models import Client
from recurent.contracts.models import ContractChange, ContractLine
from recurent.documents.models import InvoiceDocument
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from recurent.mail.models import OutboxKind, OutboxMessage, OutboxState
from recurent.mail.sender import send_pending
from recurent.portal.services import portal_revoke, portal_unsubscribe
from tests import factories as f
from tests.factories import local

NOW = local(2026, 2, 5, 12)


@pytest.fixture
def two(world):
    """Two clients of the company with one monthly contract and one invoice each."""
    p = f.product(world.company, unit_price=D("100"))
    out = []
    for _ in range(2):
        cl = f.client(world.company)
        out.append(
            (
                cl,
                f.contract(
                    world.company,
                    issuer=world.user,
                    client_=cl,
                    lines=[(p, "2")],
                    first=local(2026, 1, 31),
                ),
            )
        )
    issue_due(as_of=local(2026, 1, 31, 10))
    # The company lets its clients change these lines from the portal.
    ContractLine.objects.filter(contract__company=world.company).update(self_service=True)
    return out


def notices() -> dict[tuple[str, ...], OutboxMessage]:
    """The queued notices by their recipients."""
    rows = OutboxMessage.objects.filter(kind=OutboxKind.NOTICE)
    return {tuple(m.recipients): m for m in rows}


def path(client_id, name="portal:home", **kw):
    token = links.portal_token(client_id)
    return reverse(name, kwargs={"token": token, **kw})


def test_the_portal_shows_this_clients_invoices_bank_details_and_amount_due(client, world, two):
    (a, ca), (b, cb) = two
    inv_a = Invoice.objects.get(client=a)
    inv_b = Invoice.objects.get(client=b)
    with mock.patch("recurent.common.clock.now", return_value=NOW):
        r = client.get(path(a.pk))
    page = r.content.decode()
    assert r.status_code == 200
    assert inv_a.full_number in page and inv_b.full_number not in page and b.name not in page
    assert world.company.iban in page and "242,00" in page
    assert ca.number in page and cb.number not in page


def test_links_to_other_clients_ids_answer_404(client, world, two):
    (a, ca), (b, cb) = two
    inv_b = Invoice.objects.get(client=b)
    InvoiceDocument.objects.create(invoice=inv_b, kind="pdf", filename="b.pdf", content_type="application/pdf",
                                   content=b"%PDF-b", sha256=hashlib.sha256(b"%PDF-b").hexdigest())  # fmt: skip
    assert (
        client.get(path(a.pk, "portal:document", invoice_id=inv_b.pk, kind="pdf")).status_code
        == 404
    )
    r = client.post(path(a.pk, "portal:unsubscribe", contract_id=cb.pk))
    assert r.status_code == 404
    r = client.post(
        path(a.pk, "portal:change", contract_id=cb.pk), {f"qty_{cb.lines.get().pk}": "5"}
    )
    assert r.status_code == 404
    cb.refresh_from_db()
    assert cb.final_index is None and cb.lines.count() == 1
    assert (
        client.get(path(b.pk, "portal:document", invoice_id=inv_b.pk, kind="pdf")).content
        == b"%PDF-b"
    )


def test_tampered_expired_and_revoked_links_fail(client, world, two):
    (a, _), (b, _) = two
    token = links.portal_token(a.pk)
    assert client.get(reverse("portal:home", args=[token])).status_code == 200
    # Tampered: another client's id with this signature, or a flipped character.
    value, _, rest = token.partition(":")
    forged = f"{b.pk}.0:{rest}"
    assert client.get(reverse("portal:home", args=[forged])).status_code == 403
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get(reverse("portal:home", args=[flipped])).status_code == 403
    # Expired: 61 days later.
    later = time.time() + 61 * 86400
    with mock.patch("django.core.signing.time.time", return_value=later):
        r = client.get(reverse("portal:home", args=[token]))
    assert r.status_code == 403 and "Linkul a expirat." in r.content.decode()
    assert "The link has expired." in r.content.decode()  # whose link it was is not known
    # Revoked: the old link replayed after revocation fails, a new one works.
    portal_revoke(client=a, as_of=NOW, user=world.user)
    assert client.get(reverse("portal:home", args=[token])).status_code == 403
    with pytest.raises(links.RevokedLink):
        links.client_from_token(token)
    assert client.get(path(a.pk)).status_code == 200
    assert client.get(reverse("portal:home", args=[links.portal_token(b.pk)])).status_code == 200


def test_a_link_of_the_first_format_works_until_the_first_revocation(client, world, two):
    (a, _), _ = two
    legacy = signing.TimestampSigner(salt=links.SALT).sign(str(a.pk))
    assert links.client_from_token(legacy) == a.pk
    portal_revoke(client=a, as_of=NOW, user=world.user)
    assert client.get(reverse("portal:home", args=[legacy])).status_code == 403


def test_unsubscribe_ends_at_the_end_of_the_paid_period_audited_and_emailed(client, world, two):
    (a, ca), _ = two
    with mock.patch("recurent.common.clock.now", return_value=NOW):
        r = client.post(path(a.pk, "portal:unsubscribe", contract_id=ca.pk))
    assert r.status_code == 302
    ca.refresh_from_db()
    assert ca.final_index == 0 and ca.status == "cancelled"  # the January period was the last one
    change = ContractChange.objects.filter(contract=ca, action="cancel_at_period_end").get()
    assert change.actor == "portal" and change.user is None
    # Queued in the outbox (sent by the mail worker through the company's server).
    sent = notices()
    assert set(sent) == {tuple(a.emails), (world.company.email,)}
    confirmation, notice = sent[tuple(a.emails)], sent[(world.company.email,)]
    assert {m.state for m in sent.values()} == {OutboxState.PENDING}
    assert {m.queued_at for m in sent.values()} == {NOW}
    assert confirmation.subject == (
        f"{world.company.legal_name}: confirmare modificare abonament {ca.number}"
    )
    assert confirmation.body_text == (
        f"Bună ziua,\n\nAm înregistrat cererea dumneavoastră pentru contractul {ca.number}:\n"
        "dezabonare: abonamentul se încheie la sfârșitul perioadei facturate.\n\n"
        f"O zi bună,\n{world.company.legal_name}\n"
    )
    assert notice.subject == f"Portal: {a.name} a modificat contractul {ca.number}"
    assert notice.body_text == (
        f"Clientul {a.name} a făcut din portal următoarea modificare la contractul {ca.number}:\n"
        "dezabonare: abonamentul se încheie la sfârșitul perioadei facturate.\n"
    )
    assert issue_due(as_of=local(2026, 3, 1)).issued == 1  # only the other client's February
    assert not Invoice.objects.filter(contract=ca, period_index=1).exists()


def test_change_quantities_and_switch_to_a_self_service_product_from_the_next_period(
    client, world, two
):
    (a, ca), _ = two
    plus = f.product(world.company, unit_price=D("150"), self_service=True, name="Plus")
    secret = f.product(world.company, unit_price=D("10"), self_service=False)
    line = ca.lines.get()
    old_name = line.product.name
    r = client.post(
        path(a.pk, "portal:change", contract_id=ca.pk),
        {f"qty_{line.pk}": "3", f"product_{line.pk}": str(secret.pk)},
        follow=True,
    )
    assert "Produs: acest produs nu poate fi ales din portal" in r.content.decode()
    assert not OutboxMessage.objects.filter(kind=OutboxKind.NOTICE).exists()
    client.post(
        path(a.pk, "portal:change", contract_id=ca.pk),
        {f"qty_{line.pk}": "3", f"product_{line.pk}": str(plus.pk)},
    )
    new = ContractLine.objects.get(contract=ca, until_index__isnull=True)
    assert (new.product_id, new.quantity, new.from_index) == (plus.pk, D("3"), 1)
    assert ContractChange.objects.get(contract=ca, action="lines_changed").actor == "portal"
    sent = notices()
    assert len(sent) == 2
    what = f"modificare de la următoarea perioadă: {old_name} → Plus; Plus: cantitate 2 → 3\n"
    assert sent[tuple(a.emails)].body_text.endswith(
        what + "\nO zi bună,\n" + world.company.legal_name + "\n"
    )
    assert sent[(world.company.email,)].body_text.endswith(what)
    issue_due(as_of=local(2026, 2, 28, 10))
    feb = Invoice.objects.get(contract=ca, period_index=1)
    assert feb.net_total == D("450.00")
    jan = Invoice.objects.get(contract=ca, period_index=0)
    assert jan.net_total == D("200.00")  # an invoiced period keeps its lines


def test_a_zero_quantity_is_refused(client, world, two):
    (a, ca), _ = two
    line = ca.lines.get()
    r = client.post(
        path(a.pk, "portal:change", contract_id=ca.pk), {f"qty_{line.pk}": "0"}, follow=True
    )
    assert "Cantitate: trebuie să fie mai mare decât zero" in r.content.decode()
    assert ca.lines.count() == 1


def test_the_company_revokes_links_from_its_screen(client, world, two):
    (a, _), _ = two
    # One signing instant: a token carries its second, and a busy machine may cross one.
    signed_at = time.time()
    with mock.patch("django.core.signing.time.time", return_value=signed_at):
        token = links.portal_token(a.pk)
        url = reverse("portal:link-admin", args=[a.pk])
        assert (
            client.post(url).status_code == 302
            and client.get(reverse("portal:home", args=[token])).status_code == 200
        )
        client.force_login(world.user)
        assert token in client.get(url).content.decode()
    client.post(url)
    assert client.get(reverse("portal:home", args=[token])).status_code == 403


def test_a_romanian_client_reads_romanian_and_a_foreign_one_english(client, world, two):
    (a, ca), (b, cb) = two
    Client.objects.filter(pk=b.pk).update(country="DE", county="")
    with mock.patch("recurent.common.clock.now", return_value=NOW):
        ro = client.get(path(a.pk))
        en = client.get(path(b.pk))
    assert ro["Content-Language"] == "ro" and en["Content-Language"] == "en"
    assert type(ro["Content-Language"]) is str  # a WSGI server refuses anything else
    page = ro.content.decode()
    assert '<html lang="ro">' in page
    for text in ("De plată", "Total de plată", "242,00\u00a0lei", "Abonamente",
                 "Modifică de la următoarea perioadă", "neîncasată"):  # fmt: skip
        assert text in page, text
    page = en.content.decode()
    assert '<html lang="en">' in page
    for text in ("To pay", "Total to pay", "242.00\u00a0RON", "Subscriptions",
                 "Change from the next period", "unpaid", "Pay by bank transfer to"):  # fmt: skip
        assert text in page, text
    assert "Abonamente" not in page and "De plată" not in page


def test_the_clients_own_language_wins_over_its_country_and_over_the_visitors_cookie(
    client, world, two
):
    (a, ca), (b, _) = two
    Client.objects.filter(pk=a.pk).update(language="en")  # in Romania, asked for English
    Client.objects.filter(pk=b.pk).update(country="DE", county="", language="ro")
    client.cookies["django_language"] = "en"  # the visitor's browser says English
    assert "Subscriptions" in client.get(path(a.pk)).content.decode()
    assert "Abonamente" in client.get(path(b.pk)).content.decode()
    # The messages after an action come in the client's language too.
    line = ca.lines.get()
    r = client.post(
        path(a.pk, "portal:change", contract_id=ca.pk), {f"qty_{line.pk}": "0"}, follow=True
    )
    assert "Quantity: must be greater than zero (to stop, unsubscribe)" in r.content.decode()
    r = client.post(path(a.pk, "portal:unsubscribe", contract_id=ca.pk), follow=True)
    assert "The subscription will end at the end of the paid period." in r.content.decode()
    # The confirmation in the client's language; the company's notice in Romanian.
    sent = notices()
    confirmation, notice = sent[tuple(a.emails)], sent[(world.company.email,)]
    assert confirmation.subject == (
        f"{world.company.legal_name}: confirmation of the change to subscription {ca.number}"
    )
    assert confirmation.body_text == (
        f"Hello,\n\nWe have recorded your request for contract {ca.number}:\n"
        "unsubscribed: the subscription ends at the end of the invoiced period.\n\n"
        f"Have a good day,\n{world.company.legal_name}\n"
    )
    assert notice.subject == f"Portal: {a.name} a modificat contractul {ca.number}"
    assert "dezabonare: abonamentul se încheie" in notice.body_text


def test_a_change_that_rolls_back_queues_no_message(world, two):
    (a, ca), _ = two
    with pytest.raises(RuntimeError), transaction.atomic():
        portal_unsubscribe(client=a, contract=ca, as_of=NOW)
        assert len(notices()) == 2
        raise RuntimeError("something after the change fails")
    assert not OutboxMessage.objects.exists()
    ca.refresh_from_db()
    assert ca.final_index is None


def test_the_confirmation_arrives_through_the_companys_own_smtp_server(mail_world, two):
    (a, ca), _ = two
    Client.objects.filter(pk=a.pk).update(emails=["ana@client.ro", "not an address"])
    a.refresh_from_db()
    portal_unsubscribe(client=a, contract=ca, as_of=NOW)
    assert send_pending(limit=10, as_of=NOW) == 2  # no invoice documents to wait for
    got = {tuple(r.rcpt_tos): r for r in mail_world.smtp.received}
    assert set(got) == {("ana@client.ro",), (mail_world.company.email,)}
    msg = got[("ana@client.ro",)].message
    assert got[("ana@client.ro",)].mail_from == "facturi@demo.ro"
    assert msg["From"] == "Recurent Demo <facturi@demo.ro>"
    assert msg["Subject"] == (
        f"{mail_world.company.legal_name}: confirmare modificare abonament {ca.number}"
    )
    assert "dezabonare: abonamentul se încheie" in msg.get_content()
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {OutboxState.SENT}
    assert msg["Message-ID"] in set(OutboxMessage.objects.values_list("message_id", flat=True))


def test_the_companys_portal_link_page_follows_the_users_language(client, world, two):
    (a, _), _ = two
    client.force_login(world.user)
    url = reverse("portal:link-admin", args=[a.pk])
    assert "Revocă toate linkurile trimise până acum" in client.get(url).content.decode()
    client.post(reverse("web:set-language"), {"language": "en"})
    assert "Revoke every link sent so far" in client.get(url).content.decode()
