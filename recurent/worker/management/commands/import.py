"""recurent import FILE: company, series, products, clients and contracts from JSON (all or nothing)."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from recurent.contracts.importing import ImportFailed, import_data, load_import_file


class Command(BaseCommand):
    help = "Import a JSON file (format: docs/import-format.md). One bad record writes nothing."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("file")
        parser.add_argument("--user", help="username that gets access and issues the invoices")

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        path = Path(o["file"])
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise CommandError(f"{path}: {e.strerror}") from None
        try:
            data = load_import_file(raw)
        except ImportFailed as e:
            for where, msg in e.errors:
                self.stderr.write(f"  {path}: {where}: {msg}")
            raise CommandError(
                f"{path}: {e.errors[0][0]}: {e.errors[0][1]}; nothing was imported"
            ) from None
        del raw  # the import keeps the file's text; the bytes would be a second copy
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
        for where, why in rep.kept:
            self.stdout.write(self.style.WARNING(f"  not applied: {where}: {why}"))
