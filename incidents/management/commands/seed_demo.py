from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_PASSWORD, ensure_demo_agents
from incidents.demo import ensure_demo_desk
from incidents.seeding import seed_incidents


class Command(BaseCommand):
    help = (
        "Load demo agents, customers and incidents idempotently. With --incidents N, add N generated "
        "incidents (with customers, records, escalations, emails and audit entries) in bulk."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production", action="store_true", help="Run even with DEBUG off (demo passwords are public!)."
        )
        parser.add_argument(
            "--incidents",
            type=int,
            metavar="N",
            help="Add N more generated incidents (each run adds; nothing is replaced: the audit trail is append-only).",
        )
        parser.add_argument(
            "--audit-per-incident",
            type=int,
            default=10,
            metavar="K",
            help="Audit entries per generated incident (default 10: 100,000 incidents give 1,000,000 entries).",
        )
        parser.add_argument("--batch-size", type=int, default=2000, help="Incidents per transaction (default 2000).")
        parser.add_argument("--seed", type=int, help="Random seed, for repeatable data.")

    def handle(self, *args, allow_production=False, incidents=None, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError("Refusing to load demo agents with known passwords while DEBUG is off.")
        if incidents is not None:
            return self._bulk(incidents, **options)
        agents = ensure_demo_agents()
        customers, incidents = ensure_demo_desk({agent.email.split("@")[0]: agent for agent in agents})
        self.stdout.write(
            self.style.SUCCESS(f"Demo desk ready: {len(agents)} agents, {customers} customers, {incidents} incidents.")
        )
        self.stdout.write(f"Sign in with any of these (password: {DEMO_PASSWORD}):")
        for agent in agents:
            self.stdout.write(f"  {agent.email:28} {', '.join(sorted(agent.roles))}")
        self.stdout.write("The first sign-in asks you to set up an authenticator app (TOTP).")

    def _bulk(self, count, *, audit_per_incident, batch_size, seed, **options):
        if count < 1 or count > 10_000_000:
            raise CommandError("--incidents takes a number from 1 to 10,000,000.")
        if audit_per_incident < 1 or audit_per_incident > 100:
            raise CommandError("--audit-per-incident takes a number from 1 to 100.")
        if batch_size < 1 or batch_size > 20_000:
            raise CommandError("--batch-size takes a number from 1 to 20,000.")

        def progress(report):
            self.stdout.write(f"  {report.incidents:,} incidents, {report.audit_entries:,} audit entries", ending="\r")
            self.stdout.flush()

        report = seed_incidents(
            count, audit_per_incident=audit_per_incident, batch_size=batch_size, seed=seed, progress=progress
        )
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {report.incidents:,} incidents, {report.customers:,} customers, {report.changes:,} changes, "
                f"{report.indicators:,} indicators, {report.notes:,} notes, {report.escalations:,} escalations, "
                f"{report.updates:,} customer updates and {report.audit_entries:,} audit entries "
                f"in {report.seconds:.1f} s."
            )
        )
