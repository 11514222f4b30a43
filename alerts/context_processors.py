from django.utils.functional import SimpleLazyObject

from .services import banner_alerts


def sla_banner(request):
    """The SLA banner for the agent's teams: alerts whose clock still runs (lazy: one query, on use)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_verified():
        return {}
    return {"sla_alerts": SimpleLazyObject(lambda: list(banner_alerts(user)[:6]))}
