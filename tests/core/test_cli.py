"""The recurent CLI: bill with time travel, schedule as JSON, demo data."""

import json
import subprocess
import sys

from django.core.management import call_command

from recurent.invoices.models import Invoice
from tests import factories as f
from tests.factories import local


def test_bill_as_of_twice_issues_once_and_prints_json(world, capsys):
    f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    call_command("bill", "--as-of", "2026-03-01T10:00", "--json")
    first = json.loads(capsys.readouterr().out)
    call_command("bill", "--as-of", "2026-03-01T10:00", "--json")
    second = json.loads(capsys.readouterr().out)
    assert (first["issued"], second["issued"]) == (2, 0)
    assert Invoice.objects.count() == 2


def test_bill_dry_run_writes_nothing(world, capsys):
    f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    call_command("bill", "--as-of", "2026-03-01T10:00", "--dry-run")
    assert "would issue 2" in capsys.readouterr().out
    assert not Invoice.objects.exists()


def test_schedule_json_for_a_draft_contract():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "recurent.cli",
            "schedule",
            "--first",
            "2026-01-31T09:00",
            "--cycle",
            "monthly",
            "--count",
            "3",
            "--json",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(out.stdout)
    assert got == [
        {
            "issue_at": "2026-01-31T07:00:00Z",
            "period_start": "2026-01-31",
            "period_end": "2026-02-27",
        },
        {
            "issue_at": "2026-02-28T07:00:00Z",
            "period_start": "2026-02-28",
            "period_end": "2026-03-30",
        },
        {
            "issue_at": "2026-03-31T06:00:00Z",
            "period_start": "2026-03-31",
            "period_end": "2026-04-29",
        },
    ]


def test_schedule_of_a_saved_contract_starts_at_its_next_period(world, capsys):
    c = f.contract(world.company, issuer=world.user, first=local(2026, 1, 31))
    call_command("bill", "--as-of", "2026-02-01T00:00")
    capsys.readouterr()
    call_command("schedule", str(c.pk), "--count", "1", "--json")
    assert json.loads(capsys.readouterr().out)[0]["period_start"] == "2026-02-28"


def test_schedule_refuses_bad_input_naming_the_option():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "recurent.cli",
            "schedule",
            "--first",
            "2026-01-31T09:00",
            "--cycle",
            "days",
            "--every-days",
            "-2",
            "--count",
            "3",
        ],  # fmt: skip
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0 and "--every-days" in out.stderr


def test_demo_loads_a_dozen_clients_and_issues_what_is_due(db, capsys):
    call_command("demo")
    assert "12 clients" in capsys.readouterr().out
    assert Invoice.objects.exists()
    call_command("demo", "--if-empty")
    assert "nothing loaded" in capsys.readouterr().out


def test_help_prints_the_database_location():
    out = subprocess.run(
        [sys.executable, "-m", "recurent.cli", "--help"], capture_output=True, text=True
    )
    assert "Database:" in out.stdout
