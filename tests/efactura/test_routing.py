"""Each invoice goes to the ANAF endpoint its buyer calls for, with the query parameters ANAF asks for:
a natural person (with a CNP or without one) to ``uploadb2c``, a company to ``upload``; a credit
note as ``standard=CN``; a buyer outside Romania with ``extern=DA``."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from recurent.documents.services import invoice_render
from recurent.efactura.models import EfacturaState, EState
from recurent.efactura.services import efactura_tick
from recurent.efactura.spv import upload_route
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from recurent.invoices.storno import invoice_storno
from tests import factories as f
from tests.factories import local

T0 = local(2026, 1, 31, 9)
NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}


@pytest.mark.parametrize(
    ("kind", "country", "credit", "endpoint", "params"),
    [
        ("company", "RO", False, "upload", {"standard": "UBL", "cif": "18547290"}),
        ("company", "RO", True, "upload", {"standard": "CN", "cif": "18547290"}),
        ("individual", "RO", False, "uploadb2c", {"standard": "UBL", "cif": "18547290"}),
        ("individual", "RO", True, "uploadb2c", {"standard": "CN", "cif": "18547290"}),
        ("company", "DE", False, "upload", {"standard": "UBL", "cif": "18547290", "extern": "DA"}),
        ("company", "US", True, "upload", {"standard": "CN", "cif": "18547290", "extern": "DA"}),
        ("individual", "FR", False, "uploadb2c",
         {"standard": "UBL", "cif": "18547290", "extern": "DA"}),
    ],
)  # fmt: skip
def test_the_route_follows_the_buyer_and_the_document(kind, country, credit, endpoint, params):
    route = upload_route(buyer_kind=kind, buyer_country=country, credit_note=credit)
    assert (route.endpoint, route.params("RO18547290")) == (endpoint, params)


def _issue_for(world, buyer, when=T0) -> Invoice:
    f.contract(world.company, issuer=world.user, client_=buyer, first=when)
    assert issue_due(as_of=when).issued == 1
    return Invoice.objects.order_by("-pk").first()


def _upload(inv: Invoice, at) -> dict:
    """Render the XML with the real builder and check, let the poller upload it, and return what
    the ANAF stand-in received."""
    [xml] = invoice_render(invoice=inv, kinds=("xml",))
    assert xml.valid, xml.findings
    efactura_tick(limit=50, as_of=at)
    st = EfacturaState.objects.get(pk=inv.pk)
    assert st.state == EState.UPLOADED, st.anaf_state
    return st


def test_an_individual_with_a_cnp_goes_to_uploadb2c(world, anaf, connected):
    buyer = f.client(world.company, kind="individual", name="Ștefan Popescu", tax_id=f.CNP)
    st = _upload(_issue_for(world, buyer), T0)
    up = anaf.uploads[st.upload_index]
    assert up["endpoint"] == "uploadb2c"
    assert up["params"] == {"standard": "UBL", "cif": "18547290"}
    assert anaf.hits["upload"] == 0
    # The invoice's history says where it went.
    assert [a.detail for a in st.attempts.all()] == ["accepted for processing at uploadb2c"]


def test_an_individual_without_a_cnp_goes_to_uploadb2c_with_thirteen_zeros(world, anaf, connected):
    buyer = f.client(world.company, kind="individual", name="Ioana Țăranu", tax_id="")
    st = _upload(_issue_for(world, buyer), T0)
    up = anaf.uploads[st.upload_index]
    assert (up["endpoint"], up["params"]) == ("uploadb2c", {"standard": "UBL", "cif": "18547290"})
    doc = etree.fromstring(up["xml"])
    ids = doc.xpath("cac:AccountingCustomerParty//cbc:CompanyID/text()", namespaces=NS)
    assert ids == ["0000000000000"]


def test_a_company_goes_to_upload_and_its_credit_note_as_cn(world, anaf, connected):
    inv = _issue_for(world, f.client(world.company))
    st = _upload(inv, T0)
    assert (anaf.uploads[st.upload_index]["endpoint"], anaf.uploads[st.upload_index]["params"]) == (
        "upload",
        {"standard": "UBL", "cif": "18547290"},
    )
    later = T0 + timedelta(hours=2)
    cn = invoice_storno(invoice=inv, lines=None, as_of=later, user=world.user)
    st = _upload(cn, later)
    up = anaf.uploads[st.upload_index]
    assert (up["endpoint"], up["params"]) == ("upload", {"standard": "CN", "cif": "18547290"})
    assert etree.QName(etree.fromstring(up["xml"])).localname == "CreditNote"


def test_a_consumers_credit_note_goes_to_uploadb2c_as_cn(world, anaf, connected):
    buyer = f.client(world.company, kind="individual", name="Ana Pop", tax_id="")
    inv = _issue_for(world, buyer)
    _upload(inv, T0)
    later = T0 + timedelta(hours=2)
    st = _upload(invoice_storno(invoice=inv, lines=None, as_of=later, user=world.user), later)
    up = anaf.uploads[st.upload_index]
    assert (up["endpoint"], up["params"]) == ("uploadb2c", {"standard": "CN", "cif": "18547290"})


def test_a_buyer_outside_romania_adds_extern_da(world, anaf, connected):
    buyer = f.client(
        world.company, name="Muster GmbH", tax_id="DE811569869", street="Hauptstraße 5",
        city="München", county="", country="DE", postal_code="80331",
    )  # fmt: skip
    st = _upload(_issue_for(world, buyer), T0)
    up = anaf.uploads[st.upload_index]
    assert (up["endpoint"], up["params"]) == (
        "upload",
        {"standard": "UBL", "cif": "18547290", "extern": "DA"},
    )
    assert [a.detail for a in st.attempts.all()] == [
        "accepted for processing at upload (extern=DA)"
    ]


def test_the_client_refuses_a_route_anaf_does_not_know_and_posts_where_told(world, anaf, connected):
    from recurent.efactura.spv import SpvClient, UploadRoute

    client = SpvClient(
        base_url=anaf.base + "/test/FCTEL/rest", access_token=next(iter(anaf.access))
    )
    with pytest.raises(ValueError, match="UBL or CN"):
        client.upload(b"<x/>", cif="18547290", route=UploadRoute("upload", "XYZ"))
    answer = client.upload(b"<x/>", cif="18547290", route=UploadRoute("uploadb2c", "CN"))
    assert answer.upload_index and anaf.uploads[answer.upload_index]["endpoint"] == "uploadb2c"


# --- the matrix: every VAT category and buyer kind, RON and EUR, invoice and credit note -------

# buyer -> (client fields, endpoint, extern)
BUYERS = {
    "ro-company": ({}, "upload", False),
    "person-cnp": ({"kind": "individual", "name": "Ștefan Popescu", "tax_id": f.CNP,
                    "street": "Str. Lungă 9", "city": "Brașov", "county": "BV"}, "uploadb2c", False),
    "person-no-id": ({"kind": "individual", "name": "Ioana Țăranu", "tax_id": "",
                      "street": "Str. Florilor 3", "city": "Iași", "county": "IS"}, "uploadb2c", False),
    "eu-company": ({"name": "Muster GmbH", "tax_id": "DE811569869", "street": "Hauptstraße 5",
                    "city": "München", "county": "", "region": "Bayern", "country": "DE", "postal_code": "80331"},
                   "upload", True),
    "non-eu-company": ({"name": "Alpine Trading AG", "tax_id": "CHE116281710",
                        "street": "Bahnhofstrasse 1", "city": "Zürich", "county": "",
                        "country": "CH", "postal_code": "8001"}, "upload", True),
}  # fmt: skip
# (VAT category, buyer): what a Romanian business invoices. O is what a seller that is not a
# VAT payer issues (every line outside the VAT scope); K only to an EU business with a VAT id,
# G to a buyer outside the EU.
CASES = [
    *[("S", b) for b in BUYERS],
    ("Z", "ro-company"), ("Z", "person-cnp"),
    ("E", "ro-company"), ("E", "person-no-id"),
    ("AE", "ro-company"), ("AE", "eu-company"),
    ("K", "eu-company"),
    ("G", "non-eu-company"),
    ("O", "ro-company"), ("O", "person-no-id"), ("O", "eu-company"), ("O", "non-eu-company"),
]  # fmt: skip


def test_every_category_and_buyer_passes_anaf_and_goes_where_anaf_expects_it(
    world, anaf, connected, tmp_path
):
    from recurent.companies.models import Role
    from recurent.companies.services import membership_grant
    from recurent.efactura.connection import connection_complete, connection_configure
    from tests.documents import scenarios
    from tests.documents.anaf import anaf_check, fatal_rules

    scenarios.eur_rate()
    non_vat = f.company(legal_name="Mic Neplătitor SRL", cui="14399840", vat_payer=False)
    f.series(non_vat)
    membership_grant(user=world.user, company=non_vat, role=Role.ADMIN)
    conn = connection_configure(
        company=non_vat, environment="test", client_id=anaf.client_id,
        client_secret=anaf.client_secret, auto_upload=True,
    )  # fmt: skip
    connection_complete(conn=conn, code=anaf.new_code(), as_of=T0 - timedelta(hours=1))
    cases = {}
    for cat, buyer in CASES:
        for cur in ("RON", "EUR"):
            seller = non_vat if cat == "O" else world.company
            p = f.product(
                seller, currency=cur, unit_price=Decimal("250.50"),
                vat_category="S" if cat == "O" else cat,
                vat_rate="standard" if cat in ("S", "O") else "zero",
            )  # fmt: skip
            client = f.client(seller, **BUYERS[buyer][0])
            k = f.contract(
                seller, issuer=world.user, client_=client, lines=[(p, "2")], first=T0,
                currency=cur, invoice_currency=cur,
            )  # fmt: skip
            cases[k.pk] = (cat, buyer, cur)
    issue_due(as_of=T0)
    later = T0 + timedelta(hours=2)
    docs = []  # (invoice or credit note, category, buyer, name)
    for inv in Invoice.objects.filter(contract_id__in=cases).order_by("pk"):
        cat, buyer, cur = cases[inv.contract_id]
        assert {li.vat_category for li in inv.lines.all()} == {cat}, (cat, buyer, cur)
        cn = invoice_storno(invoice=inv, lines=None, as_of=later, user=world.user)
        docs += [(inv, cat, buyer, f"{cat}-{buyer}-{cur}-invoice"),
                 (cn, cat, buyer, f"{cat}-{buyer}-{cur}-credit")]  # fmt: skip
    assert len(docs) == 2 * 2 * len(CASES)

    paths = []
    for doc, cat, buyer, name in docs:
        [xml] = invoice_render(invoice=doc, kinds=("xml",))
        assert xml.valid, (name, xml.findings)  # the application's own check
        tree = etree.fromstring(bytes(xml.content))
        delivered_to = tree.xpath(
            "cac:Delivery/cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode/text()",
            namespaces=NS,
        )
        # K and G state the delivery, by default to the buyer's country; the others do not.
        assert delivered_to == ([BUYERS[buyer][0]["country"]] if cat in "KG" else []), name
        # A foreign region is free text (BT-54), also where the goods go (BT-79); without one
        # the deliver-to subdivision CIUS-RO asks for is the city.
        regions = [
            tree.xpath(f"{where}/cbc:CountrySubentity/text()", namespaces=NS)
            for where in ("cac:AccountingCustomerParty/cac:Party/cac:PostalAddress",
                          "cac:Delivery/cac:DeliveryLocation/cac:Address")
        ]  # fmt: skip
        if buyer == "eu-company":
            assert regions == [["Bayern"], ["Bayern"] if cat == "K" else []], name
        if buyer == "non-eu-company":
            assert regions == [[], ["Zürich"] if cat == "G" else []], name
        path = tmp_path / f"{name}.xml"
        path.write_bytes(bytes(xml.content))
        paths.append(path)
    refused = [(Path(r["file"]).stem, fatal_rules(r)) for r in anaf_check(paths) if not r["valid"]]
    assert refused == []  # ANAF's official rules

    efactura_tick(limit=500, as_of=later)
    wrong = []
    for doc, cat, buyer, name in docs:
        st = EfacturaState.objects.get(pk=doc.pk)
        up = anaf.uploads.get(st.upload_index)
        _, endpoint, extern = BUYERS[buyer]
        expected = {"standard": "CN" if doc.kind == "credit_note" else "UBL",
                    "cif": "14399840" if cat == "O" else "18547290"}  # fmt: skip
        if extern:
            expected["extern"] = "DA"
        got = (up["endpoint"], up["params"]) if up else (st.state, st.anaf_state)
        if got != (endpoint, expected):
            wrong.append((name, got))
    assert wrong == []
