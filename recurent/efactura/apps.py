from django.apps import AppConfig


class EfacturaConfig(AppConfig):
    name = "recurent.efactura"
    verbose_name = "e-Factura (ANAF SPV)"

    def ready(self) -> None:
        from recurent.documents.snapshot import CORRECTIONS
        from recurent.invoices.services import AFTER_ISSUE
        from recurent.worker.tasks import register

        from .correction import latest_corrections
        from .deadline import deadline_tick
        from .services import efactura_tick, on_invoices_issued

        if on_invoices_issued not in AFTER_ISSUE:
            AFTER_ISSUE.append(on_invoices_issued)
        if latest_corrections not in CORRECTIONS:
            CORRECTIONS.append(latest_corrections)
        register("efactura", efactura_tick)
        register("efactura-deadline", deadline_tick)
