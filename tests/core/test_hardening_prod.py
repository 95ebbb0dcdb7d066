"""Production starts (issue 14, item 2): collectstatic succeeds under recurent.settings.prod and
a page is served with the manifest storage (hashed static names), not a 500.

Run in subprocesses: the production settings are a separate configuration of Django.
"""

import os
import re
import secrets
import subprocess
import sys

SERVE = r"""
import django
django.setup()
from django.test import Client
c = Client(HTTP_HOST="billing.example.ro")
page = c.get("/login/", secure=True)
print("PAGE", page.status_code)
body = page.content.decode()
print("BODY", body)
for url in sorted(set(__import__("re").findall(r'/static/[^"\s]+', body))):
    r = c.get(url, secure=True)
    print("STATIC", r.status_code, url)
"""


def _prod_env(static_root):
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "recurent.settings.prod",
        "DATABASE_URL": "sqlite:///:memory:",
        "RECURENT_ALLOWED_HOSTS": "billing.example.ro",
        "RECURENT_SECRET_KEY": secrets.token_urlsafe(60),
        "RECURENT_STATIC_ROOT": str(static_root),
    }


def test_collectstatic_and_a_page_under_production_settings(tmp_path):
    env = _prod_env(tmp_path / "static")
    collect = subprocess.run(
        [sys.executable, "-m", "recurent.cli", "collectstatic", "--noinput"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert collect.returncode == 0, collect.stdout + collect.stderr[-3000:]
    assert (tmp_path / "static" / "staticfiles.json").exists()

    served = subprocess.run(
        [sys.executable, "-c", SERVE], capture_output=True, text=True, env=env, timeout=120
    )
    assert served.returncode == 0, served.stderr[-3000:]
    assert "PAGE 200" in served.stdout, served.stdout[-3000:] + served.stderr[-3000:]
    # The manifest names: app.css is linked as app.<hash>.css, and every static file the page
    # links is served (WhiteNoise from STATIC_ROOT).
    statics = re.findall(r"STATIC (\d+) (\S+)", served.stdout)
    assert any(re.search(r"/static/web/app\.[0-9a-f]{12}\.css", u) for _, u in statics), statics
    assert statics and all(code == "200" for code, _ in statics), statics


def test_shipped_static_files_reference_no_missing_source_map():
    # The manifest storage follows sourceMappingURL references; a missing map fails collectstatic.
    from pathlib import Path

    import recurent

    root = Path(recurent.__file__).parent
    for p in root.rglob("static/**/*.js"):
        text = p.read_text(encoding="utf-8", errors="replace")
        for ref in re.findall(r"sourceMappingURL=(\S+)", text):
            assert (p.parent / ref).exists(), f"{p}: {ref} is not shipped"
