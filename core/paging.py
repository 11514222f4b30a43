"""Keyset paging, newest first, on (created_at, id): each page of a list costs the same at any
depth (a range scan of an index, never OFFSET). The cursor is the row's place in that order,
written into the page's links (?older=... / ?newer=...).

Depends on Django only.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q, QuerySet

PAGE_SIZE = 25
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class KeysetPage:
    items: list  # incidents, or indicators for the IP search
    older: str | None  # ?older=<cursor> for the next, older page; None on the last page
    newer: str | None  # ?newer=<cursor> for the previous, newer page; None on the first page


def cursor_for(row) -> str:
    """A row's place in newest-first order: microseconds since 1970 of created_at, then the id."""
    return f"{(row.created_at - _EPOCH) // timedelta(microseconds=1)}.{row.pk}"


def parse_cursor(text: str | None) -> tuple[datetime, int] | None:
    """None for a missing or malformed cursor (the first page is shown instead)."""
    match = re.fullmatch(r"(-?\d{1,18})\.(\d{1,18})", (text or "").strip())
    if not match:
        return None
    try:
        return _EPOCH + timedelta(microseconds=int(match[1])), int(match[2])
    except OverflowError:
        return None


def keyset_page(
    incidents: QuerySet, *, older: str | None = None, newer: str | None = None, size: int = PAGE_SIZE
) -> KeysetPage:
    """One page of `incidents` (or any rows with created_at), newest first, before `older` or
    after `newer`. One query.

    `created_at <= t` (or `>=`) bounds the range scan of the (created_at, id) index; the OR
    clause only breaks ties between incidents opened in the same microsecond.
    """
    if (position := parse_cursor(older)) is not None:
        at, pk = position
        rows = list(
            incidents.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk), created_at__lte=at).order_by(
                "-created_at", "-pk"
            )[: size + 1]
        )
        shown = rows[:size]
        return KeysetPage(shown, cursor_for(shown[-1]) if len(rows) > size else None, _first_cursor(shown))
    if (position := parse_cursor(newer)) is not None:
        at, pk = position
        rows = list(
            incidents.filter(Q(created_at__gt=at) | Q(created_at=at, pk__gt=pk), created_at__gte=at).order_by(
                "created_at", "pk"
            )[: size + 1]
        )
        shown = rows[:size][::-1]
        return KeysetPage(
            shown,
            cursor_for(shown[-1]) if shown else None,
            cursor_for(shown[0]) if len(rows) > size else None,
        )
    rows = list(incidents.order_by("-created_at", "-pk")[: size + 1])
    shown = rows[:size]
    return KeysetPage(shown, cursor_for(shown[-1]) if len(rows) > size else None, None)


def _first_cursor(shown: list) -> str | None:
    return cursor_for(shown[0]) if shown else None
