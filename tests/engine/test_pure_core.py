"""The billing core imports only the standard library, dateutil and stdnum: never Django."""

import ast
from pathlib import Path

import pytest

from recurent.engine import identifiers, numbering

ENGINE = Path(__file__).resolve().parents[2] / "recurent" / "engine"
ALLOWED = {"__future__", "collections", "dataclasses", "datetime", "decimal", "enum", "functools", "re", "typing",
           "unicodedata", "zoneinfo", "dateutil", "stdnum"}  # fmt: skip


@pytest.mark.parametrize("path", sorted(ENGINE.glob("*.py")), ids=lambda p: p.name)
def test_engine_module_imports_no_django(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        for name in names:
            assert name.split(".")[0] in ALLOWED, f"{path.name} imports {name}"


def test_identifiers_check_digits():
    assert identifiers.clean_cui("ro 18547290") == "RO18547290"
    assert identifiers.clean_cui("18547290") == "18547290"
    with pytest.raises(identifiers.IdentifierError, match="check digit"):
        identifiers.clean_cui("RO18547291")
    assert identifiers.clean_cnp("1800101221144") == "1800101221144"
    with pytest.raises(identifiers.IdentifierError, match="CNP"):
        identifiers.clean_cnp("1800101221145")
    assert identifiers.clean_iban("ro49 aaaa 1b31 0075 9384 0000") == "RO49AAAA1B31007593840000"
    with pytest.raises(identifiers.IdentifierError, match="IBAN"):
        identifiers.clean_iban("RO48AAAA1B31007593840000")


def test_numbering_format_and_parse():
    assert numbering.full_number("REC", 123) == "REC-000123"
    ref = numbering.parse_full_number("rec 000123")
    assert (ref.series, ref.number) == ("REC", 123)
    with pytest.raises(numbering.NumberingError):
        numbering.check_series_code("1ABC")
    assert numbering.allocate_block(
        next_number=7, series_year=2026, yearly_restart=False, year=2027, count=3
    ) == (2026, range(7, 10))
    assert numbering.allocate_block(
        next_number=7, series_year=2026, yearly_restart=True, year=2027, count=2
    ) == (2027, range(1, 3))
