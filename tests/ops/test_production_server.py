"""The production settings under the production server: gunicorn with recurent.settings.prod,
static files collected, a real database; the probes answer as a container runtime expects and
a worker makes the installation ready."""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from tests.faults.harness import ROOT, env_for, start_worker, stop, wait_until

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, **headers: str) -> tuple[int, bytes]:
    """One request, redirects not followed; (0, b"") while the server is not listening."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", parts.path, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    except OSError:
        return 0, b""
    finally:
        conn.close()


def test_gunicorn_with_production_settings_serves_pages_probes_and_static(databases, tmp_path):
    url = databases.fresh()
    env = env_for(url) | {
        "DJANGO_SETTINGS_MODULE": "recurent.settings.prod",
        "RECURENT_SECRET_KEY": secrets.token_urlsafe(60),
        "RECURENT_STATIC_ROOT": str(tmp_path / "static"),
        "RECURENT_MEDIA_ROOT": str(tmp_path / "media"),
        "RECURENT_ALLOWED_HOSTS": "127.0.0.1",
        "RECURENT_METRICS_TOKEN": "scrape-token-0123456789",
    }
    c = subprocess.run([sys.executable, "-m", "recurent.cli", "collectstatic", "--no-input", "-v0"],
                       env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert c.returncode == 0, c.stderr
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "recurent.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: get(base + "/healthz")[0] == 200, 30, 0.2, procs=[server])
        # Not ready without a worker: 503 and the reason, for the orchestrator.
        status, body = get(base + "/readyz")
        assert status == 503 and b'"worker": {"ok": false' in body
        # A page over HTTPS (as the proxy forwards it) with its hashed, compressed static files.
        status, page = get(base + "/login/", **{"X-Forwarded-Proto": "https"})
        assert status == 200
        css = page.decode().split('href="/static/web/app.', 1)[1].split('"', 1)[0]
        assert get(f"{base}/static/web/app.{css}", **{"X-Forwarded-Proto": "https"})[0] == 200
        # Plain HTTP pages are redirected to HTTPS, the probes are not.
        assert get(base + "/login/")[0] == 301 and get(base + "/healthz")[0] == 200
        # Metrics with the token only.
        assert get(base + "/metrics")[0] == 403
        status, text = get(base + "/metrics", Authorization="Bearer scrape-token-0123456789")
        assert status == 200 and b"recurent_workers_alive 0.0" in text
        # A worker starts: the installation becomes ready.
        worker = start_worker(url, log=tmp_path / "worker.log")
        try:
            assert wait_until(lambda: get(base + "/readyz")[0] == 200, 60, 0.5, procs=[worker])
        finally:
            stop([worker])
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
    assert os.path.isdir(tmp_path / "static")
