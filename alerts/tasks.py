"""Celery tasks of alerting."""

from celery import shared_task

from . import services


# The task name is what queued messages and the beat schedule carry: as first registered.
@shared_task(name="incidents.tasks.sla_breach_tick", acks_late=True)
def sla_breach_tick() -> dict:
    """Periodic (celery beat, every minute): alert teams of clocks about to run out and run out."""
    return services.tick()
