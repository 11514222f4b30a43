"""django-auditlog's field-change entries are covered by the hash chain: each one has a chained
`model.changed` entry holding its digest, and verify_audit names a row that was altered, deleted
or written outside the chain."""

import importlib
from io import StringIO

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from audit import chain, triggers
from audit.models import AuditAction, AuditEntry
from audit.registry import acting_as
from audit.verification import verify_chain
from incidents import services as incidents
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def verify(*args):
    out, err = StringIO(), StringIO()
    call_command("verify_audit", "--no-record", "--no-anchors", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def owner_sql(sql, params=()):
    """What a database owner can do despite the triggers: switch them off, change rows, switch them on."""
    with triggers.suspended(connection), connection.cursor() as cursor:
        cursor.execute(sql, params)


def chained(log_entry):
    return AuditEntry.objects.get(action=AuditAction.MODEL_CHANGED, target_id=str(log_entry.pk))


@pytest.fixture
def changes():
    """Field changes of several kinds: create, update, masked values, many-to-many, an IPv6 client."""
    supervisor = UserFactory(roles=["supervisor"])
    with acting_as(supervisor, remote_addr="2001:db8:0:0::7"):
        agent = UserFactory(full_name="Kim Park")
        agent.full_name = "Kim Park-Lee"
        agent.is_active = False
        agent.save()
        agent.groups.add(Group.objects.get_or_create(name="security")[0])
        customer = CustomerFactory()
        incidents.open_incident(customer=customer, channel="phone", summary="Payout changed", severity=2, actor=agent)
    return LogEntry.objects.order_by("id")


def test_every_field_change_entry_has_its_chained_entry(changes):
    assert changes.count() >= 6
    for log_entry in changes:
        entry = chained(log_entry)
        assert entry.data["logentry"] == log_entry.pk
        assert entry.data["model"] == f"{log_entry.content_type.app_label}.{log_entry.content_type.model}"
        assert entry.data["object_pk"] == log_entry.object_pk
        assert entry.actor_id == log_entry.actor_id
        assert entry.target_type == "auditlog.logentry"
        stored = LogEntry.objects.filter(pk=log_entry.pk).values(*chain.LOGENTRY_FIELDS).get()
        assert entry.data["digest"] == chain.logentry_digest(stored, entry.data["model"])
    roles = [log_entry for log_entry in changes if "groups" in log_entry.changes]
    assert roles and all(chained(log_entry).data["fields"] == ["groups"] for log_entry in roles)  # many-to-many
    assert "Kim" not in repr(list(AuditEntry.objects.values_list("data", flat=True)))
    output = verify()
    assert f"{changes.count()} field changes" in output
    assert "intact" in output


def test_the_digest_covers_every_column_auditlog_has():
    """A column added by an auditlog upgrade must be added to the digest deliberately."""
    columns = {field.attname for field in LogEntry._meta.concrete_fields}
    assert columns == set(chain.LOGENTRY_FIELDS)


def test_a_field_change_rolled_back_leaves_neither_row_nor_chained_entry():
    agent = UserFactory()
    before = (LogEntry.objects.count(), AuditEntry.objects.count())
    with pytest.raises(RuntimeError), transaction.atomic():
        agent.full_name = "Someone Else"
        agent.save()
        assert LogEntry.objects.count() == before[0] + 1
        raise RuntimeError
    assert (LogEntry.objects.count(), AuditEntry.objects.count()) == before


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("changes", '{"is_active": [false, true]}'),  # the change itself
        ("actor_id", None),  # who made it
        ("timestamp", "2020-01-01T00:00:00+00:00"),  # when
        ("object_pk", "999"),  # to which object
        ("remote_addr", "203.0.113.66"),  # from where
    ],
)
def test_an_altered_field_change_entry_is_named(changes, column, value):
    victim = changes.filter(action=LogEntry.Action.UPDATE, changes__is_active__isnull=False).get()
    seq = chained(victim).seq
    owner_sql(f"UPDATE auditlog_logentry SET {column} = %s WHERE id = %s", [value, victim.pk])
    with pytest.raises(CommandError) as failure:
        verify()
    assert failure.value.returncode == 1
    assert f"BROKEN at entry #{seq}: field-change entry (auditlog) #{victim.pk} does not match" in str(failure.value)
    assert "altered" in str(failure.value)


