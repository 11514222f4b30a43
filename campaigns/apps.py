from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    """Campaign detection across customers, the campaign pages and the allow list.

    A satellite of the playbook kernel: may import incidents (and what it may), never the reverse."""

    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self):
        # Imported here: what touches models may load only once the app registry is ready.
        from audit.registry import track
        from incidents import desk_settings, hooks

        from . import selectors, services, views
        from .models import AllowedNetwork

        # Campaign detection skips the allow list: who widened it, and when, must be on record.
        track(self.get_model("AllowedNetwork"), include=["network", "label"])
        desk_settings.register(
            AllowedNetwork,
            desk_settings.Setting(fields=("network", "label"), removable=True, added_by_field="added_by"),
        )
        hooks.verdicts.subscribe(services.detection)
        hooks.incident_page.subscribe(views.incident_banner)
        hooks.handoff_packet.subscribe(selectors.packet_section)
