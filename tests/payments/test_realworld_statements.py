"""Every real-world statement in ../shared/realworld/{mt940,camt053} (test files of public projects,
sources in SOURCES.md there) and what becomes of it: imported with its number of entries, or
refused whole with the line and the reason. Romanian banks' :86: layouts give the payer name, IBAN,
remittance text and reference that OCA's l10n-romania tests expect of the same files."""

import dataclasses
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from recurent.payments import dialects
from recurent.payments.bank import statement_import
from recurent.payments.models import StatementImport, StatementLine
from recurent.payments.statements import StatementError, parse
from tests.factories import local

# Service errors read in English here, as the API and the command line show them.
pytestmark = pytest.mark.usefixtures("english")

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "realworld"
NOW = local(2026, 2, 6, 9)

# (file, outcome, entries or line of the refusal, part of the reason)
EXPECTED = [
    ("mt940/bsp_sample.mt940", "imports", 2, ""),
    # ING NL cuts the :61: reference onto the next line; the mt-940 package cannot read it.
    ("mt940/oca-nl_test-ing-old.940", "refused", 1, "MT940 not readable"),
    ("mt940/oca-nl_test-ing.940", "refused", 1, "MT940 not readable"),
    ("mt940/oca-nl_test-sns.940", "refused", 60, "lacks its :60F: or :62F:"),  # truncated
    ("mt940/oca-ro-base_test-rabo.swi", "imports", 2, ""),  # ":940:" header line
    # OCA's "wrong file" has a ":9401:" header line; the statement under it is whole and adds up.
    ("mt940/oca-ro-base_test-wrong-file.940", "imports", 1, ""),
    ("mt940/ro-alpha-bank_test_alpha_940.txt", "imports", 3, ""),  # SWIFT envelopes
    # OCA's BCR file was edited: 1000 + 1000 - 4 - 2 - 243836.22 is not the 0.00 of :62F:.
    ("mt940/ro-bcr_test_file_bcr.STA", "refused", 22, "incomplete or altered"),
    ("mt940/ro-brd_test_brd_940.txt", "imports", 2, ""),
    ("mt940/ro-ing_test_ing_940.txt", "imports", 1, ""),
    ("mt940/ro-raiffeisen_test_rffsn_940.txt", "imports", 3, ""),
    ("mt940/wolph_ASNB_mt940.txt", "refused", 1, "MT940 not readable"),
    ("mt940/wolph_ASNB_mt940_with_spaces_for_entry_date.txt", "refused", 1, "MT940 not readable"),
    # The library's unit fixtures: single tags, not statements.
    ("mt940/wolph_betterplace_amount_formats.sta", "refused", 1, "neither a CAMT.053"),
    ("mt940/wolph_betterplace_currency_in_25.sta", "refused", 1, "no :20: statement"),
    ("mt940/wolph_betterplace_empty_86.sta", "refused", 1, "neither a CAMT.053"),
    ("mt940/wolph_betterplace_empty_entry_date.sta", "refused", 1, "no :20: statement"),
    ("mt940/wolph_betterplace_empty_line.sta", "refused", 2, "no :25: account"),
    ("mt940/wolph_betterplace_missing_crlf_at_end.sta", "refused", 1, "neither a CAMT.053"),
    ("mt940/wolph_betterplace_sepa_mt9401.sta", "imports", 97, ""),
    ("mt940/wolph_betterplace_sepa_snippet.sta", "refused", 55, "incomplete or altered"),
    ("mt940/wolph_betterplace_sepa_snippet_broken.sta", "refused", 10, "incomplete or altered"),
    ("mt940/wolph_betterplace_with_binary_character.sta", "imports", 4, ""),
    ("mt940/wolph_citi_mt940.txt", "imports", 5, ""),
    ("mt940/wolph_cmxl_account_balance_credit.sta", "refused", 1, "neither a CAMT.053"),
    ("mt940/wolph_cmxl_account_balance_debit.sta", "refused", 1, "neither a CAMT.053"),
    ("mt940/wolph_cmxl_account_identification_iban.sta", "refused", 1, "no :20: statement"),
    ("mt940/wolph_cmxl_account_identification_legacy.sta", "refused", 1, "no :20: statement"),
    ("mt940/wolph_cmxl_available_balance.sta", "refused", 1, "neither a CAMT.053"),
    ("mt940/wolph_cmxl_closing_balance.sta", "refused", 1, "neither a CAMT.053"),
    ("mt940/wolph_cmxl_mt940.sta", "imports", 16, ""),
    ("mt940/wolph_cmxl_reference.sta", "refused", 1, "no :25: account"),
    ("mt940/wolph_cmxl_statement_details.sta", "refused", 1, "no :20: statement"),
    ("mt940/wolph_cmxl_statement_line.sta", "refused", 1, "no :20: statement"),
    ("mt940/wolph_cmxl_statement_number.sta", "refused", 1, "neither a CAMT.053"),
    # Anonymised fixtures whose balances were not kept consistent with their lines.
    ("mt940/wolph_jejik_abnamro.sta", "refused", 27, "incomplete or altered"),
    ("mt940/wolph_jejik_generic.sta", "imports", 2, ""),
    ("mt940/wolph_jejik_ing.sta", "refused", 26, "incomplete or altered"),
    ("mt940/wolph_jejik_knab.sta", "refused", 20, "incomplete or altered"),
    ("mt940/wolph_jejik_postfinance.sta", "refused", 27, "incomplete or altered"),
    ("mt940/wolph_jejik_rabobank-iban.sta", "imports", 4, ""),
    ("mt940/wolph_jejik_rabobank.sta", "refused", 11, "incomplete or altered"),
    ("mt940/wolph_jejik_sns.sta", "imports", 2, ""),
    ("mt940/wolph_jejik_triodos.sta", "refused", 12, "incomplete or altered"),
    ("mt940/wolph_mBank_mt940.sta", "imports", 3, ""),
    ("mt940/wolph_mBank_mt942.sta", "refused", 5, "MT942 interim report"),
    ("mt940/wolph_mBank_with_newline_in_tnr.sta", "refused", 19, "incomplete or altered"),
    ("mt940/wolph_sberbank_171011_01234945.sta", "imports", 3, ""),
    ("mt940/wolph_self-provided_account_identification.sta", "refused", 1, "lacks its :60F:"),
    ("mt940/wolph_self-provided_details_60-63.sta", "refused", 12, "incomplete or altered"),
    ("mt940/wolph_self-provided_empty_non_swift.sta", "refused", 1, "neither a CAMT.053"),
    ("mt940/wolph_self-provided_february_30.sta", "refused", 6, "'160230' is not a YYMMDD date"),
    ("mt940/wolph_self-provided_gv_codes.sta", "refused", 1, "lacks its :60F:"),
    ("mt940/wolph_self-provided_invalid_statement.sta", "refused", 1, "neither a CAMT.053"),
    ("mt940/wolph_self-provided_long_statement_number.sta", "imports", 0, ""),
    ("mt940/wolph_self-provided_malformed_details.sta", "refused", 15, "incomplete or altered"),
    ("mt940/wolph_self-provided_mt942.sta", "refused", 4, "MT942 interim report"),
    ("mt940/wolph_self-provided_multiline.sta", "refused", 29, "incomplete or altered"),
    ("mt940/wolph_self-provided_overly_long_details.sta", "refused", 15, "incomplete or altered"),
    ("mt940/wolph_self-provided_raiffeisen-cmi.sta", "refused", 40, "incomplete or altered"),
    ("mt940/wolph_self-provided_raphaelm.sta", "refused", 27, "is not D/C + YYMMDD + currency"),
    ("mt940/wolph_self-provided_sparkassen.sta", "refused", 1, "no :20: statement"),
    ("mt940/wolph_self-provided_transaction_details_wrapped.sta", "refused", 6, "not a YYMMDD"),
    ("mt940/wolph_self-provided_whitespace.sta", "refused", 9, "incomplete or altered"),
    ("mt940/wolph_self-provided_wrapped_timestamp.sta", "refused", 5, "not a YYMMDD date"),
    ("camt053/bsp_camt.053.001.02.xml", "imports", 3, ""),
    ("camt053/bsp_camt053_duplicate_same_day.xml", "imports", 2, ""),
    ("camt053/bsp_camt053_garbled_amount.xml", "refused", 17, "'12..34' is not an amount"),
    ("camt053/bsp_camt053_multicurrency.xml", "imports", 3, ""),  # an account without IBAN
    ("camt053/bsp_camt053_no_namespace.xml", "imports", 1, ""),
    ("camt053/oca-test-camt053-no-ntry.xml", "imports", 0, ""),
    ("camt053/oca-test-camt053-txdtls.xml", "imports", 2, ""),
    ("camt053/oca-test-camt053.xml", "refused", 38, "incomplete or altered"),
    ("camt053/oca-test-camt053.zip", "refused", 1, "ZIP archive"),
    ("camt053/oca-test-camt054.xml", "refused", 2, "camt.054 debit/credit notification"),
    ("camt053/okane_test1.xml", "imports", 2, ""),
    ("camt053/pyiso20022_gs_camt053_001_02.xml", "refused", 57, "incomplete or altered"),
]


