"""Bank statements: CAMT.053 (.02 and .08 layouts) and MT940, automatic matching, idempotent
re-import, all-or-nothing refusal of malformed files, matching by hand."""

from decimal import Decimal as D
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from recurent.clients.models import Client
from recurent.payments import selectors as sel
from recurent.payments.bank import (
    match_candidates,
    statement_import,
    statement_line_ignore,
    statement_line_match,
)
from recurent.payments.models import LineStatus, Payment, StatementImport, StatementLine
from tests.factories import local

from .helpers import billed

# Service errors read in English here, as the API and the command line show them.
pytestmark = pytest.mark.usefixtures("english")

SAMPLES = Path(__file__).parent / "samples"
NOW = local(2026, 2, 6, 9)


@pytest.fixture
def abc(world):
    """Clients ALFA, BETA, GAMA with REC-000001 (121), REC-000002 (242), REC-000003 (363)."""
    made = billed(world, ["100", "200", "300"])
    for (cl, _), iban in zip(
        made,
        ["RO16BTRLRONCRT0123456701", "RO06RNCB0072049912340001", "RO21INGB0000999901234567"],
        strict=True,
    ):
        Client.objects.filter(pk=cl.pk).update(iban=iban)
    return [inv for _, [inv] in made]


def load(world, name, content=None):
    return statement_import(
        company=world.company, filename=name,
        content=content if content is not None else (SAMPLES / name).read_bytes(),
        as_of=NOW, user=world.user,
    )  # fmt: skip


def test_camt053_bt_layout_matches_by_number_then_by_iban_and_amount(world, abc):
    a, b, c = abc
    imp = load(world, "bt_camt053_001_02.xml")
    assert (imp.format, imp.lines_total, imp.lines_new, imp.matched, imp.unmatched) == (
        "camt053",
        4,
        3,
        2,
        1,
    )
    assert sel.payment_state(a, NOW) == "paid" and sel.payment_state(b, NOW) == "paid"
    assert sel.payment_state(c, NOW) == "unpaid"
    lines = {li.bank_reference: li for li in StatementLine.objects.all()}
    assert "invoice number" in lines["BT26034A0001"].match_note
    assert "IBAN" in lines["BT26034A0002"].match_note
    assert lines["BT26034A0003"].status == LineStatus.UNMATCHED  # an unknown payer's "avans"
    assert "BT26035P0001" not in lines and "BT26034A0004" not in lines  # pending, bank fee
    pay = Payment.objects.get(statement_line=lines["BT26034A0001"])
    assert (pay.source, pay.amount, pay.client_id) == ("statement", D("121.00"), a.client_id)


def test_reimporting_the_same_or_an_overlapping_statement_records_nothing_twice(world, abc):
    load(world, "bt_camt053_001_02.xml")
    again = load(world, "bt_camt053_001_02.xml")
    assert (again.lines_new, again.lines_duplicate) == (0, 3)
    # The same day exported as MT940: same account, dates, amounts and bank references.
    mt = load(world, "bt_mt940.sta")
    assert (mt.lines_new, mt.lines_duplicate) == (0, 2)
    assert Payment.objects.count() == 2
    assert StatementLine.objects.count() == 3


def test_the_database_refuses_a_second_copy_of_an_entry(world, abc):
    load(world, "bt_camt053_001_02.xml")
    li = StatementLine.objects.first()
    li.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        li.save()


def test_camt053_ing_layout_structured_reference_and_ambiguous_text(world, abc):
    a, b, c = abc
    imp = load(world, "ing_camt053_001_08.xml")
    assert (imp.lines_new, imp.matched, imp.unmatched) == (3, 1, 1)
    assert sel.payment_state(c, NOW) == "paid"  # <Ref>REC000003</Ref>
    mixed = StatementLine.objects.get(bank_reference="INGB0205A000102")
    assert mixed.status == LineStatus.UNMATCHED and "different clients" in mixed.match_note
    rev = StatementLine.objects.get(bank_reference="INGB0205A000103")
    assert rev.reversal and rev.status == LineStatus.IGNORED
    assert sel.payment_state(a, NOW) == "unpaid" and sel.payment_state(b, NOW) == "unpaid"


