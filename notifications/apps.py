from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """The customer-email outbox: its model, rendering, delivery, sweeper and tasks, and the email templates.

    May import core, audit and accounts; knows nothing of the playbook."""

    name = "notifications"
    verbose_name = "Customer emails"

    def ready(self):
        # Imported here: what touches models may load only once the app registry is ready.
        from audit.registry import track

        track(
            self.get_model("CustomerUpdate"),
            include=["status", "attempts", "sent_at", "last_error"],
            mask=["last_error"],  # SMTP refusals quote the address
        )
