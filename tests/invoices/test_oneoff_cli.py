"""recurent invoice create FILE.json: issued, or refused with the place of the error."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from recurent.invoices.models import Invoice, InvoiceDraft
from recurent.mail.models import OutboxMessage
from tests import factories as f


def _write(tmp_path, data):
    p = tmp_path / "invoice.json"
    p.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(p)


def test_a_json_file_issues_a_one_off_invoice_and_queues_its_email(world, tmp_path, capsys):
    world.user.is_superuser = True
    world.user.save()
    cl = f.client(world.company, tax_id="RO13548146")
    data = {
        "client": "RO13548146", "series": "REC", "email": True,
        "lines": [{"name": "Audit", "unit_code": "C62", "quantity": 1, "unit_price": "1000",
                   "vat_category": "S", "vat_rate": "standard"}],
    }  # fmt: skip
    call_command("invoice", "create", _write(tmp_path, data))
    inv = Invoice.objects.get()
    assert inv.client_id == cl.pk and inv.gross_total == 1210 and inv.origin == "manual"
    assert "REC-000001 issued" in capsys.readouterr().out
    assert OutboxMessage.objects.filter(invoice=inv).exists()


def test_errors_name_their_place_and_nothing_is_written(world, tmp_path):
    world.user.is_superuser = True
    world.user.save()
    f.client(world.company, tax_id="RO13548146")
    with pytest.raises(CommandError, match=r"invoice.json:2:"):
        call_command("invoice", "create", _write(tmp_path, '{"client": "x",\n  "lines": [}'))
    bad = {"client": "RO13548146", "lines": [{"name": "A", "quantity": 1, "unit_price": 1},
                                             {"name": "B", "quantity": "-1", "unit_price": 1}]}  # fmt: skip
    with pytest.raises(CommandError, match=r"lines\[2\]\.quantity"):
        call_command("invoice", "create", _write(tmp_path, bad))
    with pytest.raises(CommandError, match=r"client: .*not found"):
        call_command("invoice", "create", _write(tmp_path, {**bad, "client": "RO0"}))
    assert Invoice.objects.count() == 0 and InvoiceDraft.objects.count() == 0
    world.series.refresh_from_db()
    assert world.series.next_number == 1


def test_a_proforma_from_a_json_file_with_its_pdf(world, tmp_path, capsys):
    world.user.is_superuser = True
    world.user.save()
    f.client(world.company, tax_id="RO13548146")
    data = {"client": "RO13548146", "lines": [{"name": "Audit", "quantity": 1, "unit_price": 10}]}
    out = tmp_path / "pf.pdf"
    call_command("invoice", "create", _write(tmp_path, data), "--proforma", str(out))
    assert "proforma PF-000001 issued" in capsys.readouterr().out
    assert out.read_bytes().startswith(b"%PDF") and Invoice.objects.count() == 0
    assert InvoiceDraft.objects.get().proforma_number == "PF-000001"
