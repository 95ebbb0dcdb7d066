"""Production settings pass Django's deployment checks and refuse a missing secret."""

import os
import secrets
import subprocess
import sys


def run_prod(extra_env):
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deployment would not.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {**inherited, "DJANGO_SETTINGS_MODULE": "recurent.settings.prod", "DATABASE_URL": "sqlite:///:memory:",
           "RECURENT_ALLOWED_HOSTS": "billing.example.ro", **extra_env}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "recurent.cli", "check", "--deploy", "--fail-level", "WARNING"],
                          capture_output=True, text=True, env=env)  # fmt: skip


def test_check_deploy_is_clean_in_production_settings():
    out = run_prod({"RECURENT_SECRET_KEY": secrets.token_urlsafe(60)})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


def test_production_refuses_to_start_without_a_secret_key():
    out = run_prod({"RECURENT_SECRET_KEY": ""})
    assert out.returncode != 0 and "RECURENT_SECRET_KEY" in out.stderr
