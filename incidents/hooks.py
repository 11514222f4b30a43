"""Where satellite apps take part in the kernel's moves and pages without the kernel importing them.

A satellite (campaigns, breaches, ...) subscribes from its AppConfig.ready(); the kernel calls the
subscribers at fixed points. The list of points is here and nowhere else, so a reader of the
kernel sees every place where code it does not import may run:

- `verdicts`: an indicator's verdict is being saved (campaign detection), inside the service's
  transaction, in three phases (see `VerdictSubscriber`).
- `incident_page`: the incident page asks for the panels satellites add to it (a campaign banner,
  the personal-data breach panel), with the forms just submitted to them.
- `handoff_packet`: the hand-off packet asks for the sections satellites add to it.
"""

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")


class VerdictSubscriber(Protocol):
    def before_lock(self, verdict: str) -> None:
        """Before the service locks the incident row (take desk-wide locks here, in a fixed order)."""

    def prepare(self, incident, indicator, verdict: str) -> Any:
        """With the incident locked and `indicator` carrying its new verdict, before anything is
        saved: read and lock what `after` writes."""

    def after(self, incident, prepared: Any, *, actor) -> None:
        """After the verdict is saved and audited, in the same transaction."""


class Subscribers(Generic[T]):
    def __init__(self, name: str):
        self.name = name
        self._subscribers: list[T] = []

    def subscribe(self, subscriber: T) -> None:
        if subscriber not in self._subscribers:  # ready() may run more than once in tests
            self._subscribers.append(subscriber)

    def __iter__(self):
        return iter(list(self._subscribers))


verdicts: Subscribers[VerdictSubscriber] = Subscribers("verdicts")
# (request, incident, bound forms) -> context for the incident page's template.
incident_page: Subscribers[Callable[..., dict]] = Subscribers("incident_page")
# (incident) -> context for the hand-off packet's template.
handoff_packet: Subscribers[Callable[..., dict]] = Subscribers("handoff_packet")


def page_context(hook: Subscribers, *args, **kwargs) -> dict:
    """Every subscriber's context for one page, merged."""
    context: dict = {}
    for provider in hook:
        context.update(provider(*args, **kwargs))
    return context
