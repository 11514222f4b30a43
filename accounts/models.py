from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.functional import cached_property

from core.fields import CardFreeEmailField, RedactedCharField

from .roles import Role


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An agent needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        if not (extra["is_staff"] and extra["is_superuser"]):
            raise ValueError("A superuser must have is_staff and is_superuser set.")
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """An agent account. Agents sign in with their email address and a second factor."""

    email = CardFreeEmailField("email address", unique=True)
    full_name = RedactedCharField(max_length=150, blank=True)
    is_staff = models.BooleanField("admin access", default=False, help_text="May sign in to the Django admin.")
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Deactivate agents instead of deleting them: the audit trail refers to them.",
    )
    date_joined = models.DateTimeField(default=timezone.now)
    access_expires_at = models.DateTimeField(
        "access expires at",
        null=True,
        blank=True,
        help_text="For temporary staff: sign-in is refused after this moment.",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = "agent"
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self):
        return self.full_name or self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return (self.full_name or self.email).split()[0]

    @property
    def access_expired(self) -> bool:
        return self.access_expires_at is not None and self.access_expires_at <= timezone.now()

    @cached_property
    def roles(self) -> frozenset[str]:
        """The agent's role names; superusers hold every role."""
        if self.is_superuser:
            return frozenset(Role.values)
        if hasattr(self, "role_names"):  # read with the agent (accounts.agent_loading)
            return frozenset(name for name in (self.role_names or "").split(",") if name in Role.values)
        return frozenset(self.groups.filter(name__in=Role.values).values_list("name", flat=True))

    def has_any_role(self, roles) -> bool:
        return bool(self.roles & set(roles))


class AgentSession(models.Model):
    """One signed-in browser of an agent, so they (and supervisors) can see and end it.

    `sid` is a random id kept inside the session data: it survives the session-key changes made
    after each sign-in factor, while `session_key` follows the current key.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="agent_sessions")
    sid = models.CharField(max_length=32, unique=True)
    session_key = models.CharField(max_length=40, db_index=True)
    user_agent = RedactedCharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen"]
        indexes = [models.Index(fields=["user", "ended_at"], name="agent_session_active")]

    def __str__(self):
        return f"{self.user} on {self.device}"

    @property
    def device(self) -> str:
        """A short human description of the browser: "Firefox on Linux"."""
        ua = self.user_agent
        browser = next((name for key, name in _BROWSERS if key in ua), "Browser")
        system = next((name for key, name in _SYSTEMS if key in ua), "unknown system")
        return f"{browser} on {system}"


_BROWSERS = [("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl")]
_SYSTEMS = [("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"), ("Mac OS X", "macOS"), ("Linux", "Linux")]  # fmt: skip
