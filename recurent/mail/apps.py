from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "recurent.mail"

    def ready(self) -> None:
        from recurent.invoices import services as invoices
        from recurent.worker import tasks

        from .sender import send_pending
        from .services import outbox_after_issue, reminders_queue

        # Queued inside the issuing transaction: an invoice and its message exist together.
        if outbox_after_issue not in invoices.AFTER_ISSUE:
            invoices.AFTER_ISSUE.append(outbox_after_issue)
        # Reminders first, so that a reminder queued in this pass goes out in the same pass.
        tasks.register("mail-reminders", reminders_queue)
        tasks.register("mail", send_pending)
