"""A model moved to another app keeps its audit history: its content type is renamed in place by
`audit.renames.move_content_types`, which records the former label, and verify_audit accepts the
former label that older field-change entries name, for that content type and those entries only.

The moves here run the migration's code against the real app registry, to a made-up app label
("moved"); the test's transaction rolls them back, and the content type cache is cleared after.
"""

import types
import uuid

import pytest
from auditlog.models import LogEntry
from django.apps import apps as global_apps
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.writer import OperationWriter

from audit import chain, triggers
from audit.models import AuditAction, AuditEntry, FormerLabel
from audit.registry import acting_as, field_change_data
from audit.renames import ContentTypeClash, move_content_types
from audit.services import record
from audit.verification import verify_chain
from campaigns.models import AllowedNetwork
from incidents.models import Note
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OLD, NEW = "campaigns.allowednetwork", "moved.allowednetwork"
# What RunPython hands its code as the schema editor: only its connection is used.
SCHEMA_EDITOR = types.SimpleNamespace(connection=connection)
# Verification reads a row after the entry naming it (batch of 5000), or, one entry at a time, a
# row first when a later row's entry was chained before its own (as concurrent writers can).
IN_ORDER, ROW_FIRST = 5000, 1


def move(*, back=False, apps=global_apps):
    operation = move_content_types("campaigns", "moved", ["AllowedNetwork"])
    (operation.reverse_code if back else operation.code)(apps, SCHEMA_EDITOR)


def head() -> int:
    return AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first()


def owner_sql(sql, params=()):
    """What a database owner can do despite the triggers: switch them off, change rows, switch them on."""
    with triggers.suspended(connection), connection.cursor() as cursor:
        cursor.execute(sql, params)


def chained_log_entry(content_type_id: int, label: str, *, verified_row_first: bool = False):
    """A field change on `content_type_id` whose chained entry names `label` (what a process still
    running the old code writes after a move, its content type cached under the old label).

    `verified_row_first`: a later row is chained before this one, so that verification in batches
    of one entry reads this row before the entry that names it.
    """
    (row,) = LogEntry.objects.bulk_create(  # no post_save: chained below, under the label given
        [
            LogEntry(
                content_type_id=content_type_id,
                object_pk="1",
                object_repr="allowed network #1",
                action=LogEntry.Action.UPDATE,
                changes={"label": ["Office", "Head office"]},
            )
        ]
    )
    if verified_row_first:
        UserFactory()  # its LogEntry is chained now, with the next id
    values = LogEntry.objects.filter(pk=row.pk).values(*chain.LOGENTRY_FIELDS).get()
    entry = record(AuditAction.MODEL_CHANGED, target=row, **field_change_data(values, label))
    return row, entry


@pytest.fixture(autouse=True)
def _fresh_content_type_cache():
    """The moves and renames change content type rows the cache holds: forget it after each test
    (the rows themselves roll back with the test)."""
    yield
    ContentType.objects.clear_cache()


@pytest.fixture
def networks():
    """Field changes of the model that moves (a create and an update), among others."""
    with acting_as(UserFactory(roles=["supervisor"])):
        network = AllowedNetwork.objects.create(network="203.0.113.0/24", label="Office")
        network.label = "Head office"
        network.save()
    content_type = ContentType.objects.get_for_model(AllowedNetwork)
    rows = list(LogEntry.objects.filter(content_type=content_type).order_by("id"))
    assert len(rows) == 2
    return rows


@pytest.fixture
def mover():
    """move(), undone at the end of the test as a migration's reverse would."""
    moves = []

    def run():
        move()
        moves.append(head())

    yield run
    if moves:
        move(back=True)


@pytest.fixture
def moved(networks, mover):
    mover()
    return networks


def assert_intact(batch_size=IN_ORDER):
    result = verify_chain(batch_size=batch_size)
    assert result.ok, result.reason
    assert result.field_changes_checked == LogEntry.objects.count()


# --- The move ------------------------------------------------------------------------------------


def test_the_move_renames_the_content_type_in_place_and_records_its_former_label(networks):
    content_type = ContentType.objects.get_for_model(AllowedNetwork)
    at = head()
    move()
    ContentType.objects.clear_cache()
    moved = ContentType.objects.get(pk=content_type.pk)
    assert (moved.app_label, moved.model) == ("moved", "allowednetwork")
    assert not ContentType.objects.filter(app_label="campaigns", model="allowednetwork").exists()
    assert {row.content_type_id for row in LogEntry.objects.filter(pk__in=[n.pk for n in networks])} == {moved.pk}
    (former,) = FormerLabel.objects.all()
    assert (former.content_type_id, former.label, former.upto_seq) == (moved.pk, OLD, at)

    move(back=True)  # nothing appended meanwhile: no trace of the move is left
    ContentType.objects.clear_cache()
    assert ContentType.objects.get(pk=content_type.pk).app_label == "campaigns"
    assert not FormerLabel.objects.exists()
    assert_intact()


