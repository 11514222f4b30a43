from django.apps import AppConfig

from . import lookups  # noqa: F401  (registers the overflow-safe integer `in` lookup for every IntegerField)


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"
