from django.apps import AppConfig


class ReportingConfig(AppConfig):
    """Supervisor metrics: time to first update, to claim, to resolve, SLA compliance, the CSV export.

    A satellite: may import incidents (and what it may) to read the kernel's tables; nothing imports it.
    """

    name = "reporting"
    verbose_name = "Reporting"
