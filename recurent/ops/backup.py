"""Backups that restore: a consistent snapshot of the database plus the media files, in one tar
with a manifest of SHA-256 checksums.

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot
  while workers keep writing (WAL readers do not block writers).
- PostgreSQL: ``pg_dump --format=custom``, which reads the whole database in one repeatable-read
  transaction: a snapshot taken during a billing run holds whole blocks only, so the restored
  invoices are exactly-once and gapless like the live ones.

A restore goes into an EMPTY installation (a new database with no tables, an empty media
folder): it never merges into or overwrites data. Checksums are verified before anything is
written. After a restore into a newer Recurent, run ``recurent migrate``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

FORMAT = 1


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class BackupResult:
    path: Path
    files: int
    bytes: int


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _pg_env(db: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore, the password in the environment (never on
    the command line, where `ps` shows it)."""
    args = ["-h", db.get("HOST") or "127.0.0.1", "-p", str(db.get("PORT") or 5432),
            "-U", db.get("USER") or "postgres"]  # fmt: skip
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _migrations() -> dict[str, str]:
    with connection.cursor() as cur:
        cur.execute("SELECT app, MAX(name) FROM django_migrations GROUP BY app")
        return dict(cur.fetchall())


def backup_create(*, dest: Path, as_of: datetime) -> BackupResult:
    """Write ``recurent-<engine>-<instant>.tar`` into ``dest``; returns its path."""
    db = settings.DATABASES["default"]
    vendor = connection.vendor
    dest.mkdir(parents=True, exist_ok=True)
    stamp = as_of.strftime("%Y%m%dT%H%M%SZ")
    final = dest / f"recurent-{vendor}-{stamp}.tar"
    with tempfile.TemporaryDirectory(prefix="recurent-backup-", dir=dest) as tmp:
        work = Path(tmp)
        if vendor == "sqlite":
            db_file = work / "database.sqlite3"
            src = sqlite3.connect(str(db["NAME"]), timeout=60)
            try:
                out = sqlite3.connect(str(db_file))
                with out:
                    src.backup(out)
                out.close()
            finally:
                src.close()
        elif vendor == "postgresql":
            db_file = work / "database.pgdump"
            args, env = _pg_env(db)
            p = subprocess.run(
                ["pg_dump", *args, "--format=custom", "--no-owner", "--no-privileges",
                 "-f", str(db_file), str(db["NAME"])],
                env=env, capture_output=True, text=True,
            )  # fmt: skip
            if p.returncode != 0:
                raise BackupError(f"pg_dump failed: {p.stderr.strip()[-500:]}")
        else:  # pragma: no cover - the settings accept only these two
            raise BackupError(f"database engine {vendor!r} is not supported")
        media = Path(settings.MEDIA_ROOT)
        entries = [(db_file.name, db_file)]
        # Media in an S3 bucket are the bucket's to keep (versioning, replication): not here.
        on_disk = getattr(settings, "RECURENT_MEDIA_STORAGE", "file") == "file"
        if on_disk and media.is_dir():
            for path in sorted(p for p in media.rglob("*") if p.is_file()):
                entries.append(("media/" + path.relative_to(media).as_posix(), path))
        manifest = {
            "format": FORMAT,
            "created_at": as_of.isoformat(),
            "engine": vendor,
            "migrations": _migrations(),
            "media": "included" if on_disk else "in the S3 bucket, not in this backup",
            "files": [
                {"name": name, "bytes": path.stat().st_size, "sha256": _sha256(path)}
                for name, path in entries
            ],
        }
        partial = work / "backup.tar"
        with tarfile.open(partial, "w") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            for name, path in entries:
                tar.add(path, arcname=name, recursive=False)
        # Renamed into place only when whole: a crash never leaves a half backup with a good name.
        os.replace(partial, final)
    return BackupResult(final, len(entries), final.stat().st_size)


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.extractfile("manifest.json")
    except KeyError:
        raise BackupError("not a Recurent backup: manifest.json is missing") from None
    if member is None:
        raise BackupError("not a Recurent backup: manifest.json is not a file")
    manifest: dict[str, Any] = json.loads(member.read())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')!r} is not {FORMAT}")
    return manifest


def backup_verify(archive: Path, into: Path) -> dict[str, Any]:
    """Extract to ``into`` and check every file against the manifest; raise on any difference."""
    with tarfile.open(archive, "r") as tar:
        manifest = _read_manifest(tar)
        names = {f["name"] for f in manifest["files"]}
        for member in tar.getmembers():
            if member.name == "manifest.json":
                continue
            if member.name not in names or not member.isfile():
                raise BackupError(f"{member.name}: not listed in the manifest")
        tar.extractall(into, filter="data")
    for f in manifest["files"]:
        path = into / f["name"]
        if not path.is_file() or _sha256(path) != f["sha256"]:
            raise BackupError(f"{f['name']}: checksum differs from the manifest (damaged backup)")
    return manifest


def _database_is_empty() -> bool:
    return not connection.introspection.table_names()


def backup_restore(*, archive: Path) -> dict[str, Any]:
    """Restore into this (empty) installation. Nothing is written unless the archive is whole,
    the database has no tables and the media folder is empty."""
    db = settings.DATABASES["default"]
    vendor = connection.vendor
    media = Path(settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory(prefix="recurent-restore-") as tmp:
        work = Path(tmp)
        manifest = backup_verify(archive, work)
        if manifest["engine"] != vendor:
            raise BackupError(
                f"the backup is of a {manifest['engine']} database; this installation uses {vendor}"
            )
        if not _database_is_empty():
            raise BackupError(
                "the database is not empty: restore into a new, empty database (no tables)"
            )
        if media.is_dir() and any(media.iterdir()):
            raise BackupError(f"the media folder {media} is not empty")
        if vendor == "sqlite":
            connection.close()
            target = Path(str(db["NAME"]))
            for suffix in ("-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            tmp_target = target.with_name(target.name + ".restoring")
            shutil.copyfile(work / "database.sqlite3", tmp_target)
            os.replace(tmp_target, target)
        else:
            args, env = _pg_env(db)
            connection.close()
            p = subprocess.run(
                ["pg_restore", *args, "--no-owner", "--no-privileges", "--single-transaction",
                 "--exit-on-error", "-d", str(db["NAME"]), str(work / "database.pgdump")],
                env=env, capture_output=True, text=True,
            )  # fmt: skip
            if p.returncode != 0:
                raise BackupError(f"pg_restore failed: {p.stderr.strip()[-500:]}")
        src_media = work / "media"
        if src_media.is_dir():
            media.mkdir(parents=True, exist_ok=True)
            shutil.copytree(src_media, media, dirs_exist_ok=True)
    return manifest
