"""The application's own e-Factura check says what ANAF's official rules say: the same verdict and
the same rule ids, on every official sample, every real-world file (and the invoices inside ANAF's
signed ZIPs), and on invoices built here with one defect each in the rules intra-EU supplies,
exports and non-VAT sellers meet.

The official validator (../shared/efactura/validate.py, XSLT 2.0 through saxonche) runs once per
file for the whole session, all files in one process: its results are cached by content.
Known exceptions (the own check does not implement them and the official one is the fallback,
``RECURENT_EFACTURA_OFFICIAL_CHECK``): none for this corpus; see EXCEPTIONS.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from recurent.documents import ubl
from recurent.documents.snapshot import DocData, Line, Party, VatRow
from recurent.documents.validation import check_xml
from tests.documents.anaf import SAMPLES, SHARED, anaf_check, fatal_rules

REALWORLD = SHARED.parent / "realworld"
NS = {"cbc": ubl.CBC, "cac": ubl.CAC}

# file -> (rules ANAF reports that the own check leaves to the official validator, why).
EXCEPTIONS: dict[str, tuple[set[str], str]] = {}


# --- invoices built here, one defect each ----------------------------------------------------

SELLER = Party(name="Recurent Demo SRL", tax_id="RO18547290", street="Str. Memorandumului 28",
               city="Cluj-Napoca", county="RO-CJ", postal_code="400114", iban="RO49AAAA1B31007593840000")  # fmt: skip
EU_BUYER = Party(name="Muster GmbH", tax_id="DE811569869", street="Hauptstraße 5", city="München",
                 country="DE", postal_code="80331")  # fmt: skip
NON_EU_BUYER = Party(name="Alpine Trading AG", tax_id="CHE116281710", street="Bahnhofstrasse 1",
                     city="Zürich", country="CH", postal_code="8001")  # fmt: skip
RO_BUYER = Party(name="Client SRL", tax_id="RO14399840", street="Bd. Eroilor 1", city="Cluj-Napoca",
                 county="RO-CJ")  # fmt: skip


def _doc(category: str, buyer: Party, *, currency: str = "RON", credit: bool = False) -> DocData:
    net = Decimal("501.00")
    rate = Decimal(21) if category == "S" else Decimal(0)
    vat = (net * rate / 100).quantize(Decimal("0.01"))
    return DocData(
        kind="credit_note" if credit else "invoice", number="REC-2026-0007",
        issue_date=date(2026, 1, 31), due_date=date(2026, 2, 14), currency=currency,
        seller=SELLER, buyer=buyer,
        lines=(Line(1, "Utilaj", Decimal(2), "H87", Decimal("250.50"), category, rate, net),),
        vat_rows=(VatRow(category, rate, net, vat),), net_total=net, vat_total=vat,
        gross_total=net + vat, vat_total_ron=(vat * 5).quantize(Decimal("0.01")) if currency != "RON" else None,
        fx_rate=Decimal("5.0975") if currency != "RON" else None,
        period_start=date(2026, 1, 1), period_end=date(2026, 1, 31),
        credited_number="REC-2026-0001" if credit else "",
    )  # fmt: skip


def _drop(*paths: str):  # type: ignore[no-untyped-def]
    def mutate(doc: Any) -> None:
        for path in paths:
            for el in doc.xpath(path, namespaces=NS):
                el.getparent().remove(el)

    return mutate


def _set(path: str, text: str):  # type: ignore[no-untyped-def]
    def mutate(doc: Any) -> None:
        for el in doc.xpath(path, namespaces=NS):
            el.text = text

    return mutate


def _both(*fns):  # type: ignore[no-untyped-def]
    def mutate(doc: Any) -> None:
        for fn in fns:
            fn(doc)

    return mutate


DELIVERY = "cac:Delivery/cac:DeliveryLocation/cac:Address"
BUILT = {
    "k-ron-invoice": (_doc("K", EU_BUYER), None),
    "k-eur-credit-note": (_doc("K", EU_BUYER, currency="EUR", credit=True), None),
    "g-eur-invoice": (_doc("G", NON_EU_BUYER, currency="EUR"), None),
    "g-ron-credit-note": (_doc("G", NON_EU_BUYER, credit=True), None),
    "k-without-delivery": (_doc("K", EU_BUYER), _drop("cac:Delivery")),
    "k-without-delivery-or-period": (_doc("K", EU_BUYER), _drop("cac:Delivery", "cac:InvoicePeriod")),
    "k-buyer-without-vat-id": (_doc("K", EU_BUYER), _drop("cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme")),
    "g-seller-without-vat-id": (_doc("G", NON_EU_BUYER), _drop("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme")),
    # A supplier identified by its tax registration number (BT-32) instead of a VAT id: accepted.
    "s-seller-with-tax-registration-id": (
        _doc("S", RO_BUYER),
        _both(_set("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID", "18547290"),
              _set("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cac:TaxScheme/cbc:ID", "!= VAT")),
    ),
    "e-seller-without-any-tax-id": (_doc("E", RO_BUYER), _drop("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme")),
    **{
        f"{cat.lower()}-with-a-vat-amount": (
            _doc(cat, buyer), _set("cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount", "10.00")
        )
        for cat, buyer in (("Z", RO_BUYER), ("E", RO_BUYER), ("AE", RO_BUYER),
                           ("K", EU_BUYER), ("G", NON_EU_BUYER))
    },
    "invoice-without-due-date-or-terms": (_doc("S", RO_BUYER), _drop("cbc:DueDate", "cac:PaymentTerms")),
    "credit-note-without-terms": (_doc("S", RO_BUYER, credit=True), _drop("cac:PaymentTerms")),
    "delivery-county-not-iso": (
        _doc("K", EU_BUYER),
        _both(_set(f"{DELIVERY}/cac:Country/cbc:IdentificationCode", "RO"), _set(f"{DELIVERY}/cbc:CountrySubentity", "Cluj")),
    ),
    "delivery-bucharest-not-sector": (
        _doc("K", EU_BUYER),
        _both(_set(f"{DELIVERY}/cac:Country/cbc:IdentificationCode", "RO"),
              _set(f"{DELIVERY}/cbc:CountrySubentity", "RO-B"), _set(f"{DELIVERY}/cbc:CityName", "Bucuresti")),
    ),
    "delivery-without-subdivision": (_doc("K", EU_BUYER), _drop(f"{DELIVERY}/cbc:CountrySubentity")),
    "delivery-without-street-or-city": (_doc("G", NON_EU_BUYER), _drop(f"{DELIVERY}/cbc:StreetName", f"{DELIVERY}/cbc:CityName")),
}  # fmt: skip


def _built(data: DocData, mutate: Any) -> bytes:
    xml = ubl.build(data)
    if mutate is None:
        return xml
    doc = etree.fromstring(xml)
    mutate(doc)
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8")


# --- the corpus ----------------------------------------------------------------------------------


def _corpus() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in sorted(SAMPLES.glob("*/*.xml")):
        files[f"samples/{path.parent.name}/{path.name}"] = path.read_bytes()
    for path in sorted((REALWORLD / "efactura").glob("*.xml")):
        files[f"realworld/{path.name}"] = path.read_bytes()
    for path in sorted((REALWORLD / "anaf-answers").glob("*.zip")):
        with zipfile.ZipFile(path) as z:
            for member in z.namelist():
                if member.endswith(".xml"):
                    files[f"anaf-zip/{path.stem}/{member}"] = z.read(member)
    for name, (data, mutate) in BUILT.items():
        files[f"built/{name}.xml"] = _built(data, mutate)
    return files


CORPUS = _corpus()
_OFFICIAL: dict[str, dict[str, Any]] = {}  # sha256 of the content -> validate.py's result


def official(contents: dict[str, bytes], where: Path) -> dict[str, dict[str, Any]]:
    """validate.py's verdict per file, each content checked once per session (one process for
    all that are new: compiling ANAF's rules costs about a second)."""
    keys = {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}
    todo = {}
    for name, data in contents.items():
        if keys[name] not in _OFFICIAL and keys[name] not in todo:
            path = where / f"{keys[name]}.xml"
            path.write_bytes(data)
            todo[keys[name]] = path
    if todo:
        for key, result in zip(todo, anaf_check(list(todo.values())), strict=True):
            _OFFICIAL[key] = result
    return {name: _OFFICIAL[keys[name]] for name in contents}


