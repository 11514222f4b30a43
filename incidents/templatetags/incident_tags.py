from django import template
from django.utils import timezone

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
