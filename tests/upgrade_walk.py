"""Walk every page of the data an older release left behind, as a supervisor on the security team.

Run by tests/test_upgrade_from_old_data.py in a subprocess, against a database the old code made and
the current code migrated: `python -m tests.upgrade_walk` with DJANGO_SETTINGS_MODULE and DATABASE_URL
set. Prints one line of counts; exits non-zero (an AssertionError) on the first page that is not a 200
or on an old audit entry the viewer does not show.
"""

import re
import sys
import time

import django

django.setup()

from django.apps import apps  # noqa: E402  (after django.setup(): this file runs as a script)
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402

from accounts.access import REAUTH_KEY  # noqa: E402
from audit.models import AuditEntry  # noqa: E402
from tests.factories import UserFactory, confirmed_totp_device  # noqa: E402

SEQ_CELL = re.compile(r'<span class="muted small">#(\d+)</span>')


def signed_in_client() -> Client:
    user = UserFactory(roles=["supervisor", "security"], is_staff=True, is_superuser=True)
    device = confirmed_totp_device(user)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[REAUTH_KEY] = int(time.time())
    session.save()
    return client


class Walker:
    def __init__(self, client: Client):
        self.client = client
        self.pages = 0

    def get(self, url: str, **params) -> str:
        response = self.client.get(url, params)
        assert response.status_code == 200, f"GET {url} {params or ''} answered {response.status_code}"
        self.pages += 1
        if response.streaming:
            return b"".join(response.streaming_content).decode()
        return response.content.decode()

    def audit_seqs(self, **filters) -> set[int]:
        """Every entry number the audit viewer lists for these filters, following 'Older entries'."""
        seqs: set[int] = set()
        before = None
        while True:
            params = dict(filters, include_views="on", **({"before": before} if before else {}))
            html = self.get(reverse("audit:index"), **params)
            found = [int(seq) for seq in SEQ_CELL.findall(html)]
            seqs.update(found)
            match = re.search(r"before=(\d+)\" rel=\"next\"", html)
            if not match:
                return seqs
            before = int(match.group(1))


def main() -> None:
    old_head = int(sys.argv[1])  # the last audit entry the old code wrote
    old_incidents = int(sys.argv[2])  # how many incidents it left
    Incident = apps.get_model("incidents", "Incident")
    Campaign = _find_model("Campaign")  # wherever it lives now (incidents/, or campaigns/ after the move)
    walker = Walker(signed_in_client())
    old_entries = AuditEntry.objects.filter(seq__lte=old_head)
    assert old_entries.count() == old_head, f"{old_entries.count()} old audit entries, expected {old_head}"

    incidents = list(Incident.objects.order_by("pk"))
    assert len(incidents) == old_incidents, f"{len(incidents)} incidents after the upgrade, {old_incidents} before"
    for incident in incidents:
        for name in ("incident-detail", "incident-history", "incident-packet", "incident-report"):
            walker.get(reverse(f"incidents:{name}", args=[incident.pk]))
        walker.get(reverse("incidents:incident-list"), q=incident.reference)
        shown = walker.audit_seqs(incident=incident.pk)
        expected = set(old_entries.filter(incident_id=incident.pk).values_list("seq", flat=True))
        assert expected <= shown, f"incident {incident.pk}: audit entries {sorted(expected - shown)} not shown"

    walker.get(reverse("incidents:dashboard"))
    walker.get(reverse("incidents:incident-list"))
    for team in ("tier2", "security"):  # the escalation queues (tier 1 has none)
        walker.get(reverse("incidents:queue", args=[team]))
        walker.get(reverse("incidents:queue-items", args=[team]))
    walker.get(reverse("campaigns:campaign-list"))
    campaigns = list(Campaign.objects.all()) if Campaign else []
    for campaign in campaigns:
        walker.get(campaign.get_absolute_url())
    walker.get(reverse("breaches:breach-report"))
    walker.get(reverse("reporting:metrics"))
    walker.get(reverse("reporting:metrics-csv"))
    Indicator = _find_model("Indicator")
    for value in Indicator.objects.values_list("ip", flat=True).distinct()[:20]:
        walker.get(reverse("incidents:ip-search"), ip=value)

    shown = walker.audit_seqs()
    missing = sorted(set(old_entries.values_list("seq", flat=True)) - shown)
    assert not missing, f"old audit entries not shown in the viewer: {missing[:20]}"

    # Each audit entry's target: the page of the object it names, where that object has one.
    targets = 0
    for target_type, target_id in (
        old_entries.exclude(target_type="").values_list("target_type", "target_id").distinct()
    ):
        model = _model(target_type)
        if model is None or not hasattr(model, "get_absolute_url") or not target_id:
            continue
        obj = model._default_manager.filter(pk=target_id).first()
        assert obj is not None, f"audit target {target_type} #{target_id} is gone"
        walker.get(obj.get_absolute_url())
        targets += 1

    print(
        f"walked {walker.pages} pages, all 200: {len(incidents)} incidents x 4 pages + search + their audit, "
        f"{len(campaigns)} campaigns, {targets} audit targets; {old_head} old audit entries all shown"
    )


def _find_model(name: str):
    found = [model for model in apps.get_models() if model.__name__ == name]
    assert len(found) == 1, f"expected one model named {name}, found {found}"
    return found[0]


def _model(label: str):
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


if __name__ == "__main__":
    main()
