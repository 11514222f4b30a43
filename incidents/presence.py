"""Presence: "Kari is viewing / editing this incident", seen by the other agents within seconds.

The incident page posts a small htmx request every few seconds (`PING_SECONDS`) saying whether
the agent is typing into one of its forms; each post refreshes the agent's row and answers with
the other agents present. State is in the database (works on the embedded SQLite default, no
Redis needed) and expires by itself: a row not refreshed for `PRESENCE_SECONDS` is ignored, and
swept by the next post for that incident. Presence is not an action: it is not audited (opening
the incident page is, as `incident.viewed`).
"""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Incident, Presence

PING_SECONDS = 4
PRESENCE_SECONDS = 15  # about three missed pings: the tab was closed or the agent went away


def ping(incident: Incident, agent, *, editing: bool) -> None:
    """The agent has the incident open (and is typing, when `editing`) now."""
    now = timezone.now()
    updated = Presence.objects.filter(incident=incident, agent=agent).update(seen_at=now, editing=editing)
    if not updated:
        try:
            with transaction.atomic():
                Presence.objects.create(incident=incident, agent=agent, editing=editing, seen_at=now)
        except IntegrityError:  # the same agent's other tab created it meanwhile
            Presence.objects.filter(incident=incident, agent=agent).update(seen_at=now, editing=editing)
    Presence.objects.filter(incident=incident, seen_at__lt=now - timedelta(seconds=PRESENCE_SECONDS * 4)).delete()


def others(incident: Incident, agent) -> list[Presence]:
    """The other agents present on the incident now, editing ones first (one query)."""
    since = timezone.now() - timedelta(seconds=PRESENCE_SECONDS)
    return list(
        Presence.objects.filter(incident=incident, seen_at__gte=since)
        .exclude(agent=agent)
        .select_related("agent")
        .order_by("-editing", "agent__full_name")[:10]
    )
