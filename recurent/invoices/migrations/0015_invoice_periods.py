"""Issue 18: the periods an invoice covers, with the exactly-once constraint moved there.

Every contract invoice already issued gets its one row (its own contract and period), so the
rule holds for old and new invoices alike. The rows are never changed: UPDATE refused on both
engines, DELETE on PostgreSQL (as 0002_immutable_triggers does for invoices).
"""

import django.db.models.deletion
from django.db import migrations, models


def backfill_and_protect(apps, schema_editor):
    schema_editor.execute(
        "INSERT INTO invoices_invoiceperiod "
        "(invoice_id, contract_id, period_index, period_start, period_end, sequence) "
        "SELECT id, contract_id, period_index, period_start, period_end, 1 FROM invoices_invoice "
        "WHERE kind = 'invoice' AND origin = 'schedule' AND contract_id IS NOT NULL "
        "AND period_start IS NOT NULL AND period_end IS NOT NULL AND period_index IS NOT NULL"
    )
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            "CREATE TRIGGER invoice_period_immutable BEFORE UPDATE ON invoices_invoiceperiod "
            "BEGIN SELECT RAISE(ABORT, 'invoice periods are immutable'); END;"
        )
    elif schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            """
            CREATE FUNCTION invoice_period_immutable() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'invoice periods are immutable' USING ERRCODE = 'restrict_violation';
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER invoice_period_immutable BEFORE UPDATE OR DELETE ON invoices_invoiceperiod
              FOR EACH ROW EXECUTE FUNCTION invoice_period_immutable();
            """
        )


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0010_usage"),
        ("invoices", "0014_review_before_issue"),
    ]

    operations = [
        migrations.CreateModel(
            name="InvoicePeriod",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("period_index", models.PositiveIntegerField()),
                ("period_start", models.DateField()),
                ("period_end", models.DateField()),
                ("sequence", models.PositiveSmallIntegerField(default=1)),
            ],
            options={
                "ordering": ["invoice", "sequence"],
            },
        ),
        migrations.RemoveConstraint(
            model_name="invoice",
            name="invoice_once_per_period",
        ),
        migrations.AddField(
            model_name="invoiceline",
            name="contract",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contracts.contract",
            ),
        ),
        migrations.AddField(
            model_name="invoiceline",
            name="period_end",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="invoiceline",
            name="period_start",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="invoiceperiod",
            name="contract",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contracts.contract",
            ),
        ),
        migrations.AddField(
            model_name="invoiceperiod",
            name="invoice",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="periods",
                to="invoices.invoice",
            ),
        ),
        migrations.AddConstraint(
            model_name="invoiceperiod",
            constraint=models.UniqueConstraint(
                fields=("contract", "period_start"), name="invoice_period_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="invoiceperiod",
            constraint=models.UniqueConstraint(
                fields=("invoice", "sequence"), name="invoice_period_sequence_once"
            ),
        ),
        migrations.RunPython(backfill_and_protect, migrations.RunPython.noop),
    ]
