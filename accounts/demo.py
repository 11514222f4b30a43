"""Demo agents for a local desk. Used by `manage.py seed_demo`; never in production."""

from django.contrib.auth.models import Group
from django.db import transaction

from .models import User
from .roles import Role

DEMO_PASSWORD = "bulwark-demo-2026"
DEMO_AGENTS = [
    # email, full name, role, admin access
    ("supervisor@bulwark.test", "Sam Supervisor", Role.SUPERVISOR, True),
    ("agent@bulwark.test", "Alex Agent", Role.AGENT, False),
    ("tier2@bulwark.test", "Taylor Tier-Two", Role.TIER2, False),
    ("security@bulwark.test", "Sasha Security", Role.SECURITY, False),
]


@transaction.atomic
def ensure_demo_agents() -> list[User]:
    """Create the demo agents if missing; existing ones (and their 2FA) are left as they are."""
    agents = []
    for email, name, role, staff in DEMO_AGENTS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, DEMO_PASSWORD, full_name=name, is_staff=staff, is_superuser=staff)
        user.groups.add(Group.objects.get(name=role))
        agents.append(user)
    return agents
