from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate

from .triggers import revoke_changes_from_non_owners


def _revoke_changes_from_non_owners(using, **kwargs):
    """After every migrate: no role but the owner may UPDATE/DELETE/TRUNCATE the audit tables.

    Default privileges (deploy/postgres/01-app-role.sql) or a broad `GRANT ... ON ALL TABLES`
    given after the first migration would otherwise hand those rights to the application role.
    """
    revoke_changes_from_non_owners(connections[using])


class AuditConfig(AppConfig):
    """The append-only, hash-chained audit trail: recording, the chain and its anchors, verification,
    the viewer and exports, and django-auditlog's field changes chained into it.

    May import core (its views and admin also use the access decorators and admin kit of accounts)."""

    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        post_migrate.connect(_revoke_changes_from_non_owners, sender=self, dispatch_uid="audit.revoke_changes")
