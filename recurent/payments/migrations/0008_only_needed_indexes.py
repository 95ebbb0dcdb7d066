"""Only the indexes a query or a constraint needs (issue 22; each kept one says why in its model).

The foreign keys lose their own index where another index starts with the same column. Django
would do that with AlterField, which on SQLite rebuilds the whole table (copying every row, PDFs
included, and dropping its triggers); the indexes are dropped by name instead, on both databases,
and the model state changes alone.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0003_client_region_alter_client_county'),
        ('companies', '0002_apitoken'),
        ('payments', '0007_alter_payment_source'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='invoicebalance',
                    name='client',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='clients.client'),
                ),
                migrations.AlterField(
                    model_name='invoicebalance',
                    name='company',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='companies.company'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [
                        "DROP INDEX IF EXISTS payments_invoicebalance_client_id_4ec436f0",
                        "DROP INDEX IF EXISTS payments_invoicebalance_company_id_615eb052",
                    ],
                    [
                        "CREATE INDEX IF NOT EXISTS payments_invoicebalance_client_id_4ec436f0 ON payments_invoicebalance (client_id)",
                        "CREATE INDEX IF NOT EXISTS payments_invoicebalance_company_id_615eb052 ON payments_invoicebalance (company_id)",
                    ],
                ),
            ],
        ),
    ]
