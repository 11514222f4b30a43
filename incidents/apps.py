from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    """The playbook kernel: customers, incidents, caller verification, step records, indicators,
    escalations, notes, SLA due times, the visibility rule; services/ (the only writer of Incident)
    and selectors/; the desk's pages; hooks.py, where satellites plug in.

    May import notifications, accounts, audit and core; never a satellite."""

    name = "incidents"
    verbose_name = "Incidents"

    def ready(self):
        # Imported here: what touches models may load only once the app registry is ready.
        from audit import lookups
        from audit.registry import track

        from .selectors import find_customers

        # The audit viewer's customer filter takes an account reference or email of record.
        lookups.customer_ids = lambda text: list(find_customers(text).values_list("pk", flat=True)[:20])

        # Field changes recorded by django-auditlog. Free text and contact data may hold personal
        # data: recorded as changed, values masked. Never the verification code hash.
        track(
            self.get_model("Customer"),
            include=["display_name", "email", "language", "account_reference", "time_zone"],
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
            self.get_model("SlaPolicy"),
            include=["severity", "first_update_minutes", "claim_minutes", "resolve_minutes", "warn_percent"],
        )
