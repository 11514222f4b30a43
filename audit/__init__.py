"""The audit trail: the hash-chained, append-only log, its anchors, viewer, exports and the
registry of model changes django-auditlog records.

May import core only. Its pages (views, admin) also use accounts' access decorators, role names
and admin kit: exactly those imports are allowed in [tool.importlinter] in pyproject.toml.
"""
