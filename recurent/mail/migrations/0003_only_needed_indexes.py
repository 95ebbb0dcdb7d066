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
        ('invoices', '0009_only_needed_indexes'),
        ('mail', '0002_outbox_notices'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='outboxmessage',
                    name='company',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='outbox', to='companies.company'),
                ),
                migrations.AlterField(
                    model_name='outboxmessage',
                    name='reminder_rule',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='messages', to='mail.reminderrule'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [
                        "DROP INDEX IF EXISTS mail_outboxmessage_company_id_8e941d73",
                        "DROP INDEX IF EXISTS mail_outboxmessage_reminder_rule_id_ee9b0c24",
                    ],
                    [
                        "CREATE INDEX IF NOT EXISTS mail_outboxmessage_company_id_8e941d73 ON mail_outboxmessage (company_id)",
                        "CREATE INDEX IF NOT EXISTS mail_outboxmessage_reminder_rule_id_ee9b0c24 ON mail_outboxmessage (reminder_rule_id)",
                    ],
                ),
            ],
        ),
        migrations.AddIndex(
            model_name='outboxmessage',
            index=models.Index(condition=models.Q(('reminder_rule__isnull', False)), fields=['reminder_rule'], name='mail_outbox_reminder_rule'),
        ),
    ]
