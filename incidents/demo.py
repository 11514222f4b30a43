"""Demo customers and incidents for a local desk, created through the real services."""

from django.db import transaction

from . import services
from .models import Customer, Incident

DEMO_CUSTOMERS = [
    # display name, email, language, account reference
    ("Emma Johnson", "emma.johnson@example.org", "en", "ACC-10001"),
    ("Lukas Müller", "lukas.mueller@example.org", "de", "ACC-10002"),
    ("Zofia Wiśniewska", "zofia.wisniewska@example.org", "pl", "ACC-10003"),
    ("Kari Nordmann", "kari.nordmann@example.org", "nb", "ACC-10004"),
    ("Sara Ahmadi", "sara.ahmadi@example.org", "fa", "ACC-10005"),
]


@transaction.atomic
def ensure_demo_desk(agents: dict) -> tuple[int, int]:
    """Customers and a few incidents at different steps, once. Returns (customers, incidents)."""
    for name, email, language, reference in DEMO_CUSTOMERS:
        Customer.objects.get_or_create(
            account_reference=reference, defaults={"display_name": name, "email": email, "language": language}
        )
    if not Incident.objects.exists():
        tier1 = agents["agent"]
        customers = {c.account_reference: c for c in Customer.objects.all()}
        services.open_incident(
            customer=customers["ACC-10001"],
            channel="phone",
            severity=2,
            actor=tier1,
            summary="Customer sees a payout account she did not add.",
        )
        second = services.open_incident(
            customer=customers["ACC-10002"],
            channel="chat",
            severity=3,
            actor=tier1,
            summary="Contact email was changed overnight; customer did not do it.",
        )
        services.record_unauthorized_change(
            second,
            kind="contact",
            description="Contact email changed to an unknown address.",
            noticed_at=None,
            actor=tier1,
            expected_version=second.version,
        )
        third = services.open_incident(
            customer=customers["ACC-10004"],
            channel="email",
            severity=3,
            actor=tier1,
            summary="Unknown logins in the activity log from abroad.",
        )
        services.add_indicators_from_log(
            third,
            log_text="2026-11-20T02:14:09Z login ok ip=185.220.101.7\n2026-11-20T02:15:40Z payee added ip=185.220.101.7",
            actor=tier1,
        )
        services.escalate(
            third, to_team="security", reason="Possible account takeover from a Tor exit node.", severity=4, actor=tier1
        )
    return Customer.objects.count(), Incident.objects.count()
