"""recurent import FILE: company, series, products, clients and contracts from JSON (all or nothing)."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from recurent.contracts.importing import ImportFailed, import_data


class Command(BaseCommand):
    help = "Import a JSON file (format: docs/import-format.md). One bad record writes nothing."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("file")
        parser.add_argument("--user", help="username that gets access and issues the invoices")

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        path = Path(o["file"])
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise CommandError(f"{path}: {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise CommandError(
                f"{path}: not JSON (line {e.lineno}, column {e.colno}: {e.msg})"
            ) from None
        user = None
        if o["user"]:
            user = get_user_model().objects.filter(username=o["user"]).first()
            if user is None:
                raise CommandError(f"--user: no user {o['user']!r}")
        try:
            rep = import_data(data, user=user)
        except ImportFailed as e:
            for where, msg in e.errors:
                self.stderr.write(f"  {where}: {msg}")
            raise CommandError(f"{len(e.errors)} error(s); nothing was imported") from None
        parts = [f"{n} {k}" for k, n in rep.created.items()]
        upd = [f"{n} {k}" for k, n in rep.updated.items()]
        self.stdout.write(
            f"imported into company #{rep.company_id}: created {', '.join(parts) or 'nothing'}"
            + (f"; updated {', '.join(upd)}" if upd else "")
        )
