"""Queue customer updates through the outbox, as agents would: `python -m tests.notifications.queue_updates
N PREFIX [PER_TRANSACTION]` against the database of DATABASE_URL (a drill's throwaway cluster), N
emails in transactions of PER_TRANSACTION (default 50), after a customer and an incident of their own."""

import os
import sys

import django


def queue_updates(incident, n: int, prefix: str, *, per_transaction: int = 50) -> None:
    from django.db import transaction

    from incidents import emails

    for start in range(0, n, per_transaction):
        with transaction.atomic():
            for i in range(start, min(n, start + per_transaction)):
                emails.notify_customer(incident, template="message", key=f"{prefix}:{i}", message=f"Update {i}")


def main(n: int, prefix: str, per_transaction: int) -> None:
    from incidents import services
    from tests.factories import CustomerFactory, UserFactory

    agent = UserFactory(roles=["agent"])
    customer = CustomerFactory(email="drill@example.org")
    incident = services.open_incident(customer=customer, channel="phone", summary="drill", severity=2, actor=agent)
    queue_updates(incident, n, prefix, per_transaction=per_transaction)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 50)
