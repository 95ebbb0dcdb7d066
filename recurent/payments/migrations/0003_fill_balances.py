"""Balances for the invoices issued before balances were stored (the same rules as
recurent.payments.balances.settle, restated here: a migration must not follow later code)."""

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.db import migrations
from django.db.models import Sum
from django.db.models.functions import Abs

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def _money(v):
    return Decimal(str(v or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def fill(apps, schema_editor):
    Invoice = apps.get_model("invoices", "Invoice")
    Allocation = apps.get_model("payments", "Allocation")
    InvoiceBalance = apps.get_model("payments", "InvoiceBalance")
    db = schema_editor.connection.alias
    ids = list(
        Invoice.objects.using(db)
        .exclude(pk__in=InvoiceBalance.objects.using(db).values("pk"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(ids), 5000):
        part = ids[start : start + 5000]
        paid = defaultdict(lambda: ZERO)
        for pk, s in (
            Allocation.objects.using(db)
            .filter(invoice_id__in=part, payment__reversed=False)
            .order_by().values_list("invoice_id").annotate(s=Sum("amount"))
        ):  # fmt: skip
            paid[pk] = _money(s)
        credited = defaultdict(lambda: ZERO)
        for pk, s in (
            Invoice.objects.using(db)
            .filter(credited_invoice_id__in=part, kind="credit_note")
            .order_by().values_list("credited_invoice_id").annotate(s=Sum(Abs("gross_total")))
        ):  # fmt: skip
            credited[pk] = _money(s)
        rows = []
        for inv in (
            Invoice.objects.using(db)
            .filter(pk__in=part)
            .only(
                "pk",
                "company_id",
                "client_id",
                "currency",
                "kind",
                "status",
                "gross_total",
                "due_date",
            )
        ):
            total = abs(inv.gross_total) if inv.kind == "credit_note" else inv.gross_total
            left = _money(total - paid[inv.pk] - credited[inv.pk])
            if inv.kind == "credit_note":
                left, state = ZERO, "credit_note"
            elif inv.status == "cancelled":
                left, state = ZERO, "cancelled"
            elif left <= 0:
                left, state = ZERO, "paid"
            else:
                state = "open"
            rows.append(
                InvoiceBalance(
                    invoice_id=inv.pk, company_id=inv.company_id, client_id=inv.client_id,
                    currency=inv.currency, total=total, credited=credited[inv.pk],
                    paid=paid[inv.pk], outstanding=left, due_date=inv.due_date, state=state,
                )
            )  # fmt: skip
        InvoiceBalance.objects.using(db).bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_invoice_balance")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