@pytest.fixture(scope="module")
def anaf_says(tmp_path_factory):  # type: ignore[no-untyped-def]
    return official(CORPUS, tmp_path_factory.mktemp("official"))


def test_the_corpus_holds_every_sample_every_real_world_file_and_the_zips():
    groups = {name.split("/")[0] for name in CORPUS}
    assert groups == {"samples", "realworld", "anaf-zip", "built"}
    assert len([n for n in CORPUS if n.startswith("samples/")]) == len(
        list(SAMPLES.glob("*/*.xml"))
    )
    assert len([n for n in CORPUS if n.startswith("realworld/")]) >= 8
    assert len([n for n in CORPUS if n.startswith("anaf-zip/")]) == 6


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_own_check_gives_anafs_verdict_and_rule_ids(name, anaf_says):
    result = anaf_says[name]
    anaf = fatal_rules(result)
    mine = {f.rule for f in check_xml(CORPUS[name])}
    left_to_official, _why = EXCEPTIONS.get(name, (set(), ""))
    said = mine | left_to_official
    assert (not said, said) == (result["valid"], anaf), (name, anaf, mine)


def test_built_invoices_meet_the_rules_they_were_built_to_break(anaf_says):
    """The defects are real: ANAF's validator names them (so the agreement above is not vacuous)."""
    expected = {
        "k-ron-invoice": set(), "k-eur-credit-note": set(), "g-eur-invoice": set(),
        "g-ron-credit-note": set(), "s-seller-with-tax-registration-id": set(),
        "credit-note-without-terms": set(),
        "k-without-delivery": {"BR-IC-12"},
        "k-without-delivery-or-period": {"BR-IC-11", "BR-IC-12"},
        "k-buyer-without-vat-id": {"BR-IC-02"},
        "g-seller-without-vat-id": {"BR-G-02", "BR-RO-065"},
        "e-seller-without-any-tax-id": {"BR-E-02", "BR-RO-065"},
        "invoice-without-due-date-or-terms": {"BR-CO-25"},
        **{f"{c.lower()}-with-a-vat-amount": {f"BR-{p}-09", "BR-CO-14", "BR-CO-17"}
           for c, p in (("Z", "Z"), ("E", "E"), ("AE", "AE"), ("K", "IC"), ("G", "G"))},
        "delivery-county-not-iso": {"BR-RO-212"},
        "delivery-bucharest-not-sector": {"BR-RO-202"},
        "delivery-without-subdivision": {"BR-RO-211"},
        "delivery-without-street-or-city": {"BR-RO-180", "BR-RO-201"},
    }  # fmt: skip
    assert {n: fatal_rules(anaf_says[f"built/{n}.xml"]) for n in BUILT} == expected


