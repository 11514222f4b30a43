"""The desk's settings: the allow list, the SLA policies and the breach-notification rules.

The one door for changing them (the Django admin calls these): each add, change or removal is
checked by the model's own validation, saved, and written to the hash-chained audit trail with
the fields before and after, in one transaction. Supervisors only.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction

from accounts.roles import Role
from audit import services as audit
from audit.models import AuditAction
from core.masking import changes as field_changes
from core.masking import plain

from .models import AllowedNetwork, NotificationRule, SlaPolicy

# Per model: the fields a supervisor may set, and whether an entry may be removed.
EDITABLE = {
    AllowedNetwork: ("network", "label"),
    SlaPolicy: ("severity", "first_update_minutes", "claim_minutes", "resolve_minutes", "warn_percent"),
    NotificationRule: (
        "code",
        "jurisdiction",
        "title",
        "notify",
        "hours",
        "target_hours",
        "high_risk_only",
        "is_example",
        "active",
        "source",
    ),
}
REMOVABLE = {AllowedNetwork}
WHY_NOT_REMOVABLE = {
    SlaPolicy: "Every severity keeps an SLA policy: change its times instead.",
    NotificationRule: "Breach obligations refer to this rule: deactivate it instead.",
}


def _check(model: type[models.Model], actor, values: dict) -> None:
    if model not in EDITABLE:
        raise ValueError(f"{model._meta.label} is not a desk setting")
    if not actor.has_any_role([Role.SUPERVISOR]):
        raise PermissionDenied("Only a supervisor can change the desk's settings.")
    stray = set(values) - set(EDITABLE[model])
    if stray:
        raise ValueError(f"{model._meta.label}: not editable here: {sorted(stray)}")


def _snapshot(instance: models.Model) -> dict:
    return {name: plain(getattr(instance, name)) for name in EDITABLE[type(instance)]}


def _setting(instance: models.Model) -> str:
    return str(instance._meta.verbose_name)


@transaction.atomic
def create_setting(model: type[models.Model], *, actor, **values) -> models.Model:
    """Add an allow-list entry, an SLA policy or a notification rule; ValidationError if invalid."""
    _check(model, actor, values)
    instance = model(**values)
    if model is AllowedNetwork:
        instance.added_by = actor
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
    if model not in REMOVABLE:
        raise ValidationError(WHY_NOT_REMOVABLE.get(model, "This setting cannot be removed."))
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
