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
        ('companies', '0002_apitoken'),
        ('efactura', '0002_corrections_supplier_invoices'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='efacturastate',
                    name='company',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='companies.company'),
                ),
                migrations.AlterField(
                    model_name='efacturastate',
                    name='upload_index',
                    field=models.CharField(blank=True, max_length=20),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [
                        "DROP INDEX IF EXISTS efactura_efacturastate_company_id_06ca300c",
                        "DROP INDEX IF EXISTS efactura_efacturastate_upload_index_e03a0251",
                        "DROP INDEX IF EXISTS efactura_efacturastate_upload_index_e03a0251_like",
                    ],
                    [
                        "CREATE INDEX IF NOT EXISTS efactura_efacturastate_company_id_06ca300c ON efactura_efacturastate (company_id)",
                        "CREATE INDEX IF NOT EXISTS efactura_efacturastate_upload_index_e03a0251 ON efactura_efacturastate (upload_index)",
                    ],
                ),
            ],
        ),
    ]
