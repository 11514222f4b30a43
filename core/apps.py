from django.apps import AppConfig

from . import lookups  # noqa: F401  (registers the overflow-safe integer `in` lookup for every IntegerField)


class CoreConfig(AppConfig):
    """The ground floor: the application error type, card-number redaction and the storage fields
    built on it, masking, bidi isolation, form widgets, keyset paging, date ranges.

    Imports nothing of ours (the standard library and Django only)."""

    name = "core"
    verbose_name = "Core"
