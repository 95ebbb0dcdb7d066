"""Pages read the state the services write (issue 16, item 9): an unsubscribe from the portal shows
its end on the contract page; a paid invoice reads "paid" in the contract's and client's lists."""

import html
import re
from datetime import date

from django.urls import reverse

from recurent.payments.services import payment_record
from recurent.portal.services import portal_unsubscribe
from tests.factories import local


def _page(client, name, pk) -> str:
    return html.unescape(client.get(reverse(name, args=[pk])).content.decode())


def test_after_an_unsubscribe_the_contract_page_shows_the_end(admin_client, data):
    before = _page(admin_client, "web:contract", data.contract.pk)
    assert re.search(r'id="contract-ends">până la anulare<', before)
    portal_unsubscribe(client=data.client, contract=data.contract, as_of=local(2026, 3, 1, 12))
    page = _page(admin_client, "web:contract", data.contract.pk)
    ends = re.search(r'id="contract-ends">(.*?)</dd>', page)[1]
    assert "până la anulare" not in ends and "după perioada care se încheie" in ends, ends


def test_a_paid_invoice_reads_paid_on_the_contract_and_client_pages(admin_client, data, world):
    inv = data.invoice
    payment_record(
        company=world.company, client=data.client, date=date(2026, 3, 2), amount=inv.gross_total,
        allocations=[(inv, inv.gross_total)], as_of=local(2026, 3, 2, 10), user=world.user,
    )  # fmt: skip
    for name, pk in (("web:contract", data.contract.pk), ("web:client", data.client.pk)):
        page = _page(admin_client, name, pk)
        row = re.search(rf"{re.escape(inv.full_number)}</a>.*?</tr>", page, re.S)[0]
        assert "Încasată" in row and "Emisă" not in row, row
