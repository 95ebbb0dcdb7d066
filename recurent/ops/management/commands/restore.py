"""recurent restore FILE: restore a backup into an empty installation (checksums first)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recurent.ops.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = "Restore a `recurent backup` file into an empty database and media folder."
    requires_migrations_checks = False

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("archive", help="the .tar written by `recurent backup`")

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        path = Path(o["archive"])
        if not path.is_file():
            raise CommandError(f"archive: {path} is not a file")
        try:
            m = backup_restore(archive=path)
        except BackupError as e:
            raise CommandError(str(e)) from None
        self.stdout.write(
            f"restored {len(m['files'])} files from {m['created_at']} ({m['engine']}); "
            "run `recurent migrate` if this Recurent is newer than the backup"
        )
