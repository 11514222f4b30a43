from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _revoke_changes_from_non_owners(using, **kwargs):
    """After every migrate: no role but the owner may UPDATE/DELETE/TRUNCATE the audit tables.

    Default privileges (deploy/postgres/01-app-role.sql) or a broad `GRANT ... ON ALL TABLES`
    given after the first migration would otherwise hand those rights to the application role.
    """
    from django.db import connections

    from .triggers import revoke_changes_from_non_owners

    revoke_changes_from_non_owners(connections[using])


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        post_migrate.connect(_revoke_changes_from_non_owners, sender=self, dispatch_uid="audit.revoke_changes")
