"""The worker survives a failing pass and keeps billing; --processes replaces a dead child."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.db import OperationalError

from recurent.invoices import services as billing
from recurent.invoices.models import Invoice
from recurent.worker.management.commands import worker
from tests import factories as f
from tests.factories import local


def test_a_failing_pass_is_retried_and_billing_goes_on(world, monkeypatch):
    f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    real = billing.issue_batch
    calls = {"n": 0}

    def flaky(**kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(as_of=local(2026, 2, 1), batch_size=kw["batch_size"], exclude=kw["exclude"])

    monkeypatch.setattr(worker, "issue_batch", flaky)
    stop = threading.Event()
    monkeypatch.setattr(worker, "next_due_at", lambda **kw: None)
    # Stop after the second pass has billed.
    orig_wait = stop.wait

    def wait(t):
        if Invoice.objects.exists():
            stop.set()
        return orig_wait(min(t, 0.01))

    monkeypatch.setattr(stop, "wait", wait)
    monkeypatch.setattr(worker, "close_old_connections", lambda: None)
    monkeypatch.setattr(worker.connection, "close", lambda: None)  # keep the test transaction
    issued = worker.run_loop(stop=stop, batch_size=10, max_sleep=0.05, once=False, tasks=False)
    assert issued == 1 and calls["n"] >= 2


def test_once_mode_raises_so_that_cron_sees_the_failure(world, monkeypatch):
    def broken(**kw):
        raise OperationalError("database is locked")

    monkeypatch.setattr(worker, "issue_batch", broken)
    with pytest.raises(OperationalError):
        worker.run_loop(
            stop=threading.Event(), batch_size=10, max_sleep=0.05, once=True, tasks=False
        )


def worker_children(parent_pid):
    """The worker processes of a parent (not multiprocessing's resource tracker)."""
    out = subprocess.run(
        ["pgrep", "-P", str(parent_pid)], capture_output=True, text=True
    ).stdout.split()
    found = set()
    for pid in map(int, out):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read()
        except OSError:
            continue
        if b"spawn_main" in cmd and b"resource_tracker" not in cmd:
            found.add(pid)
    return found


@pytest.mark.slow
def test_processes_mode_replaces_a_killed_child_and_stops_on_sigterm(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/w.sqlite3",
        "DJANGO_SETTINGS_MODULE": "recurent.settings.test",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    subprocess.run([sys.executable, "-m", "recurent.cli", "migrate", "-v0"], env=env, check=True)
    parent = subprocess.Popen(
        [sys.executable, "-m", "recurent.cli", "worker", "--processes", "2", "--no-tasks", "--max-sleep", "0.2"],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        children = set()
        for _ in range(150):
            children = worker_children(parent.pid)
            if len(children) == 2:
                break
            time.sleep(0.2)
        assert len(children) == 2
        victim = min(children)
        os.kill(victim, signal.SIGKILL)
        now = set()
        for _ in range(150):
            now = worker_children(parent.pid)
            if victim not in now and len(now) == 2:
                break
            time.sleep(0.2)
        assert victim not in now and len(now) == 2  # a replacement was started
    finally:
        parent.send_signal(signal.SIGTERM)
        _, err = parent.communicate(timeout=60)
    assert parent.returncode == 0
    assert "starting another" in err
