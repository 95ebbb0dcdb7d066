"""The line immutability trigger again on SQLite (see 0002_immutable_triggers).

Adding InvoiceLine.allowances (0011, NOT NULL) makes SQLite's schema editor rebuild the line
table, and a rebuilt table loses its triggers; PostgreSQL adds the column in place and keeps
its trigger. tests/core/test_billing_engine.py checks a raw UPDATE of a line is refused.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            "CREATE TRIGGER IF NOT EXISTS invoice_line_immutable BEFORE UPDATE ON "
            "invoices_invoiceline BEGIN SELECT RAISE(ABORT, 'issued invoice lines are immutable'); "
            "END;"
        )


class Migration(migrations.Migration):
    dependencies = [("invoices", "0011_line_allowances")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
