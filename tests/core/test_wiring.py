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
    assert TASKS[0] == ("documents", render_pending)


def test_every_hook_task_and_listener_is_connected_once():
    names = [n for n, _ in TASKS]
    assert len(names) == len(set(names))
    assert len(AFTER_ISSUE) == len(set(AFTER_ISSUE))
    assert len(events._listeners) == len(set(events._listeners))
    assert AFTER_ISSUE[:3] == [on_invoices_issued, outbox_after_issue, on_issued]


def test_the_core_apps_register_nothing_in_their_own_ready():
    moved = ["api", "documents", "efactura", "mail", "payments", "accounting"]
    for app in moved:
        text = (ROOT / app / "apps.py").read_text()
        assert "def ready" not in text, f"{app}/apps.py registers by itself: use recurent/wiring.py"
