"""Direct debit: mandates, the pain.008 collection file (valid against its XSD), "collection
requested", then paid or returned through the bank statement."""

from datetime import date
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from lxml import etree

from recurent.common.errors import codes_of
from recurent.payments import selectors as sel
from recurent.payments.bank import statement_import
from recurent.payments.collection import (
    collection_create,
    creditor_settings_save,
    mandate_create,
    mandate_set_status,
    schema_path,
)
from recurent.payments.models import CollectionStatus, Payment
from tests.factories import IBAN_SELLER, local

from .helpers import billed

SAMPLES = Path(__file__).parent / "samples"
NOW = local(2026, 2, 20, 10)
DEBTORS = ["RO16BTRLRONCRT0123456701", "RO06RNCB0072049912340001"]


@pytest.fixture
def dd(world):
    """Two clients with mandates, one without; one invoice each (due Feb 15)."""
    made = billed(world, ["100", "200", "300"])
    creditor_settings_save(company=world.company, creditor_id="RO98ZZZ018547290", bic="BTRLRO22",
                           iban=IBAN_SELLER, user=world.user)  # fmt: skip
    mandates = [
        mandate_create(
            company=world.company,
            client=cl,
            mandate_id=f"MND-{i}",
            signed_on=date(2026, 1, 10),
            debtor_iban=iban,
            debtor_name=cl.name,
            user=world.user,
        )  # fmt: skip
        for i, ((cl, _), iban) in enumerate(zip(made[:2], DEBTORS, strict=True), start=1)
    ]
    return [inv for _, [inv] in made], mandates


def xsd_valid(content: bytes, schema: str) -> bool:
    xsd = etree.XMLSchema(etree.parse(str(schema_path(schema))))
    ok = xsd.validate(etree.fromstring(content))
    assert ok, xsd.error_log
    return ok


def fill(name: str, **values: str) -> bytes:
    text = (SAMPLES / name).read_text()
    for k, v in values.items():
        text = text.replace("{" + k + "}", v)
    return text.encode()


@pytest.mark.parametrize("schema", ["pain.008.001.02", "pain.008.001.08"])
def test_the_collection_file_is_valid_pain008_for_clients_with_an_active_mandate(world, dd, schema):
    (a, b, c), _ = dd
    run = collection_create(company=world.company, collection_date=date(2026, 3, 2), as_of=NOW,
                            user=world.user, schema=schema)  # fmt: skip
    content = bytes(run.content)
    assert xsd_valid(content, schema)
    doc = etree.fromstring(content)
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{schema}"}
    assert doc.xpath("//p:GrpHdr/p:NbOfTxs/text()", namespaces=ns) == ["2"]
    assert doc.xpath("//p:GrpHdr/p:CtrlSum/text()", namespaces=ns) == ["363.00"]
    assert sorted(doc.xpath("//p:MndtId/text()", namespaces=ns)) == ["MND-1", "MND-2"]
    assert set(doc.xpath("//p:SeqTp/text()", namespaces=ns)) == {"FRST"}
    assert (run.count, run.total) == (2, 363)
    assert sel.payment_state(a, NOW) == "collection_requested"
    assert sel.payment_state(c, NOW) == "overdue"  # no mandate: not collected


def test_an_invoice_is_requested_once_and_a_revoked_mandate_is_not_used(world, dd):
    (a, b, c), (m1, m2) = dd
    collection_create(company=world.company, collection_date=date(2026, 3, 2), as_of=NOW,
                      user=world.user, invoice_ids=[a.pk])  # fmt: skip
    mandate_set_status(mandate=m2, status="revoked", user=world.user)
    with pytest.raises(ValidationError) as e:
        collection_create(
            company=world.company, collection_date=date(2026, 3, 3), as_of=NOW, user=world.user
        )
    assert codes_of(e.value) == {"invoices": ["nothing_to_collect"]}


def test_collection_date_must_be_in_the_future_and_creditor_data_known(world, dd):
    with pytest.raises(ValidationError) as e:
        collection_create(
            company=world.company, collection_date=date(2026, 2, 20), as_of=NOW, user=world.user
        )
    assert "collection_date" in e.value.message_dict


def test_the_statement_marks_collected_invoices_paid_and_a_return_unpaid_with_its_reason(world, dd):
    (a, b, c), _ = dd
    run = collection_create(
        company=world.company, collection_date=date(2026, 3, 2), as_of=NOW, user=world.user
    )
    items = {it.invoice_id: it for it in run.items.all()}
    e1, e2 = items[a.pk], items[b.pk]
    credit = fill("sdd_camt053_001_08.xml.tmpl", DAY="02", TOTAL="363.00", E2E_1=e1.end_to_end_id,
                  E2E_2=e2.end_to_end_id, AMT_1="121.00", AMT_2="242.00", MANDATE_1="MND-1", MANDATE_2="MND-2")  # fmt: skip
    imp = statement_import(company=world.company, filename="sdd.xml", content=credit,
                           as_of=local(2026, 3, 3), user=world.user)  # fmt: skip
    assert (imp.lines_new, imp.matched) == (2, 2)
    assert sel.payment_state(a, local(2026, 3, 3)) == "paid"
    assert sel.payment_state(b, local(2026, 3, 3)) == "paid"
    e1.refresh_from_db()
    assert e1.status == CollectionStatus.PAID and e1.payment.method == "direct_debit"
    ret = fill(
        "sdd_return_camt053_001_02.xml.tmpl", DAY="06", AMT_1="121.00", E2E_1=e1.end_to_end_id
    )
    imp2 = statement_import(company=world.company, filename="ret.xml", content=ret,
                            as_of=local(2026, 3, 7), user=world.user)  # fmt: skip
    assert (imp2.lines_new, imp2.matched) == (1, 1)
    e1.refresh_from_db()
    assert e1.status == CollectionStatus.RETURNED and "AM04" in e1.return_reason
    pay = Payment.objects.get(pk=e1.payment_id)
    assert pay.reversed and "Fonduri insuficiente" in pay.reversed_reason
    assert sel.payment_state(a, local(2026, 3, 7)) == "overdue"
    assert sel.outstanding(a) == a.gross_total
    # Re-importing the return changes nothing more.
    again = statement_import(company=world.company, filename="ret.xml", content=ret,
                             as_of=local(2026, 3, 7), user=world.user)  # fmt: skip
    assert again.lines_duplicate == 1
    # The next file debits the returned invoice again, now as a recurring (RCUR) debit.
    run2 = collection_create(company=world.company, collection_date=date(2026, 3, 20),
                             as_of=local(2026, 3, 7), user=world.user)  # fmt: skip
    assert [(it.invoice_id, it.sequence_type) for it in run2.items.all()] == [(a.pk, "RCUR")]


def test_one_active_mandate_per_client_and_ids_unique(world, dd):
    (a, b, c), _ = dd
    with pytest.raises(ValidationError) as e:
        mandate_create(company=world.company, client=a.client, mandate_id="MND-9", signed_on=date(2026, 1, 1),
                       debtor_iban=DEBTORS[0], debtor_name="x", user=world.user)  # fmt: skip
    assert "client" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        mandate_create(company=world.company, client=c.client, mandate_id="MND-1", signed_on=date(2026, 1, 1),
                       debtor_iban="RO00XXXX", debtor_name="x", user=world.user)  # fmt: skip
    assert {"mandate_id", "debtor_iban"} <= set(e.value.message_dict)
