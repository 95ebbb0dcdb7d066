"""Database triggers that make issued invoices immutable, whatever code path writes.

UPDATE of any legal column of an invoice, and any UPDATE of a line, is refused on both
engines. DELETE is refused on PostgreSQL (whose test flush uses TRUNCATE, which fires no
row trigger); on SQLite the test flush deletes rows, so there deletion is guarded by the
model, the queryset and PROTECT foreign keys instead.
"""

from django.db import migrations

IMMUTABLE = [
    "company_id", "series_id", "year", "number", "full_number", "kind", "origin", "contract_id",
    "client_id", "period_index", "period_start", "period_end", "credited_invoice_id", "issued_at",
    "issue_date", "due_date", "issuer_id", "issuer_name", "currency", "price_currency", "fx_rate",
    "fx_date", "net_total", "vat_total", "gross_total", "vat_total_ron", "vat_breakdown", "seller",
    "buyer", "buyer_name", "contract_number", "contract_date", "vat_on_collection", "notes",
]  # fmt: skip


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in IMMUTABLE)
        schema_editor.execute(
            "CREATE TRIGGER invoice_immutable BEFORE UPDATE ON invoices_invoice "
            f"WHEN {changed} BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END;"
        )
        schema_editor.execute(
            "CREATE TRIGGER invoice_line_immutable BEFORE UPDATE ON invoices_invoiceline "
            "BEGIN SELECT RAISE(ABORT, 'issued invoice lines are immutable'); END;"
        )
    elif vendor == "postgresql":
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in IMMUTABLE)
        schema_editor.execute(
            f"""
            CREATE FUNCTION invoice_immutable() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'issued invoices are never deleted' USING ERRCODE = 'restrict_violation';
              END IF;
              IF {changed} THEN
                RAISE EXCEPTION 'issued invoices are immutable' USING ERRCODE = 'restrict_violation';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER invoice_immutable BEFORE UPDATE OR DELETE ON invoices_invoice
              FOR EACH ROW EXECUTE FUNCTION invoice_immutable();
            CREATE FUNCTION invoice_line_immutable() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'issued invoice lines are immutable' USING ERRCODE = 'restrict_violation';
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER invoice_line_immutable BEFORE UPDATE OR DELETE ON invoices_invoiceline
              FOR EACH ROW EXECUTE FUNCTION invoice_line_immutable();
            """
        )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS invoice_immutable")
        schema_editor.execute("DROP TRIGGER IF EXISTS invoice_line_immutable")
    elif vendor == "postgresql":
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS invoice_immutable ON invoices_invoice;"
            "DROP FUNCTION IF EXISTS invoice_immutable();"
            "DROP TRIGGER IF EXISTS invoice_line_immutable ON invoices_invoiceline;"
            "DROP FUNCTION IF EXISTS invoice_line_immutable();"
        )


class Migration(migrations.Migration):
    dependencies = [("invoices", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
