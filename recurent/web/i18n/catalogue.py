"""The Romanian catalogue against the texts the code uses.

``extract()`` runs Django's makemessages over a copy of the sources in a temporary folder (the
real catalogue is not touched) and returns every msgid found; ``read_po()`` reads a .po file;
``problems()`` names the msgids that the code uses and the catalogue does not translate (absent,
empty or fuzzy). Used by tests/web/test_i18n_pages.py and, by hand, to list what is missing:

    .venv/bin/python -m recurent.web.i18n.catalogue
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2]  # the recurent package
PO = SOURCE / "locale" / "ro" / "LC_MESSAGES" / "django.po"
# Sources that are not the product's interface.
IGNORE = ["tests/*", "*/migrations/*"]
SUFFIXES = {".py", ".html", ".txt"}


@dataclass
class Entry:
    msgid: str
    plural: str = ""
    msgstr: list[str] = field(default_factory=list)
    fuzzy: bool = False

    @property
    def translated(self) -> bool:
        return not self.fuzzy and bool(self.msgstr) and all(self.msgstr)


def _unquote(lines: list[str]) -> str:
    raw = "".join(re.findall(r'^[^"]*"(.*)"\s*$', line)[0] for line in lines)
    out, i = [], 0
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw):
            out.append(escapes.get(raw[i + 1], raw[i + 1]))
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


def read_po(path: Path) -> dict[str, Entry]:
    """msgid (with ``context\\x04`` before it when it has one) -> entry; obsolete ones left out."""
    entries: dict[str, Entry] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [ln for ln in block.strip().split("\n") if ln and not ln.startswith("#~")]
        fuzzy = any(ln.startswith("#,") and "fuzzy" in ln for ln in lines)
        parts: dict[str, list[str]] = {}
        key = ""
        for ln in lines:
            if ln.startswith("#"):
                continue
            m = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) ", ln)
            if m:
                key = m.group(1)
                parts[key] = [ln]
            elif key:
                parts[key].append(ln)
        if "msgid" not in parts:
            continue
        msgid = _unquote(parts["msgid"])
        if msgid == "":
            continue  # the header
        ctx = _unquote(parts["msgctxt"]) + "\x04" if "msgctxt" in parts else ""
        strs = [_unquote(v) for k, v in sorted(parts.items()) if k.startswith("msgstr")]
        plural = _unquote(parts["msgid_plural"]) if "msgid_plural" in parts else ""
        entries[ctx + msgid] = Entry(msgid=msgid, plural=plural, msgstr=strs, fuzzy=fuzzy)
    return entries


def extract(source: Path = SOURCE) -> dict[str, Entry]:
    """Every msgid of the sources, by makemessages over a temporary copy."""
    from django.core.management import call_command
    from django.test.utils import override_settings

    with tempfile.TemporaryDirectory(prefix="recurent-i18n-") as tmp:
        root = Path(tmp) / "recurent"
        for path in source.rglob("*"):
            if path.suffix in SUFFIXES and path.is_file() and "locale" not in path.parts:
                target = root / path.relative_to(source)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        locale = root / "locale"
        locale.mkdir()
        cwd = os.getcwd()
        os.chdir(root)
        try:
            with override_settings(LOCALE_PATHS=[str(locale)]):
                call_command("makemessages", locale=["ro"], ignore_patterns=IGNORE, verbosity=0)
        finally:
            os.chdir(cwd)
        return read_po(locale / "ro" / "LC_MESSAGES" / "django.po")


def problems(used: dict[str, Entry], catalogue: dict[str, Entry]) -> list[str]:
    """The msgids in ``used`` that ``catalogue`` lacks, leaves empty or marks fuzzy."""
    out = []
    for key in sorted(used):
        have = catalogue.get(key)
        if have is None:
            out.append(f"absent: {key!r}")
        elif not have.translated:
            out.append(f"{'fuzzy' if have.fuzzy else 'empty'}: {key!r}")
    return out


def main() -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recurent.settings.test")
    django.setup()
    found = problems(extract(), read_po(PO))
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
