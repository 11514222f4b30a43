from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Alerting: teams warned when an SLA clock or a breach-notification deadline is about to run
    out and when it ran out (the tick, its emails, the banner).

    A satellite: may import incidents and breaches, never the reverse.
    """

    name = "alerts"
    verbose_name = "SLA and deadline alerts"
