from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Agents and access: sign-in with two factors, roles, sessions, lockouts, the access decorators,
    agent administration.

    May import audit and core."""

    name = "accounts"
    verbose_name = "Agents and access"

    def ready(self):
        # Imported here: what touches models may load only once the app registry is ready.
        from audit.registry import track

        from . import signals  # noqa: F401 (connects sign-in/out and lockout to the audit trail)

        # Who may do what, and whether they still may: never the password hash or 2FA secrets.
        # Name and email are personal data: recorded as changed, values masked.
        track(
            self.get_model("User"),
            include=["email", "full_name", "is_active", "is_staff", "is_superuser", "access_expires_at"],
            mask=["email", "full_name"],
            m2m=["groups"],
        )
