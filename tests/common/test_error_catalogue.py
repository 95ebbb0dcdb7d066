"""Issue 15: one catalogue. Services and the billing core refuse with a code and a translatable
message: a screen shows it in the user's language, the API in English with the code, and no
ValidationError is raised from a plain English string that something would have to parse back."""

import ast
from pathlib import Path

import pytest
from django.urls import reverse

from recurent.common.errors import as_validation_error, codes_of
from recurent.engine import identifiers
from tests.web.conftest import login

ROOT = Path(__file__).resolve().parents[2] / "recurent"


def _plain(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def _plain_list(node: ast.AST) -> bool:
    return isinstance(node, ast.List) and any(_plain(e) for e in node.elts)


def _plain_validation_errors(path: Path) -> list[int]:
    """Lines where ValidationError gets an English literal (or a {field: [literal]} dict), or an
    errors dict is filled with one (``errors[k] = ["..."]``, ``{k: ["..."] for ...}``)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
            target = ast.unparse(node.targets[0].value)
            if "error" in target and _plain_list(node.value):
                out.append(node.lineno)
        if isinstance(node, ast.DictComp) and _plain_list(node.value):
            out.append(node.lineno)
        if not (isinstance(node, ast.Call) and node.args):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", None))
        if name != "ValidationError":
            continue
        arg = node.args[0]
        if _plain(arg) or isinstance(arg, ast.BinOp):
            out.append(node.lineno)
        elif isinstance(arg, ast.Dict):
            for v in arg.values:
                if _plain(v) or (isinstance(v, ast.List) and any(_plain(e) for e in v.elts)):
                    out.append(node.lineno)
    return out


def test_no_validation_error_is_raised_from_a_plain_string():
    found = {
        str(p.relative_to(ROOT)): lines
        for p in sorted(ROOT.rglob("*.py"))
        if "migrations" not in p.parts and (lines := _plain_validation_errors(p))
    }
    assert found == {}


def test_the_scan_sees_a_plain_string():
    # The check above can fail: a module written the old way is caught.
    src = (
        'from x import ValidationError\nraise ValidationError({"f": ["plain English"]})\n'
        'errors = {}\nerrors["f"] = ["plain"]\nbad = {k: ["plain"] for k in "ab"}\n'
    )
    p = Path(__file__).parent / "_tmp_plain.py"
    try:
        p.write_text(src)
        assert sorted(_plain_validation_errors(p)) == [2, 4, 5]
    finally:
        p.unlink()


def test_a_core_refusal_keeps_its_code_and_reads_in_each_language():
    from django.utils import translation

    with pytest.raises(identifiers.IdentifierError) as e:
        identifiers.clean_cui("RO18547291", "tax_id")
    err = as_validation_error(e.value)
    assert codes_of(err) == {"tax_id": ["cui_check_digit"]}
    with translation.override("en"):
        assert err.message_dict == {"tax_id": ["'RO18547291' fails the CUI/CIF check digit"]}
    with translation.override("ro"):
        assert "cifrei de control" in err.message_dict["tax_id"][0]


@pytest.mark.django_db
def test_a_screen_shows_romanian_and_the_api_english_with_the_code(world, admin_api):
    c = login(world.user)
    c.cookies["django_language"] = "ro"
    r = c.post(reverse("web:series-add"), {"code": "1-BAD", "next_number": "1", "width": "6"})
    assert "nu este un cod de serie" in r.content.decode()
    r = admin_api.post(
        "/clients",
        {"kind": "company", "name": "Rău SRL", "tax_id": "RO18547291", "street": "Str. 1",
         "city": "Cluj-Napoca", "county": "RO-CJ", "country": "RO"},
    )  # fmt: skip
    assert r.status_code == 422, r.json()
    [e] = [e for e in r.json()["errors"] if e["field"] == "tax_id"]
    assert e["code"] == "tax_id_invalid"
    assert e["message"] == "RO18547291 is not a valid CUI/CIF: check the digits"
