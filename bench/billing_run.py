"""Bill N contracts all due at once with W processes; report speed, memory, and check the result.

    .venv/bin/python bench/billing_run.py --contracts 100000 --db postgresql --workers 2 [--phases]

1. A template database with N contracts (bench/generate.py) is made once and kept
   (PostgreSQL ``recurent_bench_tpl_<N>``, SQLite ``/tmp/recurent_bench/tpl_<N>.sqlite3``);
   each run bills a fresh copy of it (``--fresh-template`` regenerates it).
2. Database phase: W ``recurent bill --as-of FIRST`` processes start together and share the
   run (the same ``issue_batch`` loop as ``recurent worker``: SKIP LOCKED on PostgreSQL,
   turns on SQLite). Reported: wall time, invoices/s, each process' peak RSS (wait4).
3. Verified with plain SQL (tests/faults/harness.py): N invoices, each period once, every
   series 1..n without a gap and dates in order, counters, lines, cursors.
4. ``--phases``: then the documents phase (XML + check + PDF, the documents app's task)
   in ``--doc-procs`` processes (``--doc-limit``: a sample); outbox rows counted; then the
   mail phase: every queued email sent to a local SMTP sink (aiosmtpd) by the mail app's task
   in ``--mail-procs`` processes. ``end_to_end_s``: the three phases one after another, from
   the first claim to the last email accepted (the worker overlaps them: an upper bound);
   ``cores_busy``: the CPU of every process and of PostgreSQL over that time and the cores.
5. ``--probe``: meanwhile a second company's invoices are issued one at a time by hand
   (``issue_due`` for that company) and each call is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recurent.engine.cycles import BUCHAREST  # noqa: E402
from tests.faults.grouped import check_grouped, regroup  # noqa: E402
from tests.faults.harness import check_invariants, env_for, rows  # noqa: E402

RECURENT = [sys.executable, "-m", "recurent.cli"]
SQLITE_DIR = Path("/tmp/recurent_bench")


def pg_admin(server: str) -> psycopg.Connection:
    return psycopg.connect(server + "/postgres", autocommit=True)


def pg_exists(server: str, name: str) -> bool:
    with pg_admin(server) as c:
        return (
            c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
        )


def sh(url: str, *args: str) -> None:
    p = subprocess.run(list(args), env=env_for(url), cwd=ROOT, capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"{' '.join(args[:4])}: {p.stderr[-3000:]}")


def _schema_tag() -> str:
    """Six hex digits naming the set of migrations: a template made under another schema (an
    index more or less) is another template, never reused by mistake."""
    import hashlib

    names = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("recurent/*/migrations/0*.py"))
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:6]


def _suffix(a: argparse.Namespace) -> str:
    return (
        (f"_s{a.series}" if a.series > 1 else "")
        + (f"_m{round(a.auto_email * 100)}" if a.auto_email else "")
        + f"_{_schema_tag()}"
    )


def template(a: argparse.Namespace) -> str:
    """The URL of a database holding N generated contracts, made once."""
    if a.db == "postgresql":
        name = f"recurent_bench_tpl_{a.contracts}{_suffix(a)}"
        url = f"{a.pg_server}/{name}"
        if a.fresh_template and pg_exists(a.pg_server, name):
            with pg_admin(a.pg_server) as c:
                c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if pg_exists(a.pg_server, name):
            return url
        with pg_admin(a.pg_server) as c:
            c.execute(f'CREATE DATABASE "{name}"')
    else:
        SQLITE_DIR.mkdir(exist_ok=True)
        path = SQLITE_DIR / f"tpl_{a.contracts}{_suffix(a)}.sqlite3"
        url = f"sqlite:///{path}"
        if a.fresh_template:
            path.unlink(missing_ok=True)
        if path.exists():
            return url
    t = time.perf_counter()
    try:
        sh(url, *RECURENT, "migrate", "-v0")
        sh(url, sys.executable, str(ROOT / "bench" / "generate.py"), "--no-migrate", "--quiet",
           "--contracts", str(a.contracts), "--series", str(a.series), "--first", a.first,
           "--auto-email", str(a.auto_email))  # fmt: skip
    except BaseException:
        if a.db == "postgresql":
            with pg_admin(a.pg_server) as c:
                c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        else:
            path.unlink(missing_ok=True)
        raise
    print(f"generated {a.contracts} contracts in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return url


def copy_of(a: argparse.Namespace, tpl: str) -> str:
    if a.db == "postgresql":
        name = f"recurent_bench_run_{a.contracts}_{os.getpid()}"
        with pg_admin(a.pg_server) as c:
            c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{tpl.rsplit("/", 1)[1]}"')
        url = f"{a.pg_server}/{name}"
    else:
        path = SQLITE_DIR / f"run_{a.contracts}_{os.getpid()}.sqlite3"
        shutil.copyfile(tpl.removeprefix("sqlite:///"), path)
        url = f"sqlite:///{path}"
    sh(url, *RECURENT, "migrate", "-v0")  # other apps' new migrations since the template
    if a.db == "postgresql":
        # As autovacuum leaves a production database: planner statistics present (a freshly
        # bulk-loaded copy has none, and the planner then sorts every due contract per block),
        # and the rows' hint bits and visibility map set (a copy of a template made minutes
        # before has neither: the run's first reads would write every page of contracts and
        # lines; measured: 100,000 on such a copy 2,606/s against 4,515/s).
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("VACUUM (ANALYZE)")
    return url


def drop(a: argparse.Namespace, url: str) -> None:
    if a.db == "postgresql":
        with pg_admin(a.pg_server) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)


def postmaster_of(server: str) -> int | None:
    """The pid of the postmaster serving ``server`` when it runs on this machine (a backend's
    parent), else None."""
    try:
        with pg_admin(server) as c:
            backend = c.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        raw = Path(f"/proc/{backend}/stat").read_text()
    except (OSError, psycopg.Error):
        return None
    return int(raw[raw.rindex(")") + 2 :].split()[1])


# Set by main() to the benchmark server's postmaster: with a server of its own (``--pg-server``
# on another port), the PostgreSQL CPU counted is the run's alone.
POSTMASTER: int | None = None


def postgres_cpu_s() -> float:
    """CPU seconds used so far by the benchmark server's PostgreSQL processes (live ones, plus
    the ones already reaped through the postmaster's children times). Without a known
    postmaster, every PostgreSQL process of the machine counts: an upper bound."""
    tick = os.sysconf("SC_CLK_TCK")
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                raw = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            name = raw[raw.index("(") + 1 : raw.rindex(")")]
            fields = raw[raw.rindex(")") + 2 :].split()
            procs[int(d)] = (name, int(fields[1]), [int(x) for x in fields[11:15]])
    total = 0
    for pid, (name, ppid, (ut, st, cut, cst)) in procs.items():
        if not name.startswith("postgres"):
            continue
        if POSTMASTER is not None and POSTMASTER not in (pid, ppid):
            continue  # another server's process
        total += ut + st
        if not procs.get(ppid, ("",))[0].startswith("postgres"):  # the postmaster
            total += cut + cst
    return total / tick


def run_procs(url: str, cmds: list[list[str]], extra_env: dict[str, str] | None = None) -> dict:
    """Start the commands together; wall time and each one's peak RSS (from wait4)."""
    env = env_for(url) | (extra_env or {})
    pg0 = postgres_cpu_s()
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(c, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for c in cmds
    ]
    peak_mb, cpu_s, outs, ends = [], [], [], []
    for p in procs:
        _, status, ru = os.wait4(p.pid, 0)
        ends.append(round(time.perf_counter() - t0, 2))
        p.returncode = os.waitstatus_to_exitcode(status)
        out, err = p.stdout.read(), p.stderr.read()  # type: ignore[union-attr]
        if p.returncode:
            raise SystemExit(
                f"{' '.join(map(str, p.args[:4]))}: exit {p.returncode}\n{err.decode()[-3000:]}"
            )  # type: ignore[index]
        peak_mb.append(round(ru.ru_maxrss / 1024, 1))
        cpu_s.append(round(ru.ru_utime + ru.ru_stime, 2))
        outs.append(out.decode())
    return {
        "wall_s": round(time.perf_counter() - t0, 2),
        "peak_rss_mb": peak_mb,
        "cpu_s": cpu_s,
        "ends_s": ends,  # when each was seen to end (in start order: a later one may end sooner)
        "postgres_cpu_s": round(postgres_cpu_s() - pg0, 2),
        "out": outs,
    }


