from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from lxml import etree

from recurent.common import events
from recurent.documents.models import InvoiceDocument
from recurent.efactura.connection import connection_complete, connection_configure
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local

from .fake_anaf import FakeAnaf

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "efactura" / "samples" / "valid"
NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}
EVENTS: list[tuple[int, str, dict]] = []


@events.listen
def _record(company_id: int, event_type: str, payload: dict) -> None:
    if not event_type.startswith("contract."):  # the set-up's contracts announce themselves too
        EVENTS.append((company_id, event_type, payload))


@pytest.fixture
def emitted():
    EVENTS.clear()
    return EVENTS


@pytest.fixture
def anaf(settings):
    fake = FakeAnaf().start()
    settings.RECURENT_EFACTURA = fake.settings()
    yield fake
    fake.stop()


@pytest.fixture
def connected(world, anaf):
    """The world's company connected to the fake SPV through the real OAuth exchange."""
    conn = connection_configure(
        company=world.company, environment="test", client_id=anaf.client_id,
        client_secret=anaf.client_secret, auto_upload=True,
    )  # fmt: skip
    return connection_complete(conn=conn, code=anaf.new_code(), as_of=local(2026, 1, 31, 8))


def xml_for(inv: Invoice) -> bytes:
    """A valid sample invoice from ../shared, renumbered as ``inv`` (read at test time)."""
    root = etree.parse(str(SAMPLES / "ron-invoice-bucharest-buyer.xml")).getroot()
    root.find("cbc:ID", NS).text = inv.full_number
    root.find("cbc:IssueDate", NS).text = inv.issue_date.isoformat()
    buyer = inv.buyer["tax_id"]
    for el in root.iterfind("cac:AccountingCustomerParty//cbc:CompanyID", NS):
        el.text = buyer
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def ensure_xml(inv: Invoice) -> None:
    from recurent.documents import api

    if api.document(inv.pk, "xml") is not None:
        return
    content = xml_for(inv)
    fields = dict(invoice=inv, kind="xml", filename=f"{inv.full_number}.xml",
                  content_type="application/xml", content=content,
                  sha256=hashlib.sha256(content).hexdigest())  # fmt: skip
    if any(fl.name == "valid" for fl in InvoiceDocument._meta.get_fields()):
        fields["valid"] = True
    InvoiceDocument.objects.filter(invoice=inv, kind="xml").delete()
    InvoiceDocument.objects.create(**fields)


def issue_one(world, when=None) -> Invoice:
    """One invoice issued by the real engine, with its e-Factura XML stored."""
    when = when or local(2026, 1, 31, 9)
    f.contract(world.company, issuer=world.user, first=when)
    res = issue_due(as_of=when)
    assert res.issued == 1
    inv = Invoice.objects.order_by("-pk").first()
    ensure_xml(inv)
    return inv
