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
        ('documents', '0003_render_backoff'),
        ('invoices', '0009_only_needed_indexes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='invoicedocument',
                    name='invoice',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='documents', to='invoices.invoice'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [
                        "DROP INDEX IF EXISTS documents_invoicedocument_invoice_id_24f2a7bb",
                    ],
                    [
                        "CREATE INDEX IF NOT EXISTS documents_invoicedocument_invoice_id_24f2a7bb ON documents_invoicedocument (invoice_id)",
                    ],
                ),
            ],
        ),
    ]
