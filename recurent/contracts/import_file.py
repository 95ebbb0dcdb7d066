"""Reading an import file (docs/import-format.md) without holding all of it as Python objects.

``json.loads`` of a file of 100,000 records (28 MB) holds ~170 MB of dicts and strings for the
whole import (docs/benchmarks/import.md). Here the file's text is kept and its top-level lists
(``clients``, ``contracts`` ...) are decoded one record at a time, when the import reaches them
(``Records``): what a record costs in memory is given back once it is checked and written. The
file is read through once first, record by record, for what json.loads would refuse and for
the shape checks (nesting, NUL characters, numbers out of range), each with its position.
Anything not a plain ``{"key": value, ...}`` at the top is left to json.loads as before.
"""

from __future__ import annotations

import codecs
import json
import re
from array import array
from collections.abc import Iterator
from typing import Any

# Deeper than any record of the format (docs/import-format.md): a file nested further is not an
# import but a way to exhaust the parser's stack.
MAX_DEPTH = 16
# Whole numbers in the file (series numbers, widths, days) fit a signed 64-bit column.
MAX_INT = 2**63 - 1
_SPACE = re.compile(r"[ \t\n\r]*")


class ImportFailed(Exception):
    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__(f"{len(errors)} error(s); nothing was imported")
        self.errors = errors


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ImportFailed([("$", f"the number {text[:30]} is too large")])
    return value


def _no_constant(name: str) -> None:
    raise ImportFailed([("$", f"{name} is not a number JSON allows")])


_decoder = json.JSONDecoder(parse_float=_finite, parse_constant=_no_constant)


class Records:
    """A top-level list of the file, decoded one record at a time on every pass, from the
    file's UTF-8 bytes (a third to a half of the text's size when it has any non-ASCII letter)."""

    def __init__(self, raw: bytes, spans: array) -> None:
        self.raw, self.spans = raw, spans  # spans: start, end, start, end ... byte offsets

    def __len__(self) -> int:
        return len(self.spans) // 2

    def __iter__(self) -> Iterator[Any]:
        raw, spans = self.raw, self.spans
        for n in range(0, len(spans), 2):
            yield _decoder.decode(raw[spans[n] : spans[n + 1]].decode("utf-8"))


class _Irregular(Exception):
    """Not the plain shape the record-by-record reader follows: json.loads decides."""


def _value(raw: bytes, start: int, end: int) -> Any:
    return _decoder.decode(raw[start:end].decode("utf-8"))


def _list(
    raw: bytes, view: str, i: int, key: str, errors: list[tuple[str, str]]
) -> tuple[Records, int]:
    """The records of the list opening at ``i``, checked for their shape as they are read;
    and where the list ends."""
    space, spans = _SPACE.match, array("q")
    i = space(view, i + 1).end()  # type: ignore[union-attr]
    while view[i : i + 1] != "]":
        # The view decodes non-ASCII letters wrongly but keeps JSON's structure, numbers, NUL
        # escapes and depth, and its offsets are the bytes': a record is read again properly
        # only for the names in its errors.
        value, end = _decoder.raw_decode(view, i)
        where = f"{key}[{len(spans) // 2}]"
        if shape_errors(value, where, 2):
            errors += shape_errors(_value(raw, i, end), where, 2)
        spans += array("q", (i, end))
        i = space(view, end).end()  # type: ignore[union-attr]
        if view[i : i + 1] == ",":
            i = space(view, i + 1).end()  # type: ignore[union-attr]
            if view[i : i + 1] == "]":
                raise _Irregular  # a trailing comma
        elif view[i : i + 1] != "]":
            raise _Irregular
    return Records(raw, spans), i + 1


