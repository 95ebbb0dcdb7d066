"""The invoice immutability trigger again on SQLite (see 0002_immutable_triggers).

0009_only_needed_indexes alters Invoice's foreign keys, which makes SQLite's schema editor
rebuild the invoice table (and, there, the line table: 0012 put that trigger back), and a
rebuilt table loses its triggers. PostgreSQL alters in place and keeps them.
tests/core/test_billing_engine.py checks that a raw UPDATE of an invoice is refused.
"""

from django.db import migrations

# 0002's list of legal columns (all still on the table).
IMMUTABLE = [
    "company_id", "series_id", "year", "number", "full_number", "kind", "origin", "contract_id",
    "client_id", "period_index", "period_start", "period_end", "credited_invoice_id", "issued_at",
    "issue_date", "due_date", "issuer_id", "issuer_name", "currency", "price_currency", "fx_rate",
    "fx_date", "net_total", "vat_total", "gross_total", "vat_total_ron", "vat_breakdown", "seller",
    "buyer", "buyer_name", "contract_number", "contract_date", "vat_on_collection", "notes",
]  # fmt: skip


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in IMMUTABLE)
        schema_editor.execute(
            "CREATE TRIGGER IF NOT EXISTS invoice_immutable BEFORE UPDATE ON invoices_invoice "
            f"WHEN {changed} BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END;"
        )
        schema_editor.execute(
            "CREATE TRIGGER IF NOT EXISTS invoice_line_immutable BEFORE UPDATE ON "
            "invoices_invoiceline BEGIN SELECT RAISE(ABORT, 'issued invoice lines are immutable'); "
            "END;"
        )


class Migration(migrations.Migration):
    dependencies = [("invoices", "0012_line_trigger_after_allowances")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
