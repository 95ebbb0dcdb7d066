"""Real processes against a real database of their own: create, seed, run, check.

The fault tests never use pytest-django's test database: the workers are separate
processes and need committed data, so each test gets a database of its own (a copy of a
migrated template), seeded with bench/generate.py, and checked with plain SQL so the
checks share no code with the engine they judge.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from recurent.engine.cycles import BUCHAREST, Cycle, Schedule, wall_clock

ROOT = Path(__file__).resolve().parents[2]
RECURENT = [sys.executable, "-m", "recurent.cli"]
GENERATE = [sys.executable, str(ROOT / "bench" / "generate.py")]


def configured_url() -> str:
    return os.environ.get("DATABASE_URL", "")


def is_postgres(url: str | None = None) -> bool:
    return (url if url is not None else configured_url()).startswith(
        ("postgres://", "postgresql://")
    )


def env_for(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url, DJANGO_SETTINGS_MODULE="recurent.settings.test", PYTHONUNBUFFERED="1"
    )
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run(url: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RECURENT, *args],
        env=env_for(url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def seed(url: str, *args: str) -> None:
    p = subprocess.run(
        [*GENERATE, "--no-migrate", "--quiet", *args],
        env=env_for(url), cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr


def start_worker(url: str, *extra: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        # --skip-checks: a worker serves no URLs; the web apps' checks are other tests' business.
        [*RECURENT, "worker", "--skip-checks", "--no-tasks", "--max-sleep", "0.2", *extra],
        env=env_for(url), cwd=ROOT, stdout=out, stderr=out,
    )  # fmt: skip


def stop(procs: list[subprocess.Popen[bytes]], timeout: float = 60) -> list[int]:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    return [p.wait(timeout=timeout) for p in procs]


# --- databases -------------------------------------------------------------------------------


class Databases:
    """Fresh databases copied from one migrated template (migrating takes seconds; copying, not)."""

    def __init__(self, base_url: str, tmp: Path) -> None:
        self.base_url, self.tmp = base_url, tmp
        self.pg = is_postgres(base_url)
        self.token = uuid.uuid4().hex[:10]
        self.made: list[str] = []
        self.template = self._migrated_template()

    def _admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.base_url.rsplit("/", 1)[0] + "/postgres", autocommit=True)

    def _migrated_template(self) -> str:
        if self.pg:
            name = f"recurent_faults_{self.token}_tpl"
            with self._admin() as c:
                c.execute(f'CREATE DATABASE "{name}"')
            self.made.append(name)
            url = self.base_url.rsplit("/", 1)[0] + "/" + name
        else:
            url = f"sqlite:///{self.tmp / 'template.sqlite3'}"
        p = run(url, "migrate", "-v0", timeout=300)
        assert p.returncode == 0, p.stderr
        return url

    def fresh(self) -> str:
        if self.pg:
            name = f"recurent_faults_{self.token}_{len(self.made)}"
            with self._admin() as c:
                c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.made[0]}"')
            self.made.append(name)
            return self.base_url.rsplit("/", 1)[0] + "/" + name
        path = self.tmp / f"db{len(self.made)}.sqlite3"
        shutil.copyfile(self.tmp / "template.sqlite3", path)
        self.made.append(str(path))
        return f"sqlite:///{path}"

    def drop_all(self) -> None:
        if not self.pg:
            return
        with self._admin() as c:
            for name in reversed(self.made):
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def connect(url: str) -> Iterator[Any]:
    if is_postgres(url):
        with psycopg.connect(url, autocommit=True) as c:
            yield c
    else:
        c = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=60)
        try:
            yield c
        finally:
            c.close()


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with connect(url) as c:
        return list(c.execute(sql).fetchall())


def aware(v: Any) -> datetime | None:
    if v is None or isinstance(v, datetime):
        return v
    return datetime.fromisoformat(v).replace(tzinfo=UTC)  # SQLite: naive UTC text


def invoice_count(url: str) -> int:
    return rows(url, "SELECT COUNT(*) FROM invoices_invoice")[0][0]


# --- the invariants ------------------------------------------------------------------------


@dataclass
class State:
    invoices: int
    expected: int  # due periods as of the instant checked


def expected_due(url: str, as_of: datetime) -> dict[int, int]:
    """Periods due per contract as of ``as_of``, computed from the contract terms alone."""
    out: dict[int, int] = {}
    cache: dict[tuple[Any, ...], int] = {}
    for cid, first, cycle, every, arrears, ends, final in rows(
        url,
        "SELECT id, first_issue_at, cycle, every_days, in_arrears, ends_at, final_index "
        "FROM contracts_contract WHERE status IN ('active', 'ended')",
    ):
        key = (first, cycle, every, bool(arrears), ends, final)
        if key not in cache:
            sch = Schedule(
                first_wall=wall_clock(aware(first), BUCHAREST),  # type: ignore[arg-type]
                cycle=Cycle.parse(cycle, every),
                end=aware(ends),
                in_arrears=bool(arrears),
                final_index=final,
            )
            cache[key] = len(sch.due(0, as_of))
        out[cid] = cache[key]
    return out


def check_invariants(url: str, *, as_of: datetime, complete: bool = True) -> State:
    """Everything issue #2 promises after any run, crash or not; raises AssertionError.

    ``complete``: the run is over, so every period due by ``as_of`` must be invoiced;
    otherwise (right after a crash) fewer may be, but never more.
    """
    # 1. Exactly once per (contract, period).
    dup = rows(url, "SELECT contract_id, period_index, COUNT(*) FROM invoices_invoice "
                    "GROUP BY contract_id, period_index HAVING COUNT(*) > 1")  # fmt: skip
    assert not dup, f"periods invoiced twice: {dup[:5]}"
    # 2. Each series numbered 1..n without a gap, dates non-decreasing along the numbers,
    #    and the counter right after the last number.
    by_series: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for sid, number, issued in rows(url, "SELECT series_id, number, issued_at FROM invoices_invoice "
                                         "ORDER BY series_id, number"):  # fmt: skip
        by_series[sid].append((number, aware(issued)))  # type: ignore[arg-type]
    for sid, next_number in rows(url, "SELECT id, next_number FROM companies_invoiceseries"):
        nums = [n for n, _ in by_series.get(sid, [])]
        assert nums == list(range(1, len(nums) + 1)), (
            f"series {sid}: gap or reuse near {_first_gap(nums)}"
        )
        assert next_number == len(nums) + 1, (
            f"series {sid}: counter {next_number}, {len(nums)} invoices"
        )
        dates = [d for _, d in by_series.get(sid, [])]
        bad = [i for i in range(1, len(dates)) if dates[i] < dates[i - 1]]
        assert not bad, (
            f"series {sid}: number {nums[bad[0]]} dated before number {nums[bad[0] - 1]}"
        )
    # 3. No half-written invoice: every invoice has all its contract's lines and totals that add up.
    cent = Decimal("0.01")
    lines: dict[int, tuple[int, Decimal]] = {}
    for iid, net in rows(url, "SELECT invoice_id, net FROM invoices_invoiceline"):
        n, total = lines.get(iid, (0, Decimal(0)))
        lines[iid] = (n + 1, total + Decimal(str(net)).quantize(cent))
    want_lines = dict(
        rows(url, "SELECT contract_id, COUNT(*) FROM contracts_contractline GROUP BY contract_id")
    )
    # One-off charges (contracts.ContractCharge) add a line each to the invoice they landed on.
    charges = dict(rows(url, "SELECT invoice_id, COUNT(*) FROM contracts_contractcharge "
                             "WHERE invoice_id IS NOT NULL GROUP BY invoice_id"))  # fmt: skip
    per_contract: dict[int, list[int]] = defaultdict(list)
    invoices = rows(url, "SELECT id, contract_id, period_index, net_total FROM invoices_invoice")
    for iid, cid, index, net in invoices:
        n, total = lines.get(iid, (0, Decimal(0)))
        want = want_lines[cid] + charges.get(iid, 0)
        assert n == want, f"invoice {iid}: {n} lines, its contract and charges make {want}"
        assert total == Decimal(str(net)).quantize(cent), (
            f"invoice {iid}: lines sum to {total}, net total {net}"
        )
        per_contract[cid].append(index)
    # 4. Every contract's cursor equals its invoices, which are its periods 0..k-1; nothing due is left.
    expected = expected_due(url, as_of)
    for cid, next_index in rows(url, "SELECT id, next_index FROM contracts_contract"):
        got = sorted(per_contract.get(cid, []))
        assert got == list(range(next_index)), f"contract {cid}: cursor {next_index}, periods {got}"
        due = expected.get(cid, 0)
        assert next_index == due if complete else next_index <= due, (
            f"contract {cid}: {next_index} periods invoiced, {due} due"
        )
    return State(invoices=len(invoices), expected=sum(expected.values()))


def _first_gap(nums: list[int]) -> int | None:
    for i, n in enumerate(nums, start=1):
        if n != i:
            return i
    return None


def wait_until(
    pred: Any,
    timeout: float,
    every: float = 0.2,
    procs: list[subprocess.Popen[bytes]] = (),  # type: ignore[assignment]
) -> bool:
    """Poll ``pred``; fail at once if one of ``procs`` (expected to keep running) has exited."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        dead = [p.args for p in procs if p.poll() is not None]
        assert not dead, f"a process exited early: {dead[0]}"
        time.sleep(every)
    return pred()
