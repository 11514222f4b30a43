"""Agent roles. A role is a Django group; this module is the one place that names them."""

from django.db import models


class Role(models.TextChoices):
    AGENT = "agent", "Support agent (tier 1)"
    TIER2 = "tier2", "Tier-2 agent"
    SECURITY = "security", "Security team"
    SUPERVISOR = "supervisor", "Supervisor"


# Who may see what, by area of the desk. Views ask these, never group names directly.
QUEUE_ROLES = frozenset({Role.TIER2, Role.SECURITY, Role.SUPERVISOR})
AUDIT_ROLES = frozenset({Role.SECURITY, Role.SUPERVISOR})
# Restricted incidents are theirs alone; so are the decisions on campaigns and breaches.
RESTRICTED_ROLES = CAMPAIGN_ROLES = BREACH_ROLES = frozenset({Role.SECURITY, Role.SUPERVISOR})
METRICS_ROLES = frozenset({Role.SUPERVISOR})
AGENT_ADMIN_ROLES = frozenset({Role.SUPERVISOR})
