"""Time ``recurent import`` of a file of N records (N/2 clients + N/2 contracts) on a fresh database.

    .venv/bin/python bench/importing.py --records 10000 50000 100000 --db sqlite
    .venv/bin/python bench/importing.py --records 10000 --db postgresql [--profile out.prof]

1. An empty migrated database is made once (PostgreSQL ``recurent_bench_import_tpl``, SQLite
   ``/tmp/recurent_bench/import_tpl.sqlite3``); each run imports into a fresh copy of it.
2. The file (``/tmp/recurent_bench/import_<N>.json``, made once): a company, two series,
   20 products, N/2 clients (companies with valid CUIs, every 5th an individual with a CNP)
   and N/2 contracts with 1-3 lines each, every field the way a business moving from another
   program would give it.
3. A child process runs ``recurent import FILE --user bench`` (the CLI command, in-process so
   that it can report itself): wall time from reading the file to the commit, records/s, and
   its peak RSS (VmHWM from /proc/self/status) before and after the import.
The load average of the machine (shared with other developers) is printed with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DIR = Path("/tmp/recurent_bench")
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
TPL = "recurent_bench_import_tpl"
WEIGHTS_CUI = (7, 5, 3, 2, 1, 7, 5, 3, 2)
WEIGHTS_CNP = (2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9)


def cui(n: int) -> str:
    """A valid CUI whose body is the number ``n`` (check digit appended)."""
    body = str(n).zfill(9)
    check = sum(int(d) * w for d, w in zip(body, WEIGHTS_CUI, strict=True)) * 10 % 11 % 10
    return str(n) + str(check)


def cnp(n: int) -> str:
    """A valid CNP of a man born in 1985, distinct for every ``n`` below 1,119,720."""
    serial, county, day = n % 999 + 1, n // 999 % 40 + 1, n // 39960 % 28 + 1
    body = f"185{(n // 1118880) % 12 + 1:02d}{day:02d}{county:02d}{serial:03d}"
    total = sum(int(d) * w for d, w in zip(body, WEIGHTS_CNP, strict=True)) % 11
    return body + ("1" if total == 10 else str(total))


def make_file(records: int) -> Path:
    path = DIR / f"import_{records}.json"
    if path.exists():
        return path
    n = records // 2
    products = [
        {"code": f"P{i:03d}", "name": f"Serviciu {i}", "unit_code": "MON", "unit_name": "lună",
         "unit_price": f"{10 + i}.90", "vat_category": "S", "vat_rate": "standard"}
        for i in range(20)
    ]  # fmt: skip
    clients, contracts = [], []
    for i in range(n):
        person = i % 5 == 4
        clients.append({
            "ref": f"c{i}", "kind": "individual" if person else "company",
            "name": f"Client {i} SRL", "tax_id": cnp(i) if person else "RO" + cui(1000000 + i),
            "street": f"Str. Lungă {i}", "city": "Cluj-Napoca", "county": "CJ",
            "postal_code": "400114", "emails": [f"facturi{i}@client.example"],
            "payment_term_days": 30,
        })  # fmt: skip
        contracts.append({
            "number": f"CTR-{i}", "client": f"c{i}", "signed_on": "2026-01-05",
            "first_issue_at": "2026-02-01T09:00", "cycle": ("monthly", "quarterly", "yearly")[i % 3],
            "series": "BEN",
            "lines": [{"product": f"P{(i + j) % 20:03d}", "quantity": str(1 + j)}
                      for j in range(1 + i % 3)],
        })  # fmt: skip
    data = {
        "version": 1,
        "company": {"legal_name": "Bench Import SRL", "cui": "RO18547290", "street": "Str. A 1",
                    "city": "Cluj-Napoca", "county": "CJ", "vat_payer": True},
        "series": [{"code": "BEN", "default": True}, {"code": "BENCN", "credit": True}],
        "products": products, "clients": clients, "contracts": contracts,
    }  # fmt: skip
    DIR.mkdir(exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1))
    return path


def env_for(url: str) -> dict[str, str]:
    return dict(os.environ) | {
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "recurent.settings.test",
        "PYTHONPATH": str(ROOT),
    }


def sh(url: str, *args: str) -> str:
    p = subprocess.run(list(args), env=env_for(url), cwd=ROOT, capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"{' '.join(args[:4])}: {p.stdout[-2000:]}{p.stderr[-3000:]}")
    return p.stdout


def pg_admin():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(PG_SERVER + "/postgres", autocommit=True)


def fresh_db(db: str, tag: str) -> str:
    """A copy of the migrated empty template (made once; migrated again for new migrations)."""
    if db == "postgresql":
        with pg_admin() as c:
            if not c.execute("SELECT 1 FROM pg_database WHERE datname=%s", [TPL]).fetchone():
                c.execute(f'CREATE DATABASE "{TPL}"')
        sh(f"{PG_SERVER}/{TPL}", sys.executable, "-m", "recurent.cli", "migrate", "-v0")
        name = f"recurent_bench_import_{tag}"
        with pg_admin() as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TPL}"')
        return f"{PG_SERVER}/{name}"
    DIR.mkdir(exist_ok=True)
    tpl = DIR / "import_tpl.sqlite3"
    sh(f"sqlite:///{tpl}", sys.executable, "-m", "recurent.cli", "migrate", "-v0")
    sh(f"sqlite:///{tpl}", "sqlite3", str(tpl), "PRAGMA wal_checkpoint(TRUNCATE);")
    path = DIR / f"import_{tag}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(tpl, path)
    return f"sqlite:///{path}"


def drop(url: str) -> None:
    if url.startswith("postgresql"):
        with pg_admin() as c:
            c.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)


def vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def child(path: str, profile: str | None) -> None:
    """In the fresh database: the CLI command, timed, with its peak memory."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    get_user_model().objects.create_superuser("bench", "bench@example.ro", "x")
    before = vm_hwm_mb()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = ru.ru_utime + ru.ru_stime
    t0 = time.perf_counter()
    if profile:
        import cProfile

        cProfile.runctx(
            "call_command('import', path, user='bench')", globals(), locals(), filename=profile
        )
    else:
        call_command("import", path, user="bench")
    wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"wall_s": round(wall, 2), "cpu_s": round(ru.ru_utime + ru.ru_stime - cpu0, 2),
                      "hwm_before_mb": before, "hwm_mb": vm_hwm_mb()}))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, nargs="+", default=[10000, 50000, 100000])
    ap.add_argument("--db", default="sqlite", help="sqlite or postgresql")
    ap.add_argument("--profile", help="cProfile output file (the first size only)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child(a.child, a.profile)
    for records in a.records:
        path = make_file(records)
        url = fresh_db(a.db, str(records))
        load = os.getloadavg()
        try:
            args = [sys.executable, __file__, "--child", str(path)]
            out = sh(url, *args, *(["--profile", a.profile] if a.profile else []))
            res = json.loads(out.strip().splitlines()[-1])
            if url.startswith("postgresql"):
                import psycopg

                with psycopg.connect(url) as c:
                    row = c.execute(
                        "SELECT (SELECT count(*) FROM clients_client),"
                        " (SELECT count(*) FROM contracts_contract),"
                        " (SELECT count(*) FROM contracts_contractline)"
                    ).fetchone()
            else:
                import sqlite3

                with sqlite3.connect(url.removeprefix("sqlite:///")) as c:
                    row = c.execute(
                        "SELECT (SELECT count(*) FROM clients_client),"
                        " (SELECT count(*) FROM contracts_contract),"
                        " (SELECT count(*) FROM contracts_contractline)"
                    ).fetchone()
        finally:
            drop(url)
        assert row[0] == row[1] == records // 2, row
        print(json.dumps({
            "db": a.db, "records": records, "clients": row[0], "contracts": row[1],
            "lines": row[2], "wall_s": res["wall_s"], "import_cpu_s": res["cpu_s"],
            "records_per_s": round(records / res["wall_s"]),
            "peak_rss_mb": res["hwm_mb"], "rss_before_import_mb": res["hwm_before_mb"],
            "loadavg_before": [round(x, 2) for x in load],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        }), flush=True)  # fmt: skip
        a.profile = None


if __name__ == "__main__":
    main()
