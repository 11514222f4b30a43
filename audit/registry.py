"""Which model changes django-auditlog records, and how — the one place models are registered.

Domain events ("caller verified", "incident viewed") are written explicitly with
`audit.services.record()`. Field-level *changes* of models are captured by django-auditlog; apps
register their models here from `AppConfig.ready()`:

    from audit.registry import track

    class IncidentsConfig(AppConfig):
        def ready(self):
            track(self.get_model("Incident"), include=["stage", "status", "severity", "assignee"])
            track(self.get_model("Customer"), include=["display_name", "email", "language"],
                  mask=["display_name", "email"])

Rules, enforced by `track()` so that a careless registration fails at start-up, not in an audit:

- `include` is required: an explicit allow-list, so a field added to a model later (perhaps a
  secret) is not recorded until someone decides it should be.
- Fields named like secrets (password, secret, token, key, code hash...) are refused outright, and
  django-otp's models (TOTP keys and backup codes in clear) can never be registered.
- `mask` lists personal-data fields: their old and new values are replaced by a fixed marker
  (`mask()`), so the trail says *that* a customer's email changed without holding the address, and
  the customer's data can be erased later without rewriting history.
- The entry's `object_repr` is "<model> #<pk>" rather than `str(instance)`, which for a customer
  or an agent is a name.

The acting agent and client address of web requests are bound by `AuditlogContextMiddleware`;
Celery tasks have no request, so they name their actor with `acting_as(actor)`.

Every LogEntry, however it is written (a model's save or delete, a many-to-many change, a direct
create), is covered by the hash chain: `_chain_log_entry` appends a `model.changed` entry naming
its id and the digest of its content (`chain.logentry_digest`), in the same transaction as the
row. `verify_audit` recomputes every row's digest: an altered, deleted or unchained LogEntry is
reported by id. (auditlog's own `post_log` signal is not used: it does not fire for
many-to-many changes.) So a tracked save takes the chain lock like `record()` does: a service
takes the row locks it needs before its first tracked save, not only before its first record().
"""

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from auditlog.context import set_actor
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db.models import Model
from django.db.models.signals import post_save, pre_save

from core.fields import redact_text_columns

from . import chain, context, services
from .models import AuditAction

MASK = "[masked]"
_SECRET_NAME = re.compile(r"(^|_)password(_hash)?$|secret|token|otp|(^|_)key$|^bin_key$|code_hash|hashed|(^|_)code$")
_NEVER_TRACKED_APPS = {"django_otp", "otp_totp", "otp_static", "otp_email", "otp_hotp", "sessions", "auditlog"}


def mask(value: str | None) -> str | None:
    """Auditlog's mask callable: hide the whole value, not half of it (auditlog's default).

    An empty value stays empty, so "a name was set" is still distinguishable from "changed"
    (auditlog hands masked values over as strings: None arrives as "None").
    """
    return None if value in (None, "None") else value if value == "" else MASK


def track(
    model: type[Model],
    *,
    include: Iterable[str],
    mask: Iterable[str] = (),
    m2m: Iterable[str] = (),
    exclude: Iterable[str] = (),
) -> None:
    """Record changes to `include` (and the many-to-many fields in `m2m`) of `model`."""
    include, masked, m2m, exclude = list(include), list(mask), set(m2m), list(exclude)
    if model._meta.app_label in _NEVER_TRACKED_APPS:
        raise ImproperlyConfigured(f"{model._meta.label} must never be recorded by auditlog (it holds secrets).")
    if not include and not m2m:
        raise ImproperlyConfigured(f"track({model._meta.label}) needs an explicit include list.")
    for name in [*include, *m2m, *masked]:
        try:
            model._meta.get_field(name)
        except FieldDoesNotExist as exc:
            raise ImproperlyConfigured(f"track({model._meta.label}): no field {name!r}.") from exc
        if _SECRET_NAME.search(name) and name in include:
            raise ImproperlyConfigured(f"track({model._meta.label}): {name!r} looks like a secret; never record it.")
    stray = set(masked) - set(include)
    if stray:
        raise ImproperlyConfigured(f"track({model._meta.label}): masked fields {sorted(stray)} are not included.")
    auditlog.unregister(model)
    auditlog.register(
        model,
        include_fields=include,
        exclude_fields=exclude,
        mask_fields=masked,
        mask_callable="audit.registry.mask",
        m2m_fields=m2m,
    )


@contextmanager
def acting_as(actor, remote_addr: str | None = None) -> Iterator[None]:
    """Name the actor of model changes made outside a request (Celery tasks, commands)."""
    with set_actor(actor, remote_addr=remote_addr):
        yield


def _neutral_object_repr(sender, instance: LogEntry, **kwargs) -> None:
    # str(instance) of a customer or agent is a name: personal data that masking would miss.
    if instance._state.adding and instance.content_type_id:
        model = instance.content_type.model_class()
        label = model._meta.verbose_name if model is not None else instance.content_type.model
        instance.object_repr = f"{label} #{instance.object_pk}"


pre_save.connect(_neutral_object_repr, sender=LogEntry, dispatch_uid="audit.registry.neutral_object_repr")
# Unmasked changes (a label, a rule's title) are free text: no card number in them either.
pre_save.connect(redact_text_columns, sender=LogEntry, dispatch_uid="audit.registry.redact_text_columns")


def logentry_model_label(log_entry: LogEntry) -> str:
    content_type = ContentType.objects.get_for_id(log_entry.content_type_id)  # cached per process
    return f"{content_type.app_label}.{content_type.model}"


_CHANGE_NAMES = {
    LogEntry.Action.CREATE: "create",
    LogEntry.Action.UPDATE: "update",
    LogEntry.Action.DELETE: "delete",
    LogEntry.Action.ACCESS: "access",
}


def field_change_data(values: dict, label: str) -> dict:
    """What the chained `model.changed` entry of a LogEntry says: its id and digest, and for the
    viewer the model, object and names (never values) of the changed fields."""
    changes = values["changes"]
    return {
        "logentry": values["id"],
        "model": label,
        "object_pk": str(values["object_pk"]),
        "change": _CHANGE_NAMES.get(values["action"], str(values["action"])),
        "fields": sorted(changes) if isinstance(changes, dict) else [],
        "digest": chain.logentry_digest(values, label),
    }


def _chain_log_entry(sender, instance: LogEntry, created: bool, **kwargs) -> None:
    """Append the chained `model.changed` entry of a new LogEntry, in the transaction that wrote it.

    If the append fails, the save fails with it (inside a transaction, the LogEntry rolls back
    too); in autocommit a crash between the two leaves a row verify_audit reports as unchained.
    """
    if not created:
        return
    values = {name: getattr(instance, name) for name in chain.LOGENTRY_FIELDS}
    services.record(
        AuditAction.MODEL_CHANGED,
        actor=instance.actor if instance.actor_id else None,
        target=instance,
        **field_change_data(values, logentry_model_label(instance)),
    )


post_save.connect(_chain_log_entry, sender=LogEntry, dispatch_uid="audit.registry.chain_log_entry")


class AuditlogContextMiddleware:
    """Binds auditlog's actor and client address for the request.

    Used instead of auditlog's own middleware, which takes the client IP from the first
    X-Forwarded-For value unchecked: here the address is the one RequestContextMiddleware
    recorded (the socket address). The actor is `request.user` as authentication middleware set
    it; the correlation id of every LogEntry is the request id (settings.AUDITLOG_CID_GETTER),
    which ties model changes to the domain events of the same request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with set_actor(request.user, remote_addr=context.current().ip_address):
            return self.get_response(request)
