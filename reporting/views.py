"""The supervisor metrics page and its CSV export."""

from datetime import timedelta

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.access import role_required
from accounts.roles import Role
from core.dates import DateRangeForm
from incidents.models import Severity
from incidents.sla import compact

from . import metrics, services


def _metrics_range(request):
    today = timezone.localdate()
    form = DateRangeForm(request.GET or {"start": today - timedelta(days=29), "end": today})
    return form, (form.cleaned_data["start"], form.cleaned_data["end"]) if form.is_valid() else None


@role_required([Role.SUPERVISOR])
def supervisor_metrics(request):
    form, chosen = _metrics_range(request)
    context = {"form": form}
    if chosen:
        result = metrics.supervisor_metrics(*chosen)
        context.update(
            {
                "m": result,
                "charts": metrics_charts(result),
                "query": request.GET.urlencode() or f"start={chosen[0].isoformat()}&end={chosen[1].isoformat()}",
            }
        )
    return render(request, "reporting/metrics.html", context, status=200 if chosen else 400)


@role_required([Role.SUPERVISOR])
def supervisor_metrics_csv(request):
    form, chosen = _metrics_range(request)
    if not chosen:
        return render(request, "reporting/metrics.html", {"form": form}, status=400)
    text = services.export_metrics_csv(start=chosen[0], end=chosen[1], actor=request.user)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="bulwark-metrics-{chosen[0]}-{chosen[1]}.csv"'
    return response


def metrics_charts(result) -> dict:
    def label(stat):
        return f"p90 {compact(stat.p90)}" if stat.p90 is not None else "no data"

    def seconds(value):
        return value.total_seconds() if value is not None else None

    charts = {}
    for step in result.steps:
        if step["key"] in ("first_update", "resolve"):
            items = []
            for severity in sorted(step["severity"], reverse=True):
                stat = step["severity"][severity]
                items.append((Severity(severity).label, seconds(stat.p90), label(stat)))
            charts[step["key"]] = metrics.bars(items)
    charts["stages"] = metrics.bars([(s["label"], s["count"], str(s["count"])) for s in result.stages])
    charts["escalations"] = metrics.bars(
        [(e["label"], e["count"], f"{e['count']} ({e['claimed']} claimed)") for e in result.escalations]
    )
    charts["compliance"] = metrics.bars(
        [
            (r["label"], r["clocks"]["first_update"]["percent"], _percent(r["clocks"]["first_update"]["percent"]))
            for r in result.compliance
        ]
    )
    return charts


def _percent(value):
    return "no data" if value is None else f"{value:g} %"
