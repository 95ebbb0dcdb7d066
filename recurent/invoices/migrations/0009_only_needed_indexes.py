"""Only the indexes a query or a constraint needs (issue 22; each kept one says why in its model).

The foreign keys lose their own index where another index starts with the same column. Django
would do that with AlterField, which on SQLite rebuilds the whole table (copying every row, PDFs
included, and dropping its triggers); the indexes are dropped by name instead, on both databases,
and the model state changes alone.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0003_client_region_alter_client_county'),
        ('companies', '0002_apitoken'),
        ('contracts', '0003_one_off_charges'),
        ('invoices', '0008_proformas'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='invoice',
                    name='client',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='invoices', to='clients.client'),
                ),
                migrations.AlterField(
                    model_name='invoice',
                    name='company',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='invoices', to='companies.company'),
                ),
                migrations.AlterField(
                    model_name='invoice',
                    name='credited_invoice',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='credit_notes', to='invoices.invoice'),
                ),
                migrations.AlterField(
                    model_name='invoice',
                    name='issuer',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name='invoice',
                    name='series',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='invoices', to='companies.invoiceseries'),
                ),
                migrations.AlterField(
                    model_name='invoiceline',
                    name='credited_line',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, to='invoices.invoiceline'),
                ),
                migrations.AlterField(
                    model_name='invoiceline',
                    name='invoice',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='lines', to='invoices.invoice'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [
                        "DROP INDEX IF EXISTS invoices_invoice_client_id_b83ca539",
                        "DROP INDEX IF EXISTS invoices_invoice_company_id_a45ffcca",
                        "DROP INDEX IF EXISTS invoices_invoice_series_id_3d8476f3",
                        "DROP INDEX IF EXISTS invoices_invoice_issuer_id_fe677815",
                        "DROP INDEX IF EXISTS invoices_invoice_credited_invoice_id_f493543e",
                        "DROP INDEX IF EXISTS invoices_invoiceline_invoice_id_071a8d97",
                        "DROP INDEX IF EXISTS invoices_invoiceline_credited_line_id_e7e747a5",
                    ],
                    [
                        "CREATE INDEX IF NOT EXISTS invoices_invoice_client_id_b83ca539 ON invoices_invoice (client_id)",
                        "CREATE INDEX IF NOT EXISTS invoices_invoice_company_id_a45ffcca ON invoices_invoice (company_id)",
                        "CREATE INDEX IF NOT EXISTS invoices_invoice_series_id_3d8476f3 ON invoices_invoice (series_id)",
                        "CREATE INDEX IF NOT EXISTS invoices_invoice_issuer_id_fe677815 ON invoices_invoice (issuer_id)",
                        "CREATE INDEX IF NOT EXISTS invoices_invoice_credited_invoice_id_f493543e ON invoices_invoice (credited_invoice_id)",
                        "CREATE INDEX IF NOT EXISTS invoices_invoiceline_invoice_id_071a8d97 ON invoices_invoiceline (invoice_id)",
                        "CREATE INDEX IF NOT EXISTS invoices_invoiceline_credited_line_id_e7e747a5 ON invoices_invoiceline (credited_line_id)",
                    ],
                ),
            ],
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(condition=models.Q(('credited_invoice__isnull', False)), fields=['credited_invoice'], name='invoice_credit_notes'),
        ),
        migrations.AddIndex(
            model_name='invoiceline',
            index=models.Index(condition=models.Q(('credited_line__isnull', False)), fields=['credited_line'], name='invoice_line_credits'),
        ),
    ]
