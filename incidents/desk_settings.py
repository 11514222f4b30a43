"""The desk's settings: the allow list, the SLA policies, the breach-notification rules and the
reply snippets.

The one door for changing them (the Django admin calls these): each add, change or removal is
checked by the model's own validation, saved, and written to the hash-chained audit trail with
the fields before and after, in one transaction. Supervisors only.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction

from accounts.roles import Role
from audit import services as audit
from audit.models import AuditAction
from core.masking import changes as field_changes
from core.masking import plain

from .models import ReplySnippet, SlaPolicy


@dataclass(frozen=True)
class Setting:
    """A model supervisors edit as a desk setting: the fields they may set, whether an entry may be
    removed (and why not), and the field naming who added an entry."""

    fields: tuple[str, ...]
    removable: bool = False
    why_not_removable: str = "This setting cannot be removed."
    added_by_field: str = ""


# Per model; the kernel's own here, the satellites' registered from their AppConfig.ready().
SETTINGS: dict[type[models.Model], Setting] = {}


def register(model: type[models.Model], setting: Setting) -> None:
    SETTINGS[model] = setting


register(
    SlaPolicy,
    Setting(
        fields=("severity", "first_update_minutes", "claim_minutes", "resolve_minutes", "warn_percent"),
        why_not_removable="Every severity keeps an SLA policy: change its times instead.",
    ),
)


register(
    ReplySnippet,
    Setting(
        fields=("title", "language", "purpose", "body", "active"),
        why_not_removable="Deactivate a reply snippet instead: agents may have used it.",
    ),
)


def editable(model: type[models.Model]) -> tuple[str, ...]:
    return SETTINGS[model].fields


def _check(model: type[models.Model], actor, values: dict) -> None:
    if model not in SETTINGS:
        raise ValueError(f"{model._meta.label} is not a desk setting")
    if not actor.has_any_role([Role.SUPERVISOR]):
        raise PermissionDenied("Only a supervisor can change the desk's settings.")
    stray = set(values) - set(editable(model))
    if stray:
        raise ValueError(f"{model._meta.label}: not editable here: {sorted(stray)}")


def _snapshot(instance: models.Model) -> dict:
    return {name: plain(getattr(instance, name)) for name in editable(type(instance))}


def _setting(instance: models.Model) -> str:
    return str(instance._meta.verbose_name)


@transaction.atomic
def create_setting(model: type[models.Model], *, actor, **values) -> models.Model:
    """Add an allow-list entry, an SLA policy or a notification rule; ValidationError if invalid."""
    _check(model, actor, values)
    instance = model(**values)
    if SETTINGS[model].added_by_field:
        setattr(instance, SETTINGS[model].added_by_field, actor)
    instance.full_clean()
    instance.save(force_insert=True)
    audit.record(
        AuditAction.SETTING_CREATED,
        actor=actor,
        target=instance,
        setting=_setting(instance),
        changes=field_changes({}, _snapshot(instance)),
    )
    return instance


@transaction.atomic
def change_setting(instance: models.Model, *, actor, **values) -> models.Model:
    """Change some fields of a setting; nothing changed, nothing recorded."""
    model = type(instance)
    _check(model, actor, values)
    instance = model.objects.select_for_update().get(pk=instance.pk)
    before = _snapshot(instance)
    for name, value in values.items():
        setattr(instance, name, value)
    instance.full_clean()
    after = _snapshot(instance)
    changed = field_changes(before, after)
    if not changed:
        return instance
    instance.save(update_fields=list(changed))
    audit.record(AuditAction.SETTING_CHANGED, actor=actor, target=instance, setting=_setting(instance), changes=changed)
    return instance


@transaction.atomic
def delete_setting(instance: models.Model, *, actor) -> None:
    """Remove an allow-list entry (the other settings are changed or deactivated instead)."""
    model = type(instance)
    _check(model, actor, {})
    if not SETTINGS[model].removable:
        raise ValidationError(SETTINGS[model].why_not_removable)
    instance = model.objects.select_for_update().get(pk=instance.pk)
    before = _snapshot(instance)
    audit.record(
        AuditAction.SETTING_DELETED,
        actor=actor,
        target=instance,
        setting=_setting(instance),
        changes=field_changes(before, dict.fromkeys(before)),
    )
    instance.delete()