def phase_child(name: str, limit: int | None) -> None:
    """One process of a documents/mail phase: run the app's task until it has nothing left
    (or, with ``limit``, until the database holds documents for that many invoices)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recurent.settings.test")
    django.setup()
    from recurent.worker.tasks import TASKS

    fn = dict(TASKS)[name]
    done = 0
    while n := fn(limit=100):
        done += n
        if limit and _rendered() >= limit:
            break
    print(json.dumps({"done": done}))


def _rendered() -> int:
    from recurent.documents.models import InvoiceDocument

    return InvoiceDocument.objects.filter(kind="pdf").count()


PROBES = 30


def probe_setup(url: str, at: datetime) -> None:
    """A second company with PROBES contracts, one due every minute from ``at``."""
    code = f"""
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recurent.settings.test")
django.setup()
from datetime import datetime, timedelta
from tests import factories as f
c, _, u = f.setup_company()
at = datetime.fromisoformat({at.isoformat()!r})
for k in range({PROBES}):
    f.contract(c, issuer=u, first=at + timedelta(minutes=k))
print(c.pk)
"""
    p = subprocess.run([sys.executable, "-c", code], env=env_for(url), cwd=ROOT,
                       capture_output=True, text=True, check=True)  # fmt: skip
    return int(p.stdout.split()[-1])


def probe_child(spec: str) -> None:
    """While the big run goes on: issue the second company's invoices one at a time, the
    way the web app's "issue now" does (issue_due for one company), and time each call."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recurent.settings.test")
    django.setup()
    from datetime import timedelta

    from recurent.common.writer_turn import by_hand
    from recurent.invoices.services import issue_due

    company_id, at_s, delay = spec.split(",")
    at = datetime.fromisoformat(at_s)
    time.sleep(float(delay))  # let the run get going
    ms = []
    for k in range(PROBES):
        t = time.perf_counter()
        with by_hand():  # what the web's middleware does around a person's request
            r = issue_due(as_of=at + timedelta(minutes=k), company_id=int(company_id))
        ms.append(round((time.perf_counter() - t) * 1000, 1))
        assert r.issued == 1, r
        time.sleep(0.2)
    print(json.dumps({"ms": ms}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--contracts", type=int, default=10000)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=None, help="default: the engine's setting")
    ap.add_argument("--series", type=int, default=1)
    ap.add_argument("--first", default="2026-12-01T09:00", help="when every contract is due")
    ap.add_argument("--auto-email", type=float, default=0.2,
                    help="share of contracts that email their invoices (outbox rows)")  # fmt: skip
    ap.add_argument("--phases", action="store_true", help="also documents and mail phases")
    ap.add_argument("--doc-procs", type=int, default=None,
                    help="processes for the documents phase (default: --workers)")  # fmt: skip
    ap.add_argument("--mail-procs", type=int, default=None,
                    help="processes of the mail phase (default: --workers)")  # fmt: skip
    ap.add_argument("--doc-limit", type=int, default=None,
                    help="render only this many invoices' documents (a sample of the phase)")  # fmt: skip
    ap.add_argument("--probe", action="store_true",
                    help="meanwhile, issue single invoices of a second company and time them")  # fmt: skip
    ap.add_argument("--grouped", type=int, default=0, metavar="K",
                    help="every K contracts are one client's, who wants one invoice (issue 18)")  # fmt: skip
    ap.add_argument("--pg-server", default="postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--fresh-template", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the billed database")
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--report", help="also write the run to REPORT.json and a table to REPORT.md")
    ap.add_argument("--phase-child", help=argparse.SUPPRESS)
    ap.add_argument("--probe-child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.phase_child:
        return phase_child(a.phase_child, a.doc_limit)
    if a.probe_child:
        return probe_child(a.probe_child)

    global POSTMASTER
    if a.db == "postgresql":
        POSTMASTER = postmaster_of(a.pg_server)
    tpl = template(a)
    url = copy_of(a, tpl)
    if a.grouped:
        regroup(url, a.grouped)
    as_of = datetime.fromisoformat(a.first)
    as_of = as_of if as_of.tzinfo else as_of.replace(tzinfo=BUCHAREST)
    report: dict = {"contracts": a.contracts, "db": a.db, "workers": a.workers, "batch_size": a.batch_size,
                    "date": time.strftime("%Y-%m-%d %H:%M"), "load_before": os.getloadavg()[0]}  # fmt: skip
    try:
        bill = [*RECURENT, "bill", "--skip-checks", "--as-of", as_of.isoformat(), "--json"]
        if a.batch_size:
            bill += ["--batch-size", str(a.batch_size)]
        cmds = [bill] * a.workers
        if a.probe:
            probe_at = as_of + timedelta(days=1)
            company_id = probe_setup(url, probe_at)
            me = [sys.executable, str(Path(__file__).resolve())]
            cmds = [*cmds, [*me, "--probe-child", f"{company_id},{probe_at.isoformat()},1.5"]]
        r = run_procs(url, cmds)
        outs = r.pop("out")
        if a.probe:
            report["probe_ms"] = ms = json.loads(outs.pop())["ms"]
            ranked = sorted(ms)
            report["probe_p50_ms"] = ranked[len(ranked) // 2]
            report["probe_p99_ms"] = ranked[min(len(ranked) - 1, round(0.99 * len(ranked)))]
            report["probe_rss_mb"] = r["peak_rss_mb"].pop()
            report["probe_cpu_s"] = r["cpu_s"].pop()
            report["probe_ended_s"] = r["ends_s"].pop()
            r["wall_s"] = max(r["ends_s"])  # the billing processes' wall time
        issued = [json.loads(o)["issued"] for o in outs]
        report["database"] = r | {"issued": issued, "per_s": round(sum(issued) / r["wall_s"])}
        # Contract periods billed per second: the engine's throughput, grouped or not.
        report["database"]["periods_per_s"] = round(a.contracts / r["wall_s"])
        report["grouped"] = a.grouped
        if a.grouped and not a.no_verify:
            state = check_grouped(url, as_of=as_of)
            assert state.invoices == a.contracts, (state, a.contracts)  # periods, each once
            report["verified"] = f"{a.contracts} periods on {sum(issued)} invoices, each once"
        elif not a.no_verify:
            t = time.perf_counter()
            # With --probe, the probe company's periods fall due a day later (no bench
            # contract has a second period due within a day: the shortest cycle is a week).
            check_at = as_of + timedelta(days=1, minutes=PROBES) if a.probe else as_of
            state = check_invariants(url, as_of=check_at)
            probes = PROBES if a.probe else 0
            assert state.invoices == sum(issued) + probes, (state, issued)
            assert sum(issued) == a.contracts, issued
            report["verified"] = (
                f"{state.invoices} invoices, each once, gapless ({time.perf_counter() - t:.0f} s)"
            )
        if a.phases:
            if a.db == "postgresql":
                # What autovacuum does within a minute of 100,000 new invoices and outbox rows:
                # planner statistics of the billed tables (the copy was analyzed before billing,
                # when the outbox was empty; the documents' plans then read every waiting email).
                t = time.perf_counter()
                with psycopg.connect(url, autocommit=True) as c:
                    c.execute("ANALYZE")
                report["analyze_s"] = round(time.perf_counter() - t, 2)
            report["phases"] = ph = phases(a, url)
            runs = [report["database"], *(r for r in ph.values() if isinstance(r, dict))]
            report["end_to_end_s"] = wall = round(sum(r["wall_s"] for r in runs), 2)
            cpu = sum(sum(r["cpu_s"]) + r["postgres_cpu_s"] for r in runs)
            report["cores_busy"] = round(cpu / (wall * (os.cpu_count() or 1)), 2)
    finally:
        if not a.keep:
            drop(a, url)
    report["load_after"] = os.getloadavg()[0]
    report["commit"] = _commit()
    print(json.dumps(report))
    if a.report:
        write_report(report, Path(a.report))


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def markdown_table(report: dict) -> str:
    """One run as the rows docs/benchmarks/billing.md keeps: phase, wall, CPU, invoices/s."""
    head = (f"{report['date']} · commit {report.get('commit', '?')} · {report['db']} · "
            f"{report['contracts']:,} contracts · {report['workers']} worker(s) · load "
            f"{report['load_before']:.1f} → {report['load_after']:.1f}")  # fmt: skip
    rows = ["| phase | wall s | CPU s (per process) | PostgreSQL CPU s | invoices/s | peak RSS MB |",
            "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    phases = {"database": report.get("database"), **(report.get("phases") or {})}
    for name, r in phases.items():
        if not isinstance(r, dict) or "wall_s" not in r:
            continue
        rows.append(
            f"| {name} | {r['wall_s']} | {', '.join(map(str, r.get('cpu_s', [])))} | "
            f"{r.get('postgres_cpu_s', '')} | {r.get('per_s', '')} | "
            f"{', '.join(map(str, r.get('peak_rss_mb', [])))} |"
        )
    verified = report.get("verified", "not verified (--no-verify)")
    if "end_to_end_s" in report:
        rows.append(f"| end to end | {report['end_to_end_s']} | cores busy "
                    f"{report['cores_busy']:.0%} | | | |")  # fmt: skip
    return f"{head}\n\n" + "\n".join(rows) + f"\n\nVerified: {verified}.\n"


def write_report(report: dict, path: Path) -> None:
    """``--report PATH``: PATH.json (the run as printed) and PATH.md (the table)."""
    path.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    path.with_suffix(".md").write_text(markdown_table(report))


def phases(a: argparse.Namespace, url: str) -> dict:
    """After the invoices are committed: XML + check + PDF (the documents app's task), in
    ``--doc-procs`` processes sharing the invoices (render_pending claims them with SKIP
    LOCKED on PostgreSQL). Outbox rows are written by the mail app's AFTER_ISSUE hook
    inside the issuing transaction, i.e. in the database phase: counted here.
    """
    out: dict = {}
    me = [sys.executable, str(Path(__file__).resolve())]
    procs = a.doc_procs or a.workers
    child = [*me, "--phase-child", "documents"]
    if a.doc_limit:
        child += ["--doc-limit", str(a.doc_limit)]
    r = run_procs(url, [child] * procs)
    done = [json.loads(o)["done"] for o in r.pop("out")]
    rendered = rows(url, "SELECT COUNT(DISTINCT invoice_id) FROM documents_invoicedocument")[0][0]
    out["documents"] = r | {"processes": procs, "rendered_per_process": done,
                            "invoices_with_documents": rendered,
                            "per_s": round(rendered / r["wall_s"], 1)}  # fmt: skip
    if _has(url, "mail_outboxmessage"):
        out["outbox_rows"] = rows(url, "SELECT COUNT(*) FROM mail_outboxmessage")[0][0]
        if out["outbox_rows"] and not a.doc_limit:
            out["mail"] = mail_phase(a, url)
    return out


def mail_phase(a: argparse.Namespace, url: str) -> dict:
    """Every queued email sent to a local SMTP sink (aiosmtpd, a process of its own) by the
    mail app's task, in ``--mail-procs`` processes (default: ``--workers``)."""
    from smtp_sink import smtp_sink

    with smtp_sink() as port:
        code = (
            "import os, django\n"
            "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'recurent.settings.test')\n"
            "django.setup()\n"
            "from recurent.companies.models import Company\n"
            "from recurent.mail.services import smtp_settings_save\n"
            "for c in Company.objects.all():\n"
            f"    smtp_settings_save(company=c, host='127.0.0.1', port={port}, security='none',"
            " from_email='facturi@bench.ro')\n"
        )
        subprocess.run([sys.executable, "-c", code], env=env_for(url), cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        me = [sys.executable, str(Path(__file__).resolve())]
        procs = a.mail_procs or a.workers
        r = run_procs(url, [[*me, "--phase-child", "mail"]] * procs)
        r.pop("out")
    sent = rows(url, "SELECT COUNT(*) FROM mail_outboxmessage WHERE state = 'sent'")[0][0]
    size = rows(
        url, "SELECT AVG(LENGTH(content)) FROM documents_invoicedocument WHERE kind = 'pdf'"
    )[0][0]
    return r | {"processes": procs, "sent": sent, "per_s": round(sent / r["wall_s"], 1),
                "pdf_kb": round(float(size or 0) / 1024, 1)}  # fmt: skip


def _has(url: str, table: str) -> bool:
    try:
        rows(url, f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608
        return True
    except Exception:
        return False


if __name__ == "__main__":
    main()