def test_the_move_runs_on_the_historical_models_of_a_migration():
    """As a migration runs it: with the models of the migration state, not the app's own."""
    UserFactory()
    content_type = ContentType.objects.get_for_model(AllowedNetwork)
    state_apps = MigrationLoader(connection).project_state().apps
    move(apps=state_apps)
    ContentType.objects.clear_cache()  # the process's cache too was cleared: this only proves the point
    assert ContentType.objects.get_for_id(content_type.pk).app_label == "moved"
    assert FormerLabel.objects.get().label == OLD
    move(back=True, apps=state_apps)
    assert ContentType.objects.get_for_id(content_type.pk).app_label == "campaigns"
    assert not FormerLabel.objects.exists()


def test_the_operation_is_reversible_and_can_be_written_into_a_migration():
    operation = move_content_types("campaigns", "moved", ["AllowedNetwork"])
    assert operation.reversible
    text, imports = OperationWriter(operation).serialize()
    assert "audit.renames.MoveContentTypes('campaigns', 'moved', ['allowednetwork'])" in text
    assert "audit.renames.MoveContentTypes('moved', 'campaigns', ['allowednetwork'], undo=True)" in text
    assert "import audit.renames" in imports


def test_nothing_to_move_on_a_fresh_database():
    """There, post_migrate creates the content type under the new label after the last migration."""
    move_content_types("incidents", "moved", ["NoSuchModel"]).code(global_apps, SCHEMA_EDITOR)
    assert not ContentType.objects.filter(model="nosuchmodel").exists()
    assert not FormerLabel.objects.exists()


def test_an_empty_content_type_already_under_the_new_label_gives_way(networks, mover):
    """A migrate stopped between the state move and the rename: its post_migrate created the new one."""
    old = ContentType.objects.get_for_model(AllowedNetwork)
    empty = ContentType.objects.create(app_label="moved", model="allowednetwork")
    mover()
    assert not ContentType.objects.filter(pk=empty.pk).exists()
    assert ContentType.objects.get(app_label="moved", model="allowednetwork").pk == old.pk
    assert_intact()


def test_a_content_type_with_history_under_the_new_label_stops_the_move(networks):
    old = ContentType.objects.get_for_model(AllowedNetwork)
    other = ContentType.objects.create(app_label="moved", model="allowednetwork")
    chained_log_entry(other.pk, NEW)
    with pytest.raises(ContentTypeClash, match=r"content type moved\.allowednetwork \(id \d+\) exists already and 1 "):
        move()
    assert ContentType.objects.get(pk=old.pk).app_label == "campaigns"
    assert ContentType.objects.filter(pk=other.pk).exists()
    assert not FormerLabel.objects.exists()


def test_moving_back_after_entries_under_the_new_label_records_that_label_in_turn(networks):
    content_type_id = networks[0].content_type_id
    move()
    LogEntry.objects.create(  # chained as the application chains it: under the label it has now
        content_type_id=content_type_id, object_pk="1", object_repr="x", action=LogEntry.Action.UPDATE
    )
    assert AuditEntry.objects.get(seq=head()).data["model"] == NEW
    move(back=True)
    assert list(FormerLabel.objects.values_list("content_type_id", "label", "upto_seq")) == [
        (content_type_id, NEW, head())
    ]
    assert_intact()


# --- verify_audit after the move -----------------------------------------------------------------


def test_renaming_a_content_type_without_recording_it_breaks_verification(networks):
    """The reason for FormerLabel: the chained entries name the label the row had when written."""
    ContentType.objects.filter(app_label="campaigns", model="allowednetwork").update(app_label="moved")
    ContentType.objects.clear_cache()
    result = verify_chain()
    assert result.broken_logentry == networks[0].pk
    assert f"names model {OLD} for field-change entry (auditlog) #{networks[0].pk}" in result.reason
    assert f"a label its content type ({NEW}) never had" in result.reason


@pytest.mark.parametrize("batch_size", [IN_ORDER, ROW_FIRST])
def test_history_from_before_the_move_verifies_under_its_former_label(moved, batch_size):
    assert {AuditEntry.objects.get(target_id=str(row.pk)).data["model"] for row in moved} == {OLD}
    assert_intact(batch_size)


def test_a_row_read_before_its_entry_verifies_under_its_former_label(networks, mover):
    chained_log_entry(networks[0].content_type_id, OLD, verified_row_first=True)
    mover()
    assert_intact(ROW_FIRST)


@pytest.mark.parametrize("batch_size", [IN_ORDER, ROW_FIRST])
def test_an_entry_chained_after_the_move_under_the_new_label_verifies(moved, batch_size):
    chained_log_entry(moved[0].content_type_id, NEW, verified_row_first=batch_size == ROW_FIRST)
    assert_intact(batch_size)


