"""Loading the signed-in agent once per request: the agent, their roles and whether the second
factor their session was verified with still holds, in one SQL statement.

Nothing is cached between requests, so a role change, an expired access date, a reset second
factor, a deactivation or an ended session (its row deleted) takes effect on the very next
request. What changes is only how many round trips that takes: Django's ModelBackend reads the
user, django-otp's middleware the device, and the role check the groups, one statement each.

- `AgentBackend.get_user` (the authentication backend the session names) reads the user with
  their role names aggregated in a subquery and, when the session holds a device id, an EXISTS of
  that device, confirmed and belonging to the agent.
- `AgentOTPMiddleware` (in place of django-otp's) tells the backend which device the session
  holds, and turns the EXISTS into `user.otp_device`: the device object itself is loaded only
  if something reads it (verification pages do; an ordinary page only asks `is_verified()`).
"""

import contextvars

from django.apps import apps
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.db.models import Aggregate, CharField, Exists, OuterRef, Subquery
from django.utils.functional import SimpleLazyObject
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware
from django_otp.models import Device

from .models import User
from .roles import Role

# The device id the session being loaded holds ("otp_totp.totpdevice/7"), for the backend.
_session_device: contextvars.ContextVar[str | None] = contextvars.ContextVar("session_device", default=None)
ROLE_SEPARATOR = ","  # role names are slugs (accounts.roles): never hold it


class RoleNames(Aggregate):
    """The names of a user's groups in one string (GROUP_CONCAT on SQLite, STRING_AGG on PostgreSQL)."""

    function = "GROUP_CONCAT"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, function="STRING_AGG", template=f"%(function)s(%(expressions)s, '{ROLE_SEPARATOR}')"
        )


def _role_names():
    memberships = (
        User.groups.through.objects.filter(user_id=OuterRef("pk"), group__name__in=Role.values)
        .values("user_id")
        .annotate(names=RoleNames("group__name"))
        .values("names")
    )
    return Subquery(memberships, output_field=CharField())


def _device(persistent_id: str | None):
    """The device model and id a session's persistent id names, or None if it names none."""
    if not persistent_id:
        return None
    try:
        label, device_id = OTPMiddleware._normalize_persistent_id(persistent_id).rsplit("/", 1)
        app_label, model_name = label.split(".")
        model = apps.get_model(app_label, model_name)
        return (model, int(device_id)) if issubclass(model, Device) else None
    except (ValueError, LookupError):
        return None


def agents_with_roles(persistent_id: str | None = None):
    """Users with `role_names` (and `device_holds`, when a device id is given) annotated."""
    users = User.objects.annotate(role_names=_role_names())
    device = _device(persistent_id)
    if device is not None:
        model, device_id = device
        users = users.annotate(
            device_holds=Exists(model.objects.filter(pk=device_id, user_id=OuterRef("pk"), confirmed=True))
        )
    return users


# The statement is compiled once per process (per database and device model) and then run with
# each request's ids: building it through the ORM on every request cost more than running it.
_USER, _DEVICE = -7_391_001, -7_391_002  # placeholders no row ever has
_statements: dict[tuple, tuple[str, list]] = {}


def _statement(persistent_id: str | None) -> tuple[str, list, int | None]:
    device = _device(persistent_id)
    model, device_id = device if device is not None else (None, None)
    key = (connection.vendor, model)
    if key not in _statements:
        users = agents_with_roles(f"{model._meta.label_lower}/{_DEVICE}" if model else None).filter(pk=_USER)
        _statements[key] = users.query.get_compiler(using=users.db).as_sql()
    sql, params = _statements[key]
    return sql, list(params), device_id


def load_agent(user_id, persistent_id: str | None) -> User | None:
    sql, params, device_id = _statement(persistent_id)
    params = [int(user_id) if p == _USER else device_id if p == _DEVICE else p for p in params]
    return next(iter(User.objects.raw(sql, params)), None)


class AgentBackend(ModelBackend):
    """ModelBackend that reads the agent, their roles and their session's device in one statement."""

    def get_user(self, user_id):
        try:
            user = load_agent(user_id, _session_device.get())
        except (TypeError, ValueError):  # a session naming no valid id
            return None
        return user if user is not None and self.user_can_authenticate(user) else None


class AgentOTPMiddleware(OTPMiddleware):
    """django-otp's middleware, with the device check answered by the agent's own statement."""

    def _verify_user_sync(self, request, user):
        persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
        token = _session_device.set(persistent_id)
        try:
            authenticated = user.is_authenticated  # loads the agent (AgentBackend) with the hint set
        finally:
            _session_device.reset(token)
        holds = getattr(user, "device_holds", None) if authenticated else None  # 0/1 on SQLite
        if holds is None:  # no device in the session, or a user loaded another way
            return super()._verify_user_sync(request, user)
        self._init_user_fields(user)
        if holds:
            normalized = self._normalize_persistent_id(persistent_id)
            user.otp_device = SimpleLazyObject(lambda: Device.from_persistent_id(normalized))
        else:
            del request.session[DEVICE_ID_SESSION_KEY]
        return user
