"""Moving a model to another app without losing its audit history: `move_content_types()`.

A model that moves to another app with a state-only migration keeps its table, and keeps its
django_content_type row if that row is renamed in place (same id, new app_label): auditlog's rows
point at it by id and follow it. But the chained `model.changed` entry of each of those rows holds
a digest of the label the model had when the row was written ("incidents.customerupdate"), and
the chain is never rewritten. So the rename is recorded as an `audit.FormerLabel`, and
verify_audit accepts the former label for that content type's entries up to the chain head at the
move, and for no other entry or content type.

In the migration that moves the models, after the operations that move them in the state:

    from audit.renames import move_content_types

    class Migration(migrations.Migration):
        dependencies = [
            ("incidents", "00xx_..."),
            ("audit", "0007_former_labels"),  # FormerLabel, and auditlog's LogEntry
            ("contenttypes", "0002_remove_content_type_name"),  # content types without `name`
        ]
        operations = [
            migrations.SeparateDatabaseAndState(state_operations=[...]),
            move_content_types("incidents", "notifications", ["CustomerUpdate"]),
        ]

Per model, in one transaction under the chain lock (no entry is appended between reading the
head and the rename, so `upto_seq` is exactly the last entry written under the old label):

- no content type under the old label (a fresh database: post_migrate creates content types only
  after the last migration, by then under the new label): nothing to do;
- one under the new label already (a `migrate` stopped between the state move and this operation,
  and its post_migrate created it): it is deleted if no auditlog row points at it, otherwise the
  migration fails (ContentTypeClash), since both would hold history of the model and an auditlog
  row's digest covers its content type: that needs a decision, not a migration;
- the old row takes the new app label, and FormerLabel(content type, old label, upto_seq=head) is
  written.

The reverse moves the rows back and deletes those FormerLabels. If the chain grew in between,
entries written meanwhile name the new label: the way back is then recorded as a FormerLabel too.

Caches: the historical model's and this process's ContentType caches are cleared, so a data
migration later in the same `migrate` sees the new label. Other processes keep theirs: stop web,
workers and beat before migrating. A process still running the old code writes its field changes
under the old label after the move (verify_audit reports each of them), or, not having the content
type cached, creates a new content type under the old label and splits the model's history.
"""

from django.contrib.contenttypes.models import ContentType as CurrentContentType
from django.db import migrations, router, transaction
from django.utils.deconstruct import deconstructible

from . import chain


class ContentTypeClash(RuntimeError):
    """The model has a content type under its new label already, and auditlog rows point at it."""


def move_content_types(old_app_label: str, new_app_label: str, models: list[str]) -> migrations.RunPython:
    """The operation that renames the content types of `models` (model names, any case) from
    `old_app_label` to `new_app_label` in place, recording their former labels; reversible."""
    names = [name.lower() for name in models]
    return migrations.RunPython(
        MoveContentTypes(old_app_label, new_app_label, names),
        MoveContentTypes(new_app_label, old_app_label, names, undo=True),
    )


@deconstructible(path="audit.renames.MoveContentTypes")
class MoveContentTypes:
    """One direction of move_content_types(): a class rather than a closure so that the
    migration writer (squashmigrations) can serialize it."""

    def __init__(self, from_app_label: str, to_app_label: str, models: list[str], undo: bool = False):
        self.from_app_label, self.to_app_label = from_app_label, to_app_label
        self.models, self.undo = list(models), undo

    def __call__(self, apps, schema_editor) -> None:
        ContentType = apps.get_model("contenttypes", "ContentType")
        db = schema_editor.connection.alias
        if not router.allow_migrate_model(db, ContentType):
            return
        with transaction.atomic(using=db):
            chain.lock_chain(schema_editor.connection)
            entries = apps.get_model("audit", "AuditEntry").objects.using(db)
            head = entries.order_by("-seq").values_list("seq", flat=True).first() or 0
            for model in self.models:
                content_type = _rename(apps, db, model, self.from_app_label, self.to_app_label)
                if content_type is None:
                    continue
                left, taken = f"{self.from_app_label}.{model}", f"{self.to_app_label}.{model}"
                if self.undo:
                    _forget_move(apps, db, content_type, left=left, restored=taken, head=head)
                else:
                    _record_move(apps, db, content_type, left, head)
        _clear_caches(ContentType)


def _rename(apps, db: str, model: str, from_app_label: str, to_app_label: str):
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_types = ContentType.objects.using(db)
    content_type = content_types.filter(app_label=from_app_label, model=model).first()
    if content_type is None:
        return None
    clash = content_types.filter(app_label=to_app_label, model=model).first()
    if clash is not None:
        in_use = apps.get_model("auditlog", "LogEntry").objects.using(db).filter(content_type_id=clash.pk).count()
        if in_use:
            raise ContentTypeClash(
                f"Cannot move content type {from_app_label}.{model} (id {content_type.pk}) to {to_app_label}: "
                f"content type {to_app_label}.{model} (id {clash.pk}) exists already and {in_use} field-change "
                "entries (auditlog) point at it. Both hold history of the model; decide by hand which keeps the label."
            )
        clash.delete(using=db)  # empty: created by a post_migrate before the move
    content_type.app_label = to_app_label
    content_type.save(using=db, update_fields=["app_label"])
    return content_type


def _record_move(apps, db: str, content_type, former_label: str, head: int) -> None:
    FormerLabel = apps.get_model("audit", "FormerLabel")
    FormerLabel.objects.using(db).create(content_type_id=content_type.pk, label=former_label, upto_seq=head)


def _forget_move(apps, db: str, content_type, *, left: str, restored: str, head: int) -> None:
    """Delete the FormerLabel the move wrote (the label now `restored`). If the chain grew since the
    move, its new entries may name the label being `left`: that one is recorded in turn."""
    FormerLabel = apps.get_model("audit", "FormerLabel")
    labels = FormerLabel.objects.using(db).filter(content_type_id=content_type.pk)
    added = labels.filter(label=restored).order_by("-upto_seq", "-id").first()
    since = 0
    if added is not None:
        since = added.upto_seq
        added.delete(using=db)
    if head > since:
        _record_move(apps, db, content_type, left, head)


def _clear_caches(ContentType) -> None:
    ContentType.objects.clear_cache()
    CurrentContentType.objects.clear_cache()
