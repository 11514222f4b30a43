"""The supervisor metrics leaving the desk: the CSV export, audited."""

import csv
import io
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts.roles import Role
from audit import services as audit
from audit.models import AuditAction

from . import metrics


@transaction.atomic
def export_metrics_csv(*, start: date, end: date, actor) -> str:
    """The supervisor metrics of a date range as CSV text; the export is audited (it leaves the desk)."""
    if not actor.has_any_role([Role.SUPERVISOR]):
        raise PermissionDenied("Only a supervisor exports the metrics.")
    result = metrics.supervisor_metrics(start, end)
    audit.record(AuditAction.METRICS_EXPORTED, actor=actor, start=start.isoformat(), end=end.isoformat())
    buffer = io.StringIO()
    csv.writer(buffer).writerows(metrics.csv_rows(result))
    return buffer.getvalue()
