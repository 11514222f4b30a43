"""Reading the audit trail: the viewer's pages, the export stream, an incident's history.

Pages use keyset pagination on `seq` (`seq < before ORDER BY seq DESC LIMIT n`): the cost of a
page does not grow with how far back it is, unlike OFFSET, which at a million rows scans them all.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from .models import AuditAction, AuditEntry, PendingEntry

PAGE_SIZE = 50
# The read-access log: who looked at what. Kept, and hidden from the viewer unless asked for.
VIEW_ACTIONS = (AuditAction.INCIDENT_VIEWED, AuditAction.CUSTOMER_VIEWED)


@dataclass(frozen=True)
class EntryPage:
    entries: list[AuditEntry]
    older_before: int | None  # pass as ?before= for the next (older) page; None on the last page
    # First page only: matching entries written but not chained yet (AUDIT_SEQUENCER=background),
    # newest first, at most one page of them; `more_pending` when there are more.
    pending: list[PendingEntry] = ()
    more_pending: bool = False


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filtered_entries(
    *,
    model: type[AuditEntry | PendingEntry] = AuditEntry,
    actor_id: int | None = None,
    action: str | None = None,
    incident_id: int | None = None,
    customer_id: int | None = None,
    customer_ids: list[int] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    hide_views: bool = False,
) -> QuerySet[AuditEntry]:
    """Entries matching every given filter; dates are whole days in the desk's time zone.
    `model`: chained entries, or those still pending. `hide_views` leaves out the read-access
    log ("incident viewed"), which would bury the story."""
    qs = model.objects.all()
    if hide_views:
        qs = qs.exclude(action__in=VIEW_ACTIONS)
    if customer_ids:
        qs = qs.filter(customer_id__in=customer_ids)
    if actor_id is not None:
        qs = qs.filter(actor_id=actor_id)
    if action:
        qs = qs.filter(action=action)
    if incident_id is not None:
        qs = qs.filter(incident_id=incident_id)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if date_from:
        qs = qs.filter(created_at__gte=_day_start(date_from))
    if date_to:
        qs = qs.filter(created_at__lt=_day_start(date_to + timedelta(days=1)))
    return qs


def entry_page(filters: dict, *, before: int | None = None, size: int = PAGE_SIZE) -> EntryPage:
    """One page of matching entries, newest first, older than `before` when given. One query, and
    one more on the first page for the matching entries still waiting to be chained."""
    qs = filtered_entries(**filters)
    if before is not None:
        qs = qs.filter(seq__lt=before)
    rows = list(qs.order_by("-seq")[: size + 1])
    entries = rows[:size]
    pending = []
    if before is None:
        pending = list(filtered_entries(model=PendingEntry, **filters).order_by("-id")[: size + 1])
    return EntryPage(
        entries=entries,
        older_before=entries[-1].seq if len(rows) > size else None,
        pending=pending[:size],
        more_pending=len(pending) > size,
    )


def head_seq() -> int:
    return AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def iter_entries(filters: dict, *, upto_seq: int, batch_size: int = 2000) -> Iterator[AuditEntry]:
    """Matching entries up to `upto_seq`, oldest first, in keyset batches (constant memory)."""
    after = 0
    while True:
        batch = list(filtered_entries(**filters).filter(seq__gt=after, seq__lte=upto_seq).order_by("seq")[:batch_size])
        yield from batch
        if len(batch) < batch_size:
            return
        after = batch[-1].seq


def entries_for_incident(incident_id: int) -> QuerySet[AuditEntry]:
    """Everything the trail holds about one incident, oldest first: the incident's history tab."""
    return AuditEntry.objects.filter(incident_id=incident_id).order_by("seq")
