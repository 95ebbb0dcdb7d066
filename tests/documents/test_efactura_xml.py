"""Every e-Factura XML the application makes passes ANAF's official rules, and the
application's own check agrees with ANAF on ANAF's samples."""

from __future__ import annotations

import filecmp
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from recurent.documents import ubl
from recurent.documents.snapshot import from_invoice
from recurent.documents.validation import XSD_DIR, check_party, check_xml
from tests.documents import scenarios
from tests.documents.anaf import SAMPLES, SHARED, anaf_check, fatal_rules

NS = {"cbc": ubl.CBC, "cac": ubl.CAC}


def test_every_xml_the_engine_produces_is_valid_for_anaf_and_for_our_check(
    world, tmp_path, settings
):
    settings.RECURENT_UBL_XSD_DIR = str(SHARED / "ubl-2.1-xsd")
    paths = []
    for name, build in scenarios.ALL.items():
        inv = build(world)
        xml = ubl.build(from_invoice(inv))
        assert check_xml(xml) == [], name
        path = tmp_path / f"{name}.xml"
        path.write_bytes(xml)
        paths.append(path)
    for name, xml in scenarios.credit_notes(world).items():
        assert check_xml(xml) == [], name
        path = tmp_path / f"{name}.xml"
        path.write_bytes(xml)
        paths.append(path)
    results = anaf_check(paths)
    assert [(Path(r["file"]).stem, fatal_rules(r)) for r in results if not r["valid"]] == []


SAMPLE_FILES = sorted(SAMPLES.glob("*/*.xml"))


def test_our_check_agrees_with_anaf_on_every_sample():
    results = anaf_check(SAMPLE_FILES)
    assert len(results) == len(SAMPLE_FILES) > 20
    for r in results:
        path = Path(r["file"])
        mine = {f.rule for f in check_xml(path.read_bytes())}
        anaf = fatal_rules(r)
        if path.parent.name == "valid":
            assert r["valid"] and mine == set(), path.name
        else:
            assert not r["valid"], path.name
            # Every rule ANAF names for the defect, ours names too.
            assert anaf and anaf <= mine, (path.name, anaf, mine)


def test_the_shipped_xsd_is_the_official_ubl_21():
    for official in (SHARED / "ubl-2.1-xsd").rglob("*.xsd"):
        ours = XSD_DIR / official.relative_to(SHARED / "ubl-2.1-xsd")
        assert filecmp.cmp(official, ours, shallow=False), ours


def test_eur_invoice_states_vat_in_ron_and_the_bnr_rate(world):
    inv = scenarios.eur_invoice(world)
    doc = etree.fromstring(ubl.build(from_invoice(inv)))
    assert doc.findtext("cbc:TaxCurrencyCode", namespaces=NS) == "RON"
    ron = doc.xpath("cac:TaxTotal/cbc:TaxAmount[@currencyID='RON']", namespaces=NS)
    assert [Decimal(e.text) for e in ron] == [inv.vat_total_ron]
    assert any("5.0975" in n.text for n in doc.findall("cbc:Note", NS))


def test_amounts_are_the_stored_ones(world):
    inv = scenarios.ron_multi_rate(world)
    doc = etree.fromstring(ubl.build(from_invoice(inv)))
    total = doc.find("cac:LegalMonetaryTotal", NS)
    assert Decimal(total.findtext("cbc:PayableAmount", namespaces=NS)) == inv.gross_total
    assert Decimal(doc.findtext("cac:TaxTotal/cbc:TaxAmount", namespaces=NS)) == inv.vat_total
    rates = sorted(
        Decimal(p.text)
        for p in doc.findall("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:Percent", NS)
    )
    assert rates == [Decimal(11), Decimal(21)]


def test_individual_without_cnp_gets_the_legal_placeholder(world):
    inv = scenarios.individual_without_cnp(world)
    doc = etree.fromstring(ubl.build(from_invoice(inv)))
    ids = doc.findall(
        "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID", NS
    )
    assert [e.text for e in ids] == ["0000000000000"]
    assert doc.find("cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme", NS) is None


def test_bucharest_buyer_is_written_with_county_rob_and_its_sector(world):
    inv = scenarios.bucharest_buyer(world)
    doc = etree.fromstring(ubl.build(from_invoice(inv)))
    addr = doc.find("cac:AccountingCustomerParty/cac:Party/cac:PostalAddress", NS)
    assert (
        addr.findtext("cbc:CountrySubentity", namespaces=NS),
        addr.findtext("cbc:CityName", namespaces=NS),
    ) == ("RO-B", "SECTOR3")


def test_non_vat_payer_invoices_under_category_o_without_vat_ids(world):
    inv = scenarios.non_vat_seller(world)
    doc = etree.fromstring(ubl.build(from_invoice(inv)))
    assert {
        e.text for e in doc.iter(f"{{{ubl.CBC}}}ID") if e.getparent().tag.endswith("TaxCategory")
    } == {"O"}
    assert doc.find(".//cac:PartyTaxScheme", NS) is None
    assert doc.find(".//cbc:TaxExemptionReasonCode", NS).text == "VATEX-EU-O"


def test_a_value_ubl_cannot_hold_is_refused_with_the_field_not_cut(world):
    inv = scenarios.ron_multi_rate(world)
    data = from_invoice(inv)
    from dataclasses import replace

    bad = replace(data, buyer=replace(data.buyer, county="RO-B", city="București"))
    with pytest.raises(ubl.UblError) as e:
        ubl.build(bad)
    assert e.value.field == "buyer.city" and "SECTOR" in e.value.message
    long_name = replace(data, buyer=replace(data.buyer, name="X" * 201))
    with pytest.raises(ubl.UblError, match="at most 200") as e:
        ubl.build(long_name)
    assert e.value.field == "buyer.name"
    # Free text is cut instead: a long description does not change what the invoice means.
    wordy = replace(data, lines=(replace(data.lines[0], description="d" * 500),) + data.lines[1:])
    assert check_xml(ubl.build(wordy)) == []


def test_our_check_names_the_rule_and_says_why():
    sample = (SAMPLES / "invalid" / "07_bucharest_city_not_sector.xml").read_bytes()
    [finding] = check_xml(sample)
    assert finding.rule == "BR-RO-101" and "SECTOR1 to SECTOR6" in finding.message


def test_party_data_that_cannot_make_an_e_factura_is_flagged_before_it_is_saved():
    buyer = {
        "kind": "company",
        "name": "Client SA",
        "tax_id": "RO14399840",
        "street": "Bd. Unirii 1",
        "city": "București",
        "county": "RO-B",
        "country": "RO",
    }
    assert check_party(buyer, "buyer") == [
        ("city", "a Bucharest address needs its sector as the city (Sector 1 to 6)")
    ]
    assert check_party({**buyer, "city": "Sector 2"}, "buyer") == []
    fields = {f for f, _ in check_party({**buyer, "street": "", "county": "Cluj-Napoca"}, "buyer")}
    assert fields == {"street", "county"}
    seller = {
        "name": "Firma SRL",
        "cui": "18547290",
        "vat_payer": True,
        "street": "Str. A 1",
        "city": "Cluj-Napoca",
        "county": "RO-CJ",
        "country": "RO",
    }
    assert check_party(seller, "seller") == []
    assert [f for f, _ in check_party({**seller, "cui": "18547291"}, "seller")] == ["cui"]