def _read(name: str) -> bytes:
    return (REAL / name).read_bytes()


def test_the_table_lists_every_real_world_file():
    on_disk = {
        f"{d}/{p.name}"
        for d in ("mt940", "camt053")
        for p in (REAL / d).iterdir()
        if p.name != "SOURCES.md"
    }
    assert on_disk == {name for name, *_ in EXPECTED}


@pytest.mark.parametrize(("name", "outcome", "n", "reason"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_each_real_world_file_has_its_outcome(name, outcome, n, reason):
    if outcome == "imports":
        assert len(parse(_read(name), name).entries) == n
    else:
        with pytest.raises(StatementError) as e:
            parse(_read(name), name)
        assert (e.value.line, reason in e.value.reason) == (n, True), e.value.reason


def _entries(name: str, content: bytes | None = None):
    return parse(content if content is not None else _read(name), name).entries


# --- Romanian banks: the values OCA's l10n-romania tests expect of the same files --------------


def test_brd_plus_subfields():
    first = _entries("mt940/ro-brd_test_brd_940.txt")[0]
    assert (first.payer_name, first.payer_iban, first.remittance) == (
        "NEXTERP ROMANIA SRL",
        "RO89RZBR0000060003480121",
        "PLATA FACT 4603309",
    )
    assert (first.amount, first.credit, str(first.booking_date)) == (
        D("1000.00"),
        True,
        "2016-05-17",
    )


def test_ing_tilde_subfields_give_the_payer_not_our_own_account():
    [e] = _entries("mt940/ro-ing_test_ing_940.txt")
    assert (e.payer_name, e.payer_iban) == ("NEXTERP ROMANIA SRL", "RO25INGB0014000031948911")
    assert e.remittance == "CVF 2020/0060 . 344944869"
    assert e.bank_reference == "RE20200211-7523"
    assert e.account_iban == "RO19INGB0000999904621843"


def test_raiffeisen_caret_subfields():
    first, second, fee = _entries("mt940/ro-raiffeisen_test_rffsn_940.txt")
    assert (first.payer_name, first.payer_iban) == (
        "QUEHENBERGER LOGISTICS ROU",
        "RO05RZBR0000060003144073",
    )
    assert first.remittance == "F.2059628 Ref.Doc 2268/OPMC"
    assert first.amount == D("1179.87")
    # A debit names its beneficiary.
    assert (second.credit, second.payer_name) == (False, "DANTE INTERNATIONAL SA")


def test_alpha_bank_inside_swift_envelopes():
    first, second, fee = _entries("mt940/ro-alpha-bank_test_alpha_940.txt")
    assert (second.payer_name, second.payer_iban) == (
        "NEXTERP ROMANIA SRL",
        "RO88BTRLRONCRT0301398801",
    )
    assert second.remittance.startswith("INCASARE .ROC.rata SIS..RFB.22")
    assert str(second.booking_date) == "2022-11-01"
    # Alpha Bank's IBANs end with the currency; the payer's bank BIC is not part of the name.
    assert (first.payer_name, first.payer_iban) == (
        "Test Partener Alpha",
        "RO39BUCU2481304266464RON",
    )
    assert fee.credit is False


def test_bcr_keywords_once_the_balance_adds_up():
    # The file as published is refused (see EXPECTED); with a closing balance that adds up, the
    # same :86: gives what OCA's BCR test expects.
    content = _read("mt940/ro-bcr_test_file_bcr.STA").replace(
        b":62F:C221031RON0,00", b":62F:D221031RON241842,22"
    )
    first = _entries("bcr.sta", content)[0]
    assert (first.payer_name, first.payer_iban) == ("Test Partner BCR", "RO24BREL0002002472400100")
    assert first.remittance == "/ROC/SERIA BTLAM NR 21036843 . . /RFB/31/20221028/20221031"
    assert first.amount == D("1000.00") and first.credit


# Banca Transilvania: two :86: of OCA's test_bt_940.txt (l10n_ro_account_bank_statement_import_mt940_bt).
BT_86 = [
    [
        "Incasare OP - canal electronic C.I.F.:20744552 PL.TOT F.",
        " CPN/2025/000022 DIN 08.01 .2025 1 MAROCO AMBIENT SRL",
        " RO60BTRLRONCRT0447604301 BTRLRO22  REF: 139ZEXA2500902BX",
    ],
    [
        "Incasare OP - canal electronic C.I.F.:27377186 Restituire sume",
        " necuvenite 1 WORK UP CONSULTING   MARKETING SRL",
        " RO58BTRLRONCRT0259735901 BTRLRO22  REF: 029ZEXA2500900TI",
    ],
]


def test_banca_transilvania_free_text_layout():
    own = "RO49BTRLRONABCD0A1234567890"
    a = dialects.read_86(BT_86[0], account=own, credit=True)
    assert (a.payer_name, a.payer_iban) == ("MAROCO AMBIENT SRL", "RO60BTRLRONCRT0447604301")
    assert a.remittance == "PL.TOT F. CPN/2025/000022 DIN 08.01 .2025"
    assert a.reference == "139ZEXA2500902BX"
    b = dialects.read_86(BT_86[1], account=own, credit=True)
    assert (b.payer_name, b.remittance) == (
        "WORK UP CONSULTING MARKETING SRL",
        "Restituire sume necuvenite",
    )


def test_an_envelope_with_control_bytes_and_indentation_reads_like_the_bare_file():
    bare = _read("mt940/ro-brd_test_brd_940.txt")
    wrapped = (
        b"\x01 {1:F01BRDEROBUAXXX0000000000}{2:O940BRDEROBUXXXXN}{3:{108:ABC}}{4:\r\n"
        + b"\n".join(b"  " + li if li.startswith(b":") else li for li in bare.splitlines())
        + b"\r\n-}{5:{CHK:123}}\x03"
    )
    moved = [dataclasses.replace(e, source_line=e.source_line - 1) for e in _entries("w", wrapped)]
    assert moved == _entries("b.sta", bare)  # the envelope is one more line on top


def test_an_mt942_in_an_envelope_is_refused_with_a_clear_message():
    bare = _read("mt940/ro-brd_test_brd_940.txt")
    with pytest.raises(StatementError) as e:
        parse(b"{1:F01BRDEROBUAXXX0000000000}{2:O942BRDEROBUXXXXN}{4:\n" + bare + b"\n-}")
    assert "MT942" in e.value.reason and e.value.line == 1


def test_camt_with_namespace_prefixes_reads_like_without():
    plain = _read("camt053/bsp_camt053_multicurrency.xml")
    prefixed = plain.replace(b"<Document xmlns=", b"<c:Document xmlns:c=")
    prefixed = prefixed.replace(b"</", b"</c:").replace(b"<", b"<c:")
    prefixed = prefixed.replace(b"<c:/c:", b"</c:").replace(b"<c:?xml", b"<?xml")
    prefixed = prefixed.replace(b"<c:c:Document", b"<c:Document")
    assert b"<c:Ntry>" in prefixed
    assert _entries("p.xml", prefixed) == _entries("m.xml", plain)


def test_multicurrency_camt_keeps_each_statements_account_and_currency():
    entries = _entries("camt053/bsp_camt053_multicurrency.xml")
    assert {(e.account_iban, e.currency) for e in entries} == {
        ("DE89370400440532013000", "EUR"),
        ("US-ACCT-0099", "USD"),
    }


# --- identity: two identical transfers are two payments; a re-import records nothing twice -----


def test_two_identical_entries_without_reference_are_two_entries():
    a, b = _entries("camt053/bsp_camt053_duplicate_same_day.xml")
    assert (a.amount, a.remittance) == (b.amount, b.remittance)
    assert a.bank_reference != b.bank_reference and b.bank_reference.endswith("#2")


TWO_CREDITS = """:20:STMT0205
:25:RO49BTRLRONCRT0123456701
:28C:36/1
:60F:C260205RON0,00
:61:2602050205C121,00NTRFNONREF
:86:Plata servicii ALFA SRL RO16BTRLRONCRT0123456701
:61:2602050205C121,00NTRFNONREF
:86:Plata servicii ALFA SRL RO16BTRLRONCRT0123456701
{more}:62F:C260205RON{closing}
"""
THIRD = """:61:2602050205C50,00NTRFNONREF
:86:Avans BETA SRL RO06RNCB0072049912340001
"""


def test_identical_transfers_are_two_payments_and_an_overlapping_file_adds_only_the_new(world):
    first = TWO_CREDITS.format(more="", closing="242,00").encode()
    imp = statement_import(company=world.company, filename="a.sta", content=first, as_of=NOW,
                           user=world.user)  # fmt: skip
    assert (imp.lines_new, imp.lines_duplicate) == (2, 0)
    again = statement_import(company=world.company, filename="a.sta", content=first, as_of=NOW,
                             user=world.user)  # fmt: skip
    assert (again.lines_new, again.lines_duplicate) == (0, 2)
    # A later export of the same day with one more credit: only that one is new.
    later = TWO_CREDITS.format(more=THIRD, closing="292,00").encode()
    overlap = statement_import(company=world.company, filename="b.sta", content=later, as_of=NOW,
                               user=world.user)  # fmt: skip
    assert (overlap.lines_new, overlap.lines_duplicate) == (1, 2)
    assert StatementLine.objects.count() == 3
    assert set(StatementLine.objects.values_list("payer_name", flat=True)) == {
        "ALFA SRL",
        "BETA SRL",
    }


def test_a_real_romanian_file_imports_with_payers(world):
    imp = statement_import(company=world.company, filename="ing.txt",
                           content=_read("mt940/ro-ing_test_ing_940.txt"), as_of=NOW,
                           user=world.user)  # fmt: skip
    line = StatementLine.objects.get(statement=imp)
    assert (line.payer_name, line.payer_iban) == ("NEXTERP ROMANIA SRL", "RO25INGB0014000031948911")


def test_a_refused_real_file_writes_nothing(world):
    with pytest.raises(ValidationError) as e:
        statement_import(company=world.company, filename="bcr.sta",
                         content=_read("mt940/ro-bcr_test_file_bcr.STA"), as_of=NOW,
                         user=world.user)  # fmt: skip
    assert e.value.message_dict["file"][0].startswith("line 22: ")
    assert StatementImport.objects.count() == 0 and StatementLine.objects.count() == 0
