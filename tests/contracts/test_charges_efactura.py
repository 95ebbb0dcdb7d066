"""An invoice with a one-off charge and a credit passes ANAF's official rules and our check."""

from decimal import Decimal

from recurent.contracts.charges import charge_add
from recurent.documents import ubl
from recurent.documents.snapshot import from_invoice
from recurent.documents.validation import check_xml
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.documents.anaf import SHARED, anaf_check, fatal_rules
from tests.factories import local


def test_charges_and_credits_make_a_valid_e_factura(world, tmp_path, settings):
    settings.RECURENT_UBL_XSD_DIR = str(SHARED / "ubl-2.1-xsd")
    p = f.product(world.company, unit_price=Decimal("100"), vat_rate="standard")
    c = f.contract(world.company, issuer=world.user, lines=[(p, "1")], first=local(2026, 1, 31))
    at = local(2026, 1, 20)
    charge_add(contract=c, user=world.user, as_of=at, description="Setup fee", quantity="1",
               unit_price="49.99")  # fmt: skip
    charge_add(contract=c, user=world.user, as_of=at, description="Extra hour", quantity="1.5",
               unit_price="80", unit_code="HUR", vat_category="S", vat_rate="reduced")  # fmt: skip
    charge_add(contract=c, user=world.user, as_of=at, kind="credit", description="Goodwill",
               quantity="1", unit_price="20")  # fmt: skip
    issue_due(as_of=local(2026, 1, 31))
    inv = Invoice.objects.get(contract=c)
    assert inv.net_total == Decimal("249.99")  # 100 + 49.99 + 120 - 20
    xml = ubl.build(from_invoice(inv))
    assert check_xml(xml) == []
    path = tmp_path / "charges.xml"
    path.write_bytes(xml)
    [result] = anaf_check([path])
    assert result["valid"], fatal_rules(result)