@pytest.mark.parametrize("batch_size", [IN_ORDER, ROW_FIRST])
def test_an_entry_chained_after_the_move_under_the_old_label_is_named(moved, batch_size):
    upto = FormerLabel.objects.get().upto_seq
    row, entry = chained_log_entry(moved[0].content_type_id, OLD, verified_row_first=batch_size == ROW_FIRST)
    result = verify_chain(batch_size=batch_size)
    assert (result.broken_seq, result.broken_logentry) == (entry.seq, row.pk)
    assert result.reason == (
        f"it names model {OLD} for field-change entry (auditlog) #{row.pk}, "
        f"a label its content type ({NEW}) had only up to entry #{upto}"
    )


@pytest.mark.parametrize("batch_size", [IN_ORDER, ROW_FIRST])
def test_a_former_label_of_another_content_type_legitimizes_nothing(networks, mover, batch_size):
    """An entry chained before the move names the moved model's label for a row of another model:
    the move's FormerLabel is about the moved content type only."""
    notes = ContentType.objects.get_for_model(Note)
    row, entry = chained_log_entry(notes.pk, OLD, verified_row_first=batch_size == ROW_FIRST)
    mover()
    assert entry.seq <= FormerLabel.objects.get().upto_seq
    result = verify_chain(batch_size=batch_size)
    assert (result.broken_seq, result.broken_logentry) == (entry.seq, row.pk)
    assert result.reason == (
        f"it names model {OLD} for field-change entry (auditlog) #{row.pk}, "
        "a label its content type (incidents.note) never had"
    )


def test_a_row_pointed_at_another_content_type_is_named(moved):
    victim = moved[-1]
    users = ContentType.objects.get(app_label="accounts", model="user")
    owner_sql("UPDATE auditlog_logentry SET content_type_id = %s WHERE id = %s", [users.pk, victim.pk])
    result = verify_chain()
    assert result.broken_logentry == victim.pk
    assert f"#{victim.pk} does not match the digest entry #{result.broken_seq} holds" in result.reason


def test_a_row_pointed_at_the_moved_content_type_is_named(moved):
    victim = LogEntry.objects.exclude(content_type_id=moved[0].content_type_id).order_by("id").last()
    owner_sql("UPDATE auditlog_logentry SET content_type_id = %s WHERE id = %s", [moved[0].content_type_id, victim.pk])
    result = verify_chain()
    assert result.broken_logentry == victim.pk
    assert "does not match the digest" in result.reason


@pytest.mark.parametrize("batch_size", [IN_ORDER, ROW_FIRST])
def test_an_altered_row_from_before_the_move_is_named(moved, batch_size):
    victim = moved[-1]
    owner_sql(
        "UPDATE auditlog_logentry SET changes = %s WHERE id = %s", ['{"label": ["Office", "Elsewhere"]}', victim.pk]
    )
    result = verify_chain(batch_size=batch_size)
    assert result.broken_logentry == victim.pk
    assert "does not match the digest" in result.reason and "(the row was altered)" in result.reason


def test_the_viewer_still_shows_the_history_from_before_the_move(moved, verified_client):
    """Nothing reads entries by the model label they name: the viewer lists and shows them as they are."""
    client = verified_client(UserFactory(roles=["security"]))
    page = client.get("/audit/", {"action": AuditAction.MODEL_CHANGED}).content.decode()
    for row in moved:
        entry = AuditEntry.objects.get(target_type="auditlog.logentry", target_id=str(row.pk))
        assert f">#{entry.seq}</span>" in page
        assert f"&quot;model&quot;: &quot;{OLD}&quot;" in page


# --- Who may record a move -----------------------------------------------------------------------


def test_the_application_role_may_read_former_labels_but_not_write_them(postgres, moved):
    """A role that could add a FormerLabel could make a renamed content type look legitimate."""
    role = f"bulwark_test_app_{uuid.uuid4().hex[:8]}"  # roles are cluster-wide; rolled back with the test
    content_type_id = moved[0].content_type_id
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
        triggers.revoke_changes_from_non_owners(connection)  # what every migrate does
    for sql in (
        f"INSERT INTO audit_formerlabel (content_type_id, label, upto_seq) VALUES ({content_type_id}, 'a.b', 1)",
        "UPDATE audit_formerlabel SET upto_seq = upto_seq + 1",
        "DELETE FROM audit_formerlabel",
        "TRUNCATE audit_formerlabel",
    ):
        with (
            pytest.raises(DatabaseError, match="permission denied"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"SET LOCAL ROLE {role}")
            cursor.execute(sql)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {role}")
        cursor.execute("SELECT label FROM audit_formerlabel")
        assert cursor.fetchall() == [(OLD,)]
        cursor.execute("RESET ROLE")  # SET LOCAL outlives the savepoint: the move back runs as the owner
