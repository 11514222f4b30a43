from django.apps import AppConfig


class ReportingConfig(AppConfig):
    """Supervisor metrics: time to first update, to claim, to resolve, SLA compliance, the CSV export.

    A satellite: reads the kernel's tables (and breaches' report), never written to by it.
    """

    name = "reporting"
    verbose_name = "Reporting"
