"""Supervisor metrics over a date range, computed in the database.

The cohort is the incidents *opened* in the range (escalations: *requested* in the range). Step
times are read from timestamp columns the services write once (`secured_at`, `escalated_at`,
`first_update_at`, `closed_at`), not parsed from the audit trail: each metric is then one grouped
query over one table.

Percentiles are the continuous (interpolating) kind: PostgreSQL's `percentile_cont`, run on the
interval directly. SQLite has no percentile aggregate; there the grouped durations are fetched
(two columns per row) and interpolated the same way in Python, so both give identical figures.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from math import floor

from django.db import connection
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone

from core.dates import day_range
from incidents.models import Escalation, Incident, Severity, Stage, Status, Team

PERCENTILES = (0.5, 0.9)


class Percentile(Aggregate):
    """PostgreSQL's percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)."""

    function = "percentile_cont"
    name = "Percentile"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction: float, **extra):
        fraction = float(fraction)
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        super().__init__(expression, fraction=repr(fraction), **extra)


def interpolated(values: list[timedelta], fraction: float) -> timedelta | None:
    """percentile_cont in Python: linear interpolation between the two nearest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


@dataclass
class Stat:
    count: int = 0
    p50: timedelta | None = None
    p90: timedelta | None = None


def native_percentiles() -> bool:
    return connection.vendor == "postgresql"


def duration_stats(
    queryset: QuerySet, start: str, end: str, group: str | None = None, *, native: bool | None = None
) -> dict:
    """{group value (or None for all): Stat} of `end - start` over rows where `end` is set.

    `native` (default: on PostgreSQL) computes the percentiles with percentile_cont in the query.
    """
    rows = queryset.filter(**{f"{end}__isnull": False}).order_by()
    duration = ExpressionWrapper(F(end) - F(start), output_field=DurationField())
    stats: dict = {}
    if native_percentiles() if native is None else native:
        aggregates = {
            "n": Count("pk"),
            "p50": Percentile(duration, 0.5, output_field=DurationField()),
            "p90": Percentile(duration, 0.9, output_field=DurationField()),
        }
        if group is None:
            result = rows.aggregate(**aggregates)
            return {None: Stat(result["n"], result["p50"], result["p90"])}
        for row in rows.values(group).annotate(**aggregates):
            stats[row[group]] = Stat(row["n"], row["p50"], row["p90"])
        return stats
    grouped: dict = {}
    for key, value in rows.annotate(_d=duration).values_list(group or "pk", "_d"):
        grouped.setdefault(key if group else None, []).append(value)
    if group is None and not grouped:
        grouped[None] = []
    for key, values in grouped.items():
        stats[key] = Stat(len(values), interpolated(values, 0.5), interpolated(values, 0.9))
    return stats


STEP_METRICS = [
    # key, label, start column, end column, extra filter
    ("secure", "Time to secure (opened → step 2 completed)", "created_at", "secured_at", Q()),
    ("escalate", "Time to escalate (opened → first escalation)", "created_at", "escalated_at", Q()),
    ("first_update", "Time to first customer update", "created_at", "first_update_at", Q()),
    # A reopened incident: opened → its last close (closed_at is rewritten when it closes again).
    ("resolve", "Time to resolve (opened → resolved)", "created_at", "closed_at", Q(status=Status.RESOLVED)),
]


@dataclass
class Metrics:
    start: date
    end: date
    opened: int = 0
    steps: list = field(default_factory=list)  # [{key, label, all: Stat, severity: {..}, team: {..}}]
    compliance: list = field(default_factory=list)  # [{severity, label, clocks: {clock: {met, breached, ...}}}]
    escalations: list = field(default_factory=list)  # [{team, label, count, claimed, claim: Stat}]
    stages: list = field(default_factory=list)  # [{stage, label, count}]


def _compliance(queryset: QuerySet, due: str, met: str, running: Q, now: datetime) -> dict:
    """{severity: {met, breached, pending}} for one clock, counted in the database."""
    counts = (
        queryset.filter(**{f"{due}__isnull": False})
        .order_by()
        .values("severity")
        .annotate(
            met=Count("pk", filter=Q(**{f"{met}__lte": F(due)})),
            late=Count("pk", filter=Q(**{f"{met}__gt": F(due)})),
            overdue=Count("pk", filter=Q(**{f"{met}__isnull": True, f"{due}__lte": now}) & running),
            pending=Count("pk", filter=Q(**{f"{met}__isnull": True, f"{due}__gt": now}) & running),
        )
    )
    return {row["severity"]: row for row in counts}


def supervisor_metrics(start: date, end: date, now: datetime | None = None, *, native: bool | None = None) -> Metrics:
    now = now or timezone.now()
    since, until = day_range(start, end)
    cohort = Incident.objects.filter(created_at__gte=since, created_at__lt=until)
    result = Metrics(start=start, end=end, opened=cohort.count())

    for key, label, begin, finish, extra in STEP_METRICS:
        rows = cohort.filter(extra)
        result.steps.append(
            {
                "key": key,
                "label": label,
                "all": duration_stats(rows, begin, finish, native=native).get(None, Stat()),
                "severity": duration_stats(rows, begin, finish, "severity", native=native),
                "team": duration_stats(rows, begin, finish, "team", native=native),
            }
        )

    escalations = Escalation.objects.filter(requested_at__gte=since, requested_at__lt=until)
    clocks = {
        "first_update": _compliance(cohort, "first_update_due_at", "first_update_at", Q(status=Status.OPEN), now),
        "claim": _compliance(escalations, "claim_due_at", "claimed_at", Q(status="open"), now),
        "resolve": _compliance(cohort, "resolve_due_at", "closed_at", Q(status=Status.OPEN), now),
    }
    for severity in sorted(Severity, reverse=True):
        row = {"severity": severity.value, "label": severity.label, "clocks": {}}
        for clock, by_severity in clocks.items():
            counts = by_severity.get(severity.value, {})
            met, late, overdue, pending = (counts.get(k, 0) for k in ("met", "late", "overdue", "pending"))
            decided = met + late + overdue
            row["clocks"][clock] = {
                "met": met,
                "breached": late + overdue,
                "pending": pending,
                "percent": round(100 * met / decided, 1) if decided else None,
            }
        result.compliance.append(row)

    by_team = {
        r["to_team"]: r
        for r in escalations.order_by()
        .values("to_team")
        .annotate(n=Count("pk"), claimed=Count("pk", filter=Q(claimed_at__isnull=False)))
    }
    claim_times = duration_stats(escalations, "requested_at", "claimed_at", "to_team", native=native)
    for team in (Team.TIER2, Team.SECURITY):
        counts = by_team.get(team.value, {})
        result.escalations.append(
            {
                "team": team.value,
                "label": team.label,
                "count": counts.get("n", 0),
                "claimed": counts.get("claimed", 0),
                "claim": claim_times.get(team.value, Stat()),
            }
        )

    per_stage = {r["stage"]: r["n"] for r in cohort.order_by().values("stage").annotate(n=Count("pk"))}
    result.stages = [{"stage": s.value, "label": s.label, "count": per_stage.get(s.value, 0)} for s in Stage]
    return result


def minutes(value: timedelta | None) -> str:
    return "" if value is None else f"{value.total_seconds() / 60:.1f}"


def csv_rows(metrics: Metrics) -> list[list[str]]:
    """The whole page as rows of section, group, measure, value (durations in minutes)."""
    rows = [["section", "group", "measure", "value"]]
    rows.append(["range", "", "from", metrics.start.isoformat()])
    rows.append(["range", "", "to", metrics.end.isoformat()])
    rows.append(["incidents", "all", "opened", str(metrics.opened)])
    for step in metrics.steps:
        groups = [("all", step["all"])]
        groups += [(f"severity={Severity(k).label}", v) for k, v in sorted(step["severity"].items(), reverse=True)]
        groups += [(f"team={Team(k).label}", v) for k, v in sorted(step["team"].items())]
        for group, stat in groups:
            rows.append([step["key"], group, "count", str(stat.count)])
            rows.append([step["key"], group, "p50_minutes", minutes(stat.p50)])
            rows.append([step["key"], group, "p90_minutes", minutes(stat.p90)])
    for row in metrics.compliance:
        for clock, counts in row["clocks"].items():
            for measure in ("met", "breached", "pending", "percent"):
                value = counts[measure]
                rows.append([f"sla_{clock}", f"severity={row['label']}", measure, "" if value is None else str(value)])
    for row in metrics.escalations:
        rows.append(["escalations", f"team={row['label']}", "count", str(row["count"])])
        rows.append(["escalations", f"team={row['label']}", "claimed", str(row["claimed"])])
        rows.append(["escalations", f"team={row['label']}", "claim_p50_minutes", minutes(row["claim"].p50)])
        rows.append(["escalations", f"team={row['label']}", "claim_p90_minutes", minutes(row["claim"].p90)])
    for row in metrics.stages:
        rows.append(["stages", row["label"], "count", str(row["count"])])
    return rows


def bars(items: list[tuple[str, float | None, str]], width: int = 250) -> dict:
    """Horizontal bar geometry for the server-rendered SVG charts: (label, value, text) -> rows."""
    top = max((value or 0 for _, value, _ in items), default=0) or 1
    rows = []
    for index, (label, value, text) in enumerate(items):
        bar = round(width * (value or 0) / top, 1)
        rows.append({"label": label, "text": text, "y": index * 28, "width": bar, "text_x": 116 + bar})
    return {"rows": rows, "height": max(28, 28 * len(rows))}
