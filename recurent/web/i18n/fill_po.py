"""Fill recurent/locale/ro/LC_MESSAGES/django.po from ro.py (run after makemessages).

.venv/bin/python -m recurent.web.i18n.fill_po && (cd recurent && ../.venv/bin/django-admin compilemessages)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from recurent.web.i18n.ro import RO

PO = Path(__file__).resolve().parents[2] / "locale" / "ro" / "LC_MESSAGES" / "django.po"


def _unquote(lines: list[str]) -> str:
    return (
        "".join(re.findall(r'"(.*)"', "\n".join(lines)))
        .encode()
        .decode("unicode_escape")
        .encode("latin-1")
        .decode("utf-8")
    )


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> int:
    entries = PO.read_text().split("\n\n")
    out, missing = [], []
    for entry in entries:
        lines = entry.split("\n")
        idx = next((i for i, line in enumerate(lines) if line.startswith("msgid ")), None)
        if idx is None:
            out.append(entry)
            continue
        j = idx + 1
        while j < len(lines) and lines[j].startswith('"'):
            j += 1
        msgid = _unquote(lines[idx:j])
        if msgid == "":
            out.append(entry)
            continue
        head = [line for line in lines[:idx] if not line.startswith("#, fuzzy")]
        plural = j < len(lines) and lines[j].startswith("msgid_plural")
        body = lines[idx:j] + ([lines[j]] if plural else [])
        ctx = next((i for i, line in enumerate(lines[:idx]) if line.startswith("msgctxt ")), None)
        if ctx is not None:
            # ro.py keys a text with a context as "context\x04text" (gettext's own notation).
            msgid = _unquote(lines[ctx:idx]) + "\x04" + msgid
        t = RO.get(msgid)
        if t is None:
            missing.append(msgid)
            out.append(entry)
            continue
        if plural:
            # ro.py lists (one, "de" form, few); the catalogue's order is (one, few, "de" form).
            forms = (t[0], t[2], t[1]) if isinstance(t, tuple) else (t, t, t)
            body += [f"msgstr[{i}] {_quote(f)}" for i, f in enumerate(forms)]
        else:
            body.append(f"msgstr {_quote(t if isinstance(t, str) else t[0])}")
        out.append("\n".join(head + body))
    PO.write_text("\n\n".join(out))
    for m in missing:
        print("missing:", m, file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