def test_a_k_invoice_without_a_period_states_its_delivery_date():
    data = replace(_doc("K", EU_BUYER), period_start=None, period_end=None)
    doc = etree.fromstring(ubl.build(data))
    assert doc.xpath("cac:Delivery/cbc:ActualDeliveryDate/text()", namespaces=NS) == ["2026-01-31"]
    assert doc.find("cac:InvoicePeriod", NS) is None
    assert check_xml(etree.tostring(doc)) == []


OFFICIAL_XSLT = (
    SHARED / "anaf-cius-ro-1.0.9" / "anaf-EN16931-CIUS_RO-UBL-validation-1.0.9.schxslt.xsl"
)


def test_rules_left_to_the_official_validator_are_caught_when_it_is_switched_on(settings):
    # A unit of measure outside UN/ECE Rec. 20 (BR-CL-23): a code list the Python rules leave out.
    doc = etree.fromstring(ubl.build(_doc("S", RO_BUYER)))
    doc.find(".//cbc:InvoicedQuantity", NS).set("unitCode", "QQQ")
    xml = etree.tostring(doc, xml_declaration=True, encoding="UTF-8")
    settings.RECURENT_EFACTURA_OFFICIAL_XSLT = ""
    assert check_xml(xml) == []
    settings.RECURENT_EFACTURA_OFFICIAL_XSLT = str(OFFICIAL_XSLT)
    assert {f.rule for f in check_xml(xml)} == {"BR-CL-23"}
    # What the Python rules already name is not reported twice.
    broken = _built(_doc("K", EU_BUYER), _drop("cac:Delivery"))
    assert [f.rule for f in check_xml(broken)] == ["BR-IC-12"]


def test_a_stated_delivery_date_alone_keeps_the_buyers_address():
    from recurent.documents.snapshot import Delivery

    data = replace(_doc("G", NON_EU_BUYER), delivery=Delivery("", "", "", date=date(2026, 1, 20)))
    doc = etree.fromstring(ubl.build(data))
    dl = doc.find("cac:Delivery", NS)
    assert dl.findtext("cbc:ActualDeliveryDate", namespaces=NS) == "2026-01-20"
    addr = dl.find("cac:DeliveryLocation/cac:Address", NS)
    assert [addr.findtext(f"cbc:{t}", namespaces=NS) for t in ("StreetName", "CityName")] == [
        "Bahnhofstrasse 1",
        "Zürich",
    ]
    assert addr.findtext("cac:Country/cbc:IdentificationCode", namespaces=NS) == "CH"
    assert check_xml(etree.tostring(doc)) == []


def test_a_stated_delivery_address_in_romania_is_written_with_its_county_code():
    from recurent.documents.snapshot import Delivery

    there = Delivery("Str. Depozitului 2", "Sector 6", "RO", county="B", postal_code="060000")
    doc = etree.fromstring(ubl.build(replace(_doc("S", RO_BUYER), delivery=there)))
    addr = doc.find("cac:Delivery/cac:DeliveryLocation/cac:Address", NS)
    assert (
        addr.findtext("cbc:CountrySubentity", namespaces=NS),
        addr.findtext("cbc:CityName", namespaces=NS),
    ) == ("RO-B", "SECTOR6")
    assert check_xml(etree.tostring(doc)) == []
