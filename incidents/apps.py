from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self):
        from audit.registry import track

        # Field changes recorded by django-auditlog. Free text and contact data may hold personal
        # data: recorded as changed, values masked. Never the verification code hash.
        track(
            self.get_model("Customer"),
            include=["display_name", "email", "language", "account_reference"],
            mask=["display_name", "email"],
        )
        track(
            self.get_model("Incident"),
            include=[
                "stage", "status", "severity", "team", "assignee", "restricted", "summary",
                "password_advice", "customer_two_factor", "findings", "no_escalation_reason",
                "resolution_summary", "measures_taken", "advice_given", "not_confirmed_reason", "closed_at",
            ],
            mask=["summary", "findings", "no_escalation_reason", "resolution_summary", "measures_taken", "advice_given", "not_confirmed_reason"],
        )  # fmt: skip
        track(
            self.get_model("CallerVerification"),
            include=["identified_by", "status", "attempts", "verified_at", "override_reason"],
            mask=["override_reason"],
        )
        track(self.get_model("UnauthorizedChange"), include=["kind", "description", "noticed_at"], mask=["description"])
        track(self.get_model("Indicator"), include=["ip", "scope", "verdict"])
        track(
            self.get_model("Escalation"),
            include=["to_team", "severity", "status", "claimed_by", "closed_at", "outcome"],
            mask=["outcome"],
        )
        track(self.get_model("Note"), include=["visibility", "body"], mask=["body"])
        track(
            self.get_model("CustomerUpdate"),
            include=["status", "attempts", "sent_at", "last_error"],
            mask=["last_error"],  # SMTP refusals quote the address
        )
        # Campaign detection skips the allow list: who widened it, and when, must be on record.
        track(self.get_model("AllowedNetwork"), include=["network", "label"])
        track(
            self.get_model("SlaPolicy"),
            include=["severity", "first_update_minutes", "claim_minutes", "resolve_minutes", "warn_percent"],
        )
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
