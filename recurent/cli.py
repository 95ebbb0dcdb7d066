"""``recurent``: the project's manage.py, installed as a console script."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recurent.settings.dev")
    argv = list(sys.argv if argv is None else argv)
    argv[0] = "recurent"
    from django.core.management import execute_from_command_line

    if len(argv) == 1 or argv[1] in {"-h", "--help", "help"} and len(argv) == 2:
        from django.conf import settings

        db = settings.DATABASES["default"]
        where = (
            db["NAME"]
            if "sqlite" in db["ENGINE"]
            else f"{db['ENGINE']} {db.get('HOST')}/{db['NAME']}"
        )
        print(
            "Recurent: recurring invoicing.\n"
            f"Database: {where}  (set DATABASE_URL to change; default SQLite file above)\n"
            "Billing: recurent bill | worker | schedule | import | export | demo | serve\n"
        )
    try:
        execute_from_command_line(argv)
    except BrokenPipeError:
        # `recurent export invoices | head`: the reader left; not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


if __name__ == "__main__":
    main()
