from django.core.management.base import BaseCommand

from alerts import services as alerts


class Command(BaseCommand):
    help = (
        "Run the SLA and breach-notification check once: raise the alerts that are due and email the "
        "unsent ones. Celery beat does this every minute; the embedded mode has no beat, so run this "
        "from cron (or by hand)."
    )

    def handle(self, *args, **options):
        result = alerts.tick()
        self.stdout.write(f"SLA tick: {result['raised']} alerts raised, {result['emailed']} emailed.")