def test_mt940_bcr_layout_with_structured_86(world, abc):
    a, b, c = abc
    imp = load(world, "bcr_mt940.sta")
    assert (imp.format, imp.lines_new, imp.matched, imp.unmatched) == ("mt940", 2, 1, 1)
    assert sel.payment_state(c, NOW) == "paid"
    line = StatementLine.objects.get(bank_reference="RNCB0205002")
    assert (line.payer_name, line.payer_iban) == ("POPESCU ION", "RO53BRDE120SV12345678900")


def test_mt940_bt_layout_free_text_86(world, abc):
    a, b, c = abc
    imp = load(world, "bt_mt940.sta")
    assert (imp.lines_new, imp.matched, imp.unmatched) == (2, 2, 0)
    assert sel.payment_state(a, NOW) == "paid" and sel.payment_state(b, NOW) == "paid"


@pytest.mark.parametrize(
    ("name", "old", "new", "line", "reason"),
    [
        (
            "bt_camt053_001_02.xml",
            b'<Amt Ccy="RON">121.00</Amt>',
            b'<Amt Ccy="RON">131.00</Amt>',
            27,
            "closing balance",
        ),
        (
            "bt_camt053_001_02.xml",
            b'<Amt Ccy="RON">242.00</Amt>',
            b'<Amt Ccy="RON">2x2.00</Amt>',
            56,
            "not an amount",
        ),
        (
            "bt_camt053_001_02.xml",
            b"</Ntry>\n      <Ntry>",
            b"</Ntry>\n      <Ntry",
            56,
            "well-formed",
        ),
        (
            "ing_camt053_001_08.xml",
            b"<BookgDt><Dt>2026-02-05</Dt></BookgDt>",
            b"<BookgDt><Dt>2026-02-31</Dt></BookgDt>",
            61,
            "not a date",
        ),
        (
            "bt_mt940.sta",
            b":61:2602030203C242,00",
            b":61:2602030203X242,00",
            8,
            "not a valid transaction line",
        ),
        (
            "bt_mt940.sta",
            b":62F:C260203RON1333,00",
            b":62F:C260203RON1334,00",
            12,
            "incomplete or altered",
        ),
    ],
)
def test_a_malformed_file_is_refused_whole_with_line_and_reason(
    world, abc, name, old, new, line, reason
):
    content = (SAMPLES / name).read_bytes()
    assert old in content
    with pytest.raises(ValidationError) as e:
        load(world, name, content.replace(old, new, 1))
    msg = e.value.message_dict["file"][0]
    assert reason in msg
    assert msg.startswith(f"line {line}:"), msg
    assert StatementImport.objects.count() == 0 and Payment.objects.count() == 0


def test_an_unknown_file_is_refused(world):
    with pytest.raises(ValidationError) as e:
        load(world, "x.csv", b"data,amount\n1,2\n")
    assert "line 1" in e.value.message_dict["file"][0]


def test_an_unmatched_line_is_matched_by_hand_and_the_rest_stays_credit(world, abc):
    a, b, c = abc
    load(world, "bt_camt053_001_02.xml")
    line = StatementLine.objects.get(status=LineStatus.UNMATCHED)  # 50.00 from an unknown payer
    assert c.pk in [i.pk for i in match_candidates(line, NOW)]
    statement_line_match(line=line, invoice=c, as_of=NOW, user=world.user)
    line.refresh_from_db()
    assert line.status == LineStatus.MATCHED
    assert sel.outstanding(c) == D("313.00") and sel.payment_state(c, NOW) == "partially_paid"
    with pytest.raises(ValidationError):
        statement_line_match(line=line, invoice=c, as_of=NOW, user=world.user)


def test_a_line_paying_more_than_the_invoice_leaves_client_credit(world, abc):
    a, b, c = abc
    load(world, "bcr_mt940.sta")
    line = StatementLine.objects.get(bank_reference="RNCB0205002")  # 75.00
    from recurent.payments.services import payment_record

    payment_record(company=world.company, client=a.client, date=NOW.date(), amount="100",
                   allocations=[(a, "100")], as_of=NOW, user=world.user)  # fmt: skip
    statement_line_match(line=line, invoice=a, as_of=NOW, user=world.user)
    assert sel.payment_state(a, NOW) == "paid"
    assert sel.client_credit(a.client) == D("54.00")  # 75 - 21


def test_a_line_can_be_set_aside(world, abc):
    load(world, "bt_camt053_001_02.xml")
    line = StatementLine.objects.get(status=LineStatus.UNMATCHED)
    statement_line_ignore(line=line, user=world.user)
    assert StatementLine.objects.filter(status=LineStatus.UNMATCHED).count() == 0
