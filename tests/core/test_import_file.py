"""Reading an import file record by record gives what json.loads gives, and the same errors at
the same positions (recurent.contracts.import_file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recurent.contracts.import_file import ImportFailed, Records, load_import_file, shape_errors

EXAMPLE = (Path(__file__).resolve().parents[2] / "docs" / "examples" / "import.json").read_text()


def plain(data):  # type: ignore[no-untyped-def]
    return {k: list(v) if isinstance(v, Records) else v for k, v in data.items()}


def big(n: int = 300) -> dict:
    data = json.loads(EXAMPLE)
    data["clients"] = [dict(data["clients"][0], ref=f"c{i}", name=f"Client {i}") for i in range(n)]
    return data


@pytest.mark.parametrize(
    "text",
    [
        EXAMPLE,
        json.dumps(big()),
        json.dumps(big(), indent=3),
        ' \n{ "series" : [ ] ,"clients":[ {"a" : [1, {"b": []}]} , 2 ],\t"version":1 }\n ',
        '{"clients": [], "clients": [{"x": 1}]}',  # json.loads keeps the last one
        "{}",
    ],
    ids=["example", "compact", "indented", "spacing", "repeated-key", "empty"],
)
def test_the_records_are_what_json_loads_reads(text):
    data = load_import_file(text.encode())
    assert plain(data) == json.loads(text)
    lists = [v for v in data.values() if isinstance(v, Records)]
    assert all(list(r) == list(r) for r in lists)  # every pass decodes the same records


def test_a_list_is_decoded_when_the_import_reaches_it_not_before():
    data = load_import_file(json.dumps(big(2000)).encode())
    assert isinstance(data["clients"], Records) and len(data["clients"]) == 2000
    assert next(iter(data["clients"]))["ref"] == "c0"


@pytest.mark.parametrize(
    "broken",
    [
        lambda t: t.replace('"ref": "c250"', '"ref": c250'),  # not JSON in a late record
        lambda t: t.replace('"ref": "c250",', '"ref": "c250",,'),
        lambda t: t.replace("}\n  ]", "},\n  ]", 1),  # a trailing comma in a list
        lambda t: t.rstrip() + " {}",  # something after the object
        lambda t: t[: len(t) // 2],  # cut short
        lambda t: t.replace('"ref": "c250",', '"ref": "c250", ță'),  # letters outside a string
    ],
    ids=["bare-word", "double-comma", "trailing-comma", "extra", "truncated", "non-ascii"],
)
def test_a_json_error_anywhere_has_json_loads_position_and_message(broken):
    text = broken(json.dumps(big(), indent=2))
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(ImportFailed) as e:
        load_import_file(text.encode())
    assert e.value.errors == [
        (f"line {expected.value.lineno}, column {expected.value.colno}",
         f"not JSON: {expected.value.msg}")
    ]  # fmt: skip


def test_shape_errors_inside_records_carry_the_record_position():
    data = big()
    data["clients"][7]["name"] = "A\x00B"
    data["clients"][250]["payment_term_days"] = 10**30
    data["contracts"][1]["lines"] = [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]
    with pytest.raises(ImportFailed) as e:
        load_import_file(json.dumps(data).encode())
    assert e.value.errors == shape_errors(data)  # as when the whole file was checked at once
    assert [w for w, _ in e.value.errors][:2] == [
        "clients[250].payment_term_days",
        "clients[7].name",
    ]
    assert e.value.errors[2][0].startswith("contracts[1].lines[0][0]")


def test_letters_beyond_ascii_are_read_as_written_and_named_in_errors():
    data = big(3)
    data["clients"][1]["name"] = "Șoseaua Ștefan cel Mare 🙂 \\u0103"
    data["clients"][2]["țară"] = "A\x00B"
    raw = "\ufeff".encode() + json.dumps(data, ensure_ascii=False).encode()
    with pytest.raises(ImportFailed) as e:
        load_import_file(raw)
    assert e.value.errors == [("clients[2].țară", "contains a NUL character")]
    del data["clients"][2]["țară"]
    read = load_import_file(json.dumps(data, ensure_ascii=False).encode())
    assert list(read["clients"])[1]["name"] == "Șoseaua Ștefan cel Mare 🙂 \\u0103"
    assert plain(read) == data
