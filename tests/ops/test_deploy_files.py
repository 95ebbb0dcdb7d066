"""The production files say what the code does: every setting the code reads is in .env.example,
every metric the Grafana dashboard draws is one /metrics serves, the compose file and systemd
units start commands that exist. (Docker itself does not run on the CI machine: the image is
built by people, these checks keep its files honest.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]


def settings_read_by_the_code() -> set[str]:
    names: set[str] = set()
    pattern = re.compile(
        r"""(?:environ\.get|env_bool|env_int|environ\[)\(?\s*["']((?:RECURENT|DATABASE)_[A-Z0-9_]+)"""
    )
    for path in (ROOT / "recurent").rglob("*.py"):
        names |= set(pattern.findall(path.read_text(encoding="utf-8")))
    return names


def test_every_setting_is_documented_in_env_example():
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    missing = settings_read_by_the_code() - documented
    assert not missing, f"add to .env.example with its default and meaning: {sorted(missing)}"


def test_grafana_draws_only_metrics_that_exist(db, client):
    served = set(re.findall(r"^# TYPE (\w+) ", client.get("/metrics").content.decode(), re.M))
    dash = json.loads((ROOT / "deploy" / "grafana" / "recurent-dashboard.json").read_text())
    used = {m for p in dash["panels"] for t in p["targets"]
            for m in re.findall(r"\b(recurent_\w+)", t["expr"])}  # fmt: skip
    assert used and used <= served, used - served


def test_compose_and_units_start_commands_that_exist():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"db", "migrate", "web", "worker", "backup", "proxy"} <= set(services)
    commands = set(get_commands())
    for name in ("migrate", "worker", "backup"):
        cmd = services[name]["command"]
        text = " ".join(cmd) if isinstance(cmd, list) else cmd
        sub = re.search(r"recurent (\w[\w-]*)", text)
        assert sub and sub.group(1) in commands, (name, text)
    for unit in (ROOT / "deploy" / "systemd").glob("*.service"):
        for sub in re.findall(r"bin/recurent ([\w-]+)", unit.read_text()):
            assert sub in commands, (unit.name, sub)
    docker = (ROOT / "Dockerfile").read_text()
    assert "USER recurent" in docker and "AS build" in docker  # non-root, multi-stage