def _top_level(raw: bytes, errors: list[tuple[str, str]]) -> dict[str, Any]:
    """``{key: value}`` of the file (valid UTF-8), a list as Records; shape errors of every
    record. Read through a latin-1 view of the bytes: one byte a character, whatever the text."""
    view = raw.decode("latin-1")
    space = _SPACE.match
    i = space(view, 0).end()  # type: ignore[union-attr]
    if view[i : i + 1] != "{":
        raise _Irregular
    out: dict[str, Any] = {}
    i = space(view, i + 1).end()  # type: ignore[union-attr]
    while view[i : i + 1] != "}":
        if view[i : i + 1] != '"':
            raise _Irregular
        _, end = _decoder.raw_decode(view, i)
        key = _value(raw, i, end)
        i = space(view, end).end()  # type: ignore[union-attr]
        if view[i : i + 1] != ":":
            raise _Irregular
        i = space(view, i + 1).end()  # type: ignore[union-attr]
        if view[i : i + 1] == "[":
            out[key], i = _list(raw, view, i, key, errors)
        else:
            _, end = _decoder.raw_decode(view, i)
            out[key] = _value(raw, i, end)
            errors += shape_errors(out[key], key, 1)
            i = end
        i = space(view, i).end()  # type: ignore[union-attr]
        if view[i : i + 1] == ",":
            i = space(view, i + 1).end()  # type: ignore[union-attr]
            if view[i : i + 1] == "}":
                raise _Irregular
        elif view[i : i + 1] != "}":
            raise _Irregular
    if space(view, i + 1).end() != len(view):  # type: ignore[union-attr]
        raise _Irregular  # something after the object
    errors += [(k.replace("\x00", "\\0"), "a NUL character in a name") for k in out if "\x00" in k]
    return out


def load_import_file(raw: bytes) -> Any:
    """The file's JSON (its top-level lists as Records), or ImportFailed with the position of
    what is wrong: not UTF-8, not JSON, nested too deeply, numbers out of range, NUL characters."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")  # as "utf-8-sig" reads it
    try:
        # Checked in pieces: the whole text at once would be the largest object of the import.
        decoder = codecs.getincrementaldecoder("utf-8")()
        for start in range(0, len(raw), 1 << 20):
            decoder.decode(raw[start : start + (1 << 20)])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as e:
            line = raw.count(b"\n", 0, e.start) + 1
            column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
            raise ImportFailed(
                [(f"line {line}, column {column}",
                  f"not UTF-8 text (byte 0x{raw[e.start]:02x}); save the file as UTF-8")]
            ) from None  # fmt: skip
    errors: list[tuple[str, str]] = []
    try:
        try:
            data = _top_level(raw, errors)
        except (_Irregular, json.JSONDecodeError):
            errors = []  # json.loads' own verdict, and its position, on the whole file
            data = _decoder.decode(raw.decode("utf-8"))
            errors = shape_errors(data)
    except json.JSONDecodeError as e:
        raise ImportFailed([(f"line {e.lineno}, column {e.colno}", f"not JSON: {e.msg}")]) from None
    except RecursionError:
        raise ImportFailed([("$", f"nested too deeply (at most {MAX_DEPTH} levels)")]) from None
    except ValueError as e:  # an integer of thousands of digits
        raise ImportFailed([("$", f"a number is too large ({e})")]) from None
    if errors:
        raise ImportFailed(sorted(errors))
    return data


def shape_errors(data: Any, path: str = "$", depth: int = 0) -> list[tuple[str, str]]:
    """Nesting, NUL characters and integers out of range, each with its path."""
    errors: list[tuple[str, str]] = []
    stack: list[tuple[str, Any, int]] = [(path, data, depth)]
    while stack:
        path, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            errors.append((path, f"nested too deeply (at most {MAX_DEPTH} levels)"))
            continue
        if isinstance(value, dict):
            for k, v in value.items():
                where = k if path == "$" else f"{path}.{k}"
                if "\x00" in k:
                    errors.append((where.replace("\x00", "\\0"), "a NUL character in a name"))
                stack.append((where, v, depth + 1))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v, depth + 1) for i, v in enumerate(value))
        elif isinstance(value, str) and "\x00" in value:
            errors.append((path, "contains a NUL character"))
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            errors.append((path, "the number is too large"))
    return sorted(errors)
