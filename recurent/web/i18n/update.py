"""Bring the catalogues up to date after changing texts: makemessages (every app, Romanian and
English), the Romanian texts from ro.py (fill_po), then compilemessages.

    .venv/bin/python -m recurent.web.i18n.update

Exits 1 and lists the msgids that ro.py does not translate yet.
"""

from __future__ import annotations

import os
import sys

from recurent.web.i18n.catalogue import IGNORE, SOURCE


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
        from recurent.web.i18n import fill_po

        missing = fill_po.main()
        call_command("compilemessages", locale=["ro", "en"], verbosity=0)
    finally:
        os.chdir(cwd)
    return missing


if __name__ == "__main__":
    sys.exit(main())
