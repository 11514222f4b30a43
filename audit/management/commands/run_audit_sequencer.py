"""`manage.py run_audit_sequencer`: chain the entries requests leave pending (AUDIT_SEQUENCER=background)."""

import signal

from django.core.management.base import BaseCommand

from audit import sequencer


class Command(BaseCommand):
    help = "Chain pending audit entries in batches, continuously (one runs; others stand by)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=0.2, help="Seconds between looks when idle.")
        parser.add_argument("--once", action="store_true", help="Chain what is pending now, then exit.")

    def handle(self, *, interval, once, **options):
        if once:
            self.stdout.write(f"{sequencer.chain_all()} entries chained.")
            return
        stopping = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.append(True))
        sequencer.run(interval=interval, stop=lambda: bool(stopping))
