from .roles import AGENT_ADMIN_ROLES, AUDIT_ROLES, BREACH_ROLES, CAMPAIGN_ROLES, METRICS_ROLES, QUEUE_ROLES, Role


def navigation(request):
    """What the main navigation offers this agent; only verified agents see any of it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_verified():
        return {"nav": None}
    return {
        "nav": {
            "queue": user.has_any_role(QUEUE_ROLES),
            "security_queue": user.has_any_role({Role.SECURITY, Role.SUPERVISOR}),
            "campaigns": user.has_any_role(CAMPAIGN_ROLES),
            "audit": user.has_any_role(AUDIT_ROLES),
            "breaches": user.has_any_role(BREACH_ROLES),
            "metrics": user.has_any_role(METRICS_ROLES),
            "agents": user.has_any_role(AGENT_ADMIN_ROLES),
            "admin": user.is_staff,
        }
    }
