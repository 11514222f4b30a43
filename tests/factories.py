import contextlib

import factory
import time_machine
from django.contrib.auth.models import Group
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"agent{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            # get_or_create: transactional tests flush the groups the data migration made.
            self.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in extracted))
        self.save()


def confirmed_totp_device(user) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def totp_now(device: TOTPDevice) -> str:
    """The code the agent's phone shows right now for this device."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "incidents.Customer"

    display_name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@example.org")
    account_reference = factory.Sequence(lambda n: f"ACC-{n:05d}")
    language = "en"


class IncidentFactory(factory.django.DjangoModelFactory):
    """An incident opened through the services, as an agent opens one: due times set, the opening
    audited, the acknowledgement queued. `restricted=True` restricts it through the service too;
    `created_at` opens it at that moment (the clock is moved, not the row)."""

    class Meta:
        model = "incidents.Incident"

    customer = factory.SubFactory(CustomerFactory)
    channel = "phone"
    summary = "Customer reports a changed payout account"
    severity = 2
    opened_by = factory.SubFactory(UserFactory, roles=["agent"])

    @classmethod
    def _create(cls, model_class, *, customer, channel, summary, severity, opened_by, **extra):
        from incidents import services

        restricted = extra.pop("restricted", False)
        created_at = extra.pop("created_at", None)
        if extra:
            raise TypeError(f"IncidentFactory opens incidents through the services; not settable: {sorted(extra)}")
        with time_machine.travel(created_at, tick=False) if created_at else contextlib.nullcontext():
            incident = services.open_incident(
                customer=customer, channel=channel, summary=summary, severity=severity, actor=opened_by
            )
            if restricted:
                security = UserFactory(roles=["security"])
                incident = services.set_restricted(
                    incident, restricted=True, reason="Restricted by the test", actor=security
                )
        return incident


class IncidentRowFactory(factory.django.DjangoModelFactory):
    """An incident row written as stored history, every column set by hand: only for figures
    computed by hand from exact past timings (the supervisor metrics). Everything else opens
    incidents through the services (IncidentFactory)."""

    class Meta:
        model = "incidents.Incident"

    customer = factory.SubFactory(CustomerFactory)
    channel = "phone"
    summary = "Customer reports a changed payout account"
    severity = 2
    opened_by = factory.SubFactory(UserFactory, roles=["agent"])
    updated_by = factory.SelfAttribute("opened_by")
    assignee = factory.SelfAttribute("opened_by")
