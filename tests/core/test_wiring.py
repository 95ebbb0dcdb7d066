"""Hooks, listeners and tasks are connected in one place, in the order that matters."""

from __future__ import annotations

from pathlib import Path

from recurent.common import events
from recurent.documents.services import render_pending
from recurent.efactura.services import on_invoices_issued
from recurent.invoices.services import AFTER_ISSUE
from recurent.mail.services import outbox_after_issue
from recurent.payments.balances import on_issued
from recurent.worker.tasks import TASKS

ROOT = Path(__file__).resolve().parents[2] / "recurent"


def test_documents_are_rendered_before_mail_and_efactura_use_them():
    names = [n for n, _ in TASKS]
    assert names.index("documents") < names.index("mail") < len(names)
    assert names.index("documents") < names.index("efactura")
    assert names.index("mail-reminders") < names.index("mail")
    assert ("documents", render_pending) in TASKS


def test_every_hook_task_and_listener_is_connected_once():
    names = [n for n, _ in TASKS]
    assert len(names) == len(set(names))
    assert len(AFTER_ISSUE) == len(set(AFTER_ISSUE))
    assert len(events._listeners) == len(set(events._listeners))
    assert AFTER_ISSUE[:3] == [on_invoices_issued, outbox_after_issue, on_issued]


def test_no_app_registers_anything_in_its_own_ready():
    # Only the worker app has a ready(): it calls recurent/wiring.py, the one list.
    with_ready = sorted(
        p.parent.name for p in ROOT.glob("*/apps.py") if "def ready" in p.read_text()
    )
    assert with_ready == ["worker"], "register hooks and tasks in recurent/wiring.py"