def test_a_field_change_entry_moved_to_another_model_is_named(changes):
    victim = changes.last()
    other = changes.exclude(content_type_id=victim.content_type_id).first()
    owner_sql("UPDATE auditlog_logentry SET content_type_id = %s WHERE id = %s", [other.content_type_id, victim.pk])
    with pytest.raises(CommandError, match=rf"field-change entry \(auditlog\) #{victim.pk} does not match"):
        verify()


def test_a_deleted_field_change_entry_is_named(changes):
    victim = changes[2]
    seq = chained(victim).seq
    owner_sql("DELETE FROM auditlog_logentry WHERE id = %s", [victim.pk])
    with pytest.raises(CommandError) as failure:
        verify()
    assert f"BROKEN at entry #{seq}: it names field-change entry (auditlog) #{victim.pk}, which is missing" in str(
        failure.value
    )


def test_the_newest_field_change_entry_deleted_is_named(changes):
    victim = changes.last()
    owner_sql("DELETE FROM auditlog_logentry WHERE id = %s", [victim.pk])
    with pytest.raises(CommandError, match=rf"#{victim.pk}, which is missing"):
        verify()


def test_a_field_change_entry_written_outside_the_chain_is_named(changes):
    template = changes.first()
    # bulk_create sends no post_save: the row lands without its chained entry, as raw SQL would.
    (forged,) = LogEntry.objects.bulk_create(
        [
            LogEntry(
                content_type_id=template.content_type_id,
                object_pk=template.object_pk,
                object_repr=template.object_repr,
                action=LogEntry.Action.UPDATE,
                changes={"is_active": ["False", "True"]},
            )
        ]
    )
    result = verify_chain()
    assert not result.ok
    assert result.broken_logentry == forged.pk
    with pytest.raises(
        CommandError,
        match=rf"BROKEN at field-change entry \(auditlog\) #{forged.pk}: .*not in the chain \(written outside it\)",
    ):
        verify()


def test_the_migration_chains_the_rows_written_before_it(changes):
    (old,) = LogEntry.objects.bulk_create(
        [LogEntry(content_type_id=changes.first().content_type_id, object_pk="1", object_repr="x", action=0)]
    )
    assert verify_chain().broken_logentry == old.pk
    migration = importlib.import_module("audit.migrations.0005_chain_field_changes")
    migration.chain_existing_log_entries(None, None)
    migration.chain_existing_log_entries(None, None)  # once only
    assert AuditEntry.objects.filter(action=AuditAction.MODEL_CHANGED, target_id=str(old.pk)).count() == 1
    backfilled = AuditEntry.objects.get(action=AuditAction.MODEL_CHANGED, target_id=str(old.pk))
    assert backfilled.data["backfilled"] is True
    result = verify_chain()
    assert result.ok, result.reason
    assert result.field_changes_checked == LogEntry.objects.count()


def test_each_tracked_save_costs_the_same_few_queries():
    """The chained entry adds a constant number of queries to every tracked save, however long the chain."""
    from django.test.utils import CaptureQueriesContext

    customer = CustomerFactory()
    counts = []
    for name in ("First", "Second"):
        with CaptureQueriesContext(connection) as queries:
            customer.display_name = name
            customer.save()
        counts.append(len(queries))
        for index in range(20):
            AuditEntry.objects.count()  # the chain grows between the two saves
            CustomerFactory(display_name=f"c{index}")
    assert counts[0] == counts[1], counts
