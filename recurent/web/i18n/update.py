"""Bring the catalogues up to date after changing texts: makemessages (every app, Romanian and
English), then compilemessages. ``recurent/locale/ro/LC_MESSAGES/django.po`` is the one catalogue:
edit it with any PO tool (Poedit, Lokalize, or ``recurent.web.i18n.translate`` below).

    .venv/bin/python -m recurent.web.i18n.update

Exits 1 and lists the msgids that the Romanian catalogue does not translate yet.
"""

from __future__ import annotations

import os
import sys

from recurent.web.i18n.catalogue import IGNORE, PO, SOURCE, read_po


def main() -> int:
    import django
    from django.core.management import call_command

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recurent.settings.test")
    django.setup()
    cwd = os.getcwd()
    os.chdir(SOURCE)
    try:
        call_command(
            "makemessages", locale=["ro", "en"], ignore_patterns=IGNORE, no_obsolete=True,
            verbosity=0,
        )  # fmt: skip
        call_command("compilemessages", locale=["ro", "en"], verbosity=0)
    finally:
        os.chdir(cwd)
    missing = [key for key, entry in read_po(PO).items() if not entry.translated]
    for key in missing:
        print(f"untranslated: {key!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
