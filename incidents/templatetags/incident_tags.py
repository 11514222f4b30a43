from django import template
from django.utils import timezone
from django.utils.html import format_html

from incidents.models import Severity, Team
from incidents.sla import clock_state, compact, incident_clock

register = template.Library()


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def waited(since):
    """How long something has waited, compactly: 4 min, 2 h 05 min, 3 d 4 h."""
    if not since:
        return ""
    seconds = max(0, int((timezone.now() - since).total_seconds()))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if days:
        return f"{days} d {hours % 24} h"
    if hours:
        return f"{hours} h {minutes % 60:02d} min"
    return f"{minutes} min"


@register.simple_tag
def clock(due_at, warn_at=None, met_at=None):
    """An SLA clock as a badge: time left (amber when at risk), overdue in red, or met."""
    state = clock_state(due_at, warn_at, met_at)
    if state.due_at is None:
        return format_html('<span class="{}">—</span>', state.css)
    due = timezone.localtime(state.due_at)
    return format_html('<span class="{}" title="due {}">{}</span>', state.css, f"{due:%Y-%m-%d %H:%M %Z}", state.label)


@register.simple_tag
def row_clock(incident):
    """The clock an incident list row shows: the first update while it runs, then the resolution."""
    name, state = incident_clock(incident)
    if state.due_at is None:
        return format_html('<span class="{}">—</span>', state.css)
    due = timezone.localtime(state.due_at)
    return format_html(
        '<span class="{}" title="{} due {}">{}<span class="clock-name"> · {}</span></span>',
        state.css,
        name,
        f"{due:%Y-%m-%d %H:%M %Z}",
        state.label,
        name.lower(),
    )


@register.filter
def duration(value):
    """A timedelta compactly (“—” when there is none)."""
    if value is None:
        return "—"
    return compact(value) if value.total_seconds() >= 60 else f"{int(value.total_seconds())} s"


@register.filter
def severity_rows(stats):
    return [(Severity(key).label, stats[key]) for key in sorted(stats, reverse=True)]


@register.filter
def team_rows(stats):
    return [(Team(key).label, stats[key]) for key in sorted(stats)]
