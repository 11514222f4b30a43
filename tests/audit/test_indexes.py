"""The audit table carries one index per filter of the viewer, none twice: each is written on every append."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _indexes() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "audit_auditentry")
    return {name: info["columns"] for name, info in constraints.items() if info["index"] and not info["unique"]}


def test_each_filter_column_is_indexed_once_with_the_sequence():
    indexes = _indexes()
    for column in ("action", "actor_id", "incident_id", "customer_id"):
        leading = [name for name, columns in indexes.items() if columns and columns[0] == column]
        assert len(leading) == 1, (column, leading)
        assert indexes[leading[0]] == [column, "seq"]


def test_dropping_the_indexes_kept_the_append_only_triggers():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_auditentry'::regclass")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_auditentry'")
        names = {row[0] for row in cursor.fetchall()}
    assert len(names) >= 2, names  # UPDATE and DELETE rejected (test_triggers checks what they do)
