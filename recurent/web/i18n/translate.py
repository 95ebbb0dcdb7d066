"""Set Romanian translations in the catalogue from a JSON object {msgid: msgstr} (a list of
strings for a plural entry; ``"context\\u0004msgid"`` for an entry with a context), then compile.

    .venv/bin/python -m recurent.web.i18n.update            # new msgids enter django.po, empty
    .venv/bin/python -m recurent.web.i18n.translate new.json  # or - for standard input

An msgid the catalogue does not have yet is added (so a text can be translated before
makemessages runs); a fuzzy mark is removed. Any PO editor does the same job by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polib

from recurent.web.i18n.catalogue import PO


def translate(pairs: dict[str, str | list[str]], po_path: Path = PO) -> int:
    po = polib.pofile(str(po_path), wrapwidth=79)
    by_key = {(e.msgctxt + "\x04" if e.msgctxt else "") + e.msgid: e for e in po if not e.obsolete}
    for key, text in pairs.items():
        entry = by_key.get(key)
        if entry is None:
            ctx, _, msgid = key.rpartition("\x04")
            entry = polib.POEntry(msgid=msgid, msgctxt=ctx or None)
            if isinstance(text, list):
                entry.msgid_plural = msgid
            po.append(entry)
            by_key[key] = entry
        if isinstance(text, list):
            entry.msgstr_plural = dict(enumerate(text))
        else:
            entry.msgstr = text
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
    po.save()
    po.save_as_mofile(str(po_path.with_suffix(".mo")))
    return len(pairs)


def main(argv: list[str]) -> int:
    source = sys.stdin if not argv or argv[0] == "-" else open(argv[0], encoding="utf-8")  # noqa: SIM115
    with source:
        pairs = json.load(source)
    print(f"{translate(pairs)} translations set in {PO}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
