from django.apps import AppConfig


class BreachesConfig(AppConfig):
    """Personal-data breaches: the jurisdictions' notification rules, each breach's duties and deadlines.

    A satellite of the playbook kernel: may import incidents (and what it may), never the reverse."""

    name = "breaches"
    verbose_name = "Personal-data breaches"

    def ready(self):
        # Imported here: what touches models may load only once the app registry is ready.
        from audit.registry import track
        from incidents import desk_settings, hooks

        from . import views
        from .models import NotificationRule

        track(
            self.get_model("NotificationRule"),
            include=[
                "jurisdiction",
                "title",
                "notify",
                "hours",
                "target_hours",
                "high_risk_only",
                "is_example",
                "active",
            ],
        )
        track(
            self.get_model("DataBreach"),
            include=["aware_at", "jurisdictions", "high_risk", "description"],
            mask=["description"],
        )
        track(
            self.get_model("BreachObligation"),
            include=["due_at", "met_at", "met_how", "met_note", "met_by"],
            mask=["met_note"],
        )
        desk_settings.register(
            NotificationRule,
            desk_settings.Setting(
                fields=(
                    "code", "jurisdiction", "title", "notify", "hours", "target_hours",
                    "high_risk_only", "is_example", "active", "source",
                ),
                why_not_removable="Breach obligations refer to this rule: deactivate it instead.",
            ),
        )  # fmt: skip
        hooks.incident_page.subscribe(views.incident_panel)
