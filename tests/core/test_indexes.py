"""Issue 22: each index on the tables a billing run writes is there because a query or a
constraint needs it. Every index is written by every insert (and by updates that move an
indexed column), so an index whose columns begin another index's is cost without use."""

import pytest
from django.db import connection

# The tables a billing run inserts into for every invoice.
HOT = [
    "invoices_invoice",
    "invoices_invoiceline",
    "documents_invoicedocument",
    "efactura_efacturastate",
    "mail_outboxmessage",
    "payments_invoicebalance",
]

# Prefixes kept on purpose: the longer index is partial, so it cannot serve every lookup.
KEPT = {
    # A contract's invoices and credit notes are found through this one (the exactly-once
    # constraint that began with it moved to invoices_invoiceperiod, issue 18).
    ("invoices_invoice", ("contract_id",)),
    # mail_reminder_once covers reminders only; an invoice's emails are found through this one.
    ("mail_outboxmessage", ("invoice_id",)),
}


@pytest.mark.django_db
def test_no_index_on_the_run_tables_is_the_beginning_of_another():
    redundant = []
    with connection.cursor() as cursor:
        for table in HOT:
            found = connection.introspection.get_constraints(cursor, table)
            indexes = [
                (name, tuple(c["columns"]))
                for name, c in found.items()
                if (c["index"] or c["unique"]) and not c["primary_key"] and c["columns"]
            ]
            for name, cols in indexes:
                if found[name]["unique"] or (table, cols) in KEPT:
                    continue  # a unique constraint is a rule, not only a lookup
                longer = [
                    n
                    for n, c in indexes
                    if n != name and len(c) > len(cols) and c[: len(cols)] == cols
                ]
                if longer:
                    redundant.append(f"{table}.{name} {cols} begins {longer}")
    assert redundant == []
