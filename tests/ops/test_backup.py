"""Backups that restore: taken while a worker bills, restored into an empty installation, and
the restored invoices still exactly once, gapless and whole (the fault tests' own SQL checks)."""

from __future__ import annotations

import json
import subprocess
import tarfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.faults.harness import (
    RECURENT,
    ROOT,
    check_invariants,
    env_for,
    expected_due,
    invoice_count,
    is_postgres,
    seed,
    start_worker,
    stop,
    wait_until,
)

pytestmark = pytest.mark.slow


def recurent(url: str, *args: str, media: Path) -> subprocess.CompletedProcess[str]:
    env = env_for(url) | {"RECURENT_MEDIA_ROOT": str(media)}
    return subprocess.run([*RECURENT, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def empty_database(url: str, tmp: Path) -> str:
    """A new database with no tables (what `restore` asks for)."""
    if not is_postgres(url):
        return f"sqlite:///{tmp / 'restored.sqlite3'}"
    name = f"recurent_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def drop(url: str) -> None:
    if is_postgres(url):
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def test_a_backup_taken_during_a_run_restores_whole_and_gapless(databases, tmp_path):
    url = databases.fresh()
    first = (datetime.now(UTC) - timedelta(days=60, hours=1)).isoformat()
    seed(url, "--contracts", "1500", "--series", "2", "--first", first, "--backdate-every", "2",
         "--backdate-days", "60")  # fmt: skip
    target = sum(expected_due(url, datetime.now(UTC)).values())
    media = tmp_path / "media"
    (media / "logos").mkdir(parents=True)
    (media / "logos" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 100)
    backups = tmp_path / "backups"

    # Given a worker billing
    worker = start_worker(url, "--batch-size", "20", log=tmp_path / "worker.log")
    try:
        assert wait_until(lambda: invoice_count(url) > 0, 60, 0.05, procs=[worker])
        # When a backup is taken in the middle of the run
        b = recurent(url, "backup", "-o", str(backups), media=media)
        assert b.returncode == 0, b.stderr
        during = invoice_count(url)
    finally:
        stop([worker])
    [archive] = list(backups.glob("recurent-*.tar"))
    assert 0 < during and invoice_count(url) <= target

    # Then it restores into an empty installation
    restored = empty_database(url, tmp_path)
    restored_media = tmp_path / "restored-media"
    try:
        r = recurent(restored, "restore", str(archive), media=restored_media)
        assert r.returncode == 0, r.stderr
        # with whole blocks only: exactly once, each series gapless, cursors = invoices
        state = check_invariants(restored, as_of=datetime.now(UTC), complete=False)
        assert 0 < state.invoices <= target
        assert (restored_media / "logos" / "logo.png").read_bytes() == (
            media / "logos" / "logo.png"
        ).read_bytes()
        # and a restore never lands on data: a second one is refused, nothing changed
        again = recurent(restored, "restore", str(archive), media=tmp_path / "m2")
        assert again.returncode != 0 and "not empty" in again.stderr
        # and the restored installation bills on to the end, with the same guarantees
        w = start_worker(restored, "--batch-size", "50", log=tmp_path / "restored.log")
        try:
            assert wait_until(lambda: invoice_count(restored) >= target, 120, 0.3, procs=[w])
        finally:
            stop([w])
        assert check_invariants(restored, as_of=datetime.now(UTC)).invoices == target
    finally:
        drop(restored)


def test_a_damaged_backup_is_refused_before_anything_is_written(databases, tmp_path):
    url = databases.fresh()
    media = tmp_path / "media"
    b = recurent(url, "backup", "-o", str(tmp_path), media=media)
    assert b.returncode == 0, b.stderr
    [archive] = list(tmp_path.glob("recurent-*.tar"))
    manifest = json.loads(tarfile.open(archive).extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest["files"][0]["name"].startswith("database.")
    # Flip one byte of the database inside the tar.
    data = bytearray(archive.read_bytes())
    with tarfile.open(archive) as t:
        member = t.getmember(manifest["files"][0]["name"])
    data[member.offset_data + 200] ^= 0xFF
    archive.write_bytes(bytes(data))
    target = empty_database(url, tmp_path)
    try:
        r = recurent(target, "restore", str(archive), media=tmp_path / "m")
        assert r.returncode != 0 and "checksum" in r.stderr
        if not is_postgres(target):
            assert not Path(target.removeprefix("sqlite:///")).exists() or (
                Path(target.removeprefix("sqlite:///")).stat().st_size == 0
            )
    finally:
        drop(target)
