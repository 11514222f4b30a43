from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_PASSWORD, ensure_demo_agents
from incidents.demo import ensure_demo_desk


class Command(BaseCommand):
    help = "Load demo agents, customers and incidents idempotently."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production", action="store_true", help="Run even with DEBUG off (demo passwords are public!)."
        )

    def handle(self, *args, allow_production=False, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError("Refusing to load demo agents with known passwords while DEBUG is off.")
        agents = ensure_demo_agents()
        customers, incidents = ensure_demo_desk({agent.email.split("@")[0]: agent for agent in agents})
        self.stdout.write(
            self.style.SUCCESS(f"Demo desk ready: {len(agents)} agents, {customers} customers, {incidents} incidents.")
        )
        self.stdout.write(f"Sign in with any of these (password: {DEMO_PASSWORD}):")
        for agent in agents:
            self.stdout.write(f"  {agent.email:28} {', '.join(sorted(agent.roles))}")
        self.stdout.write("The first sign-in asks you to set up an authenticator app (TOTP).")
