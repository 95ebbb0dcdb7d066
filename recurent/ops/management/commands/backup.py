"""recurent backup [-o DIR]: a consistent snapshot of the database and media, with checksums."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from recurent.common import clock
from recurent.ops.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the database (SQLite online backup or pg_dump) and media into one checked tar."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "-o", "--output", default=str(Path(settings.DATA_DIR) / "backups"),
            help="folder for the backup file (default: the data folder's backups/)",
        )  # fmt: skip

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        try:
            r = backup_create(dest=Path(o["output"]), as_of=clock.now())
        except BackupError as e:
            raise CommandError(str(e)) from None
        self.stdout.write(
            f"{r.path}: {r.files} files, {r.bytes / 1e6:.1f} MB, checksums in its manifest"
        )
