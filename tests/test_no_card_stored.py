"""Card numbers cannot be stored, by construction (issue 14, item 1).

Every free-text field of every model of ours is found through the model registry, so a field added
later is covered at once: it must be of a redacting type, of a refusing type (addresses and
references), or be exempted below with a reason — otherwise `test_every_text_field_is_accounted_for`
fails. Formatted card numbers of every network (tests/cardgen.py) are then written into every
free-text field through every write path (save, QuerySet.update, bulk_create, bulk_update, the
audit trail's record() and bulk append, the Django admin, the desk's forms and services), and
afterwards no generated card's digits are found in any text, varchar, json or jsonb column of any
table of the PostgreSQL database, in the rendered incident page, the emails, the Celery task
arguments or the log output of the configured handlers. Ordinary numbers go through the same
paths untouched.
"""

import io
import itertools
import logging

import pytest
from celery.signals import task_prerun
from django.apps import apps
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from accounts.models import AgentSession, User
from audit import bulk
from audit import context as audit_context
from audit import services as audit
from audit.models import AuditAction, AuditEntry, PendingEntry
from breaches.models import BreachObligation, DataBreach, NotificationRule
from campaigns.models import AllowedNetwork, Campaign, CampaignMember
from core.fields import CardNumberRefused
from incidents.models import (
    CallerVerification,
    Customer,
    CustomerEmailChange,
    Escalation,
    Incident,
    Indicator,
    Note,
    ReplySnippet,
    UnauthorizedChange,
)
from notifications.models import CustomerUpdate
from tests.cardgen import formatted_cards, ordinary_numbers
from tests.cardscan import holds_card
from tests.ours import our_apps

OUR_APPS = our_apps()
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)

# Text columns that hold no free text, and why. Choice fields are accounted for by their choices.
EXEMPT = {
    "incidents.CallerVerification.code_hash": "hash of a generated one-time code",
    "incidents.Indicator.network": "derived from the validated IP address by network_of()",
    "incidents.Indicator.scope": "computed from the IP address by ipextract",
    "incidents.Customer.time_zone": "an IANA time-zone name, validated against the zone database",
    "notifications.CustomerUpdate.template": "an email template key chosen by the code",
    "notifications.CustomerUpdate.message_id": "a Message-ID the desk generates",
    "notifications.CustomerUpdate.idempotency_key": "a key the desk generates",
    "notifications.CustomerUpdate.claimed_by": "the lease name a worker generates (host, pid, random)",
    "alerts.SlaAlert.key": "a key the desk generates",
    "audit.FormerLabel.label": "a model label a migration writes (app.model)",
    "accounts.User.password": "a password hash",
    "accounts.AgentSession.sid": "a random id the desk generates",
    "accounts.AgentSession.session_key": "Django's session key",
    "audit.AuditEntry.action": "an AuditAction value",
    "audit.AuditEntry.target_type": "a model label",
    "audit.AuditEntry.target_id": "a primary key",
    "audit.AuditEntry.request_id": "a request id the desk generates",
    "audit.AuditEntry.prev_hash": "a SHA-256 hash",
    "audit.AuditEntry.hash": "a SHA-256 hash",
    "audit.PendingEntry.action": "an AuditAction value",
    "audit.PendingEntry.target_type": "a model label",
    "audit.PendingEntry.target_id": "a primary key",
    "audit.PendingEntry.request_id": "a request id the desk generates",
}


def our_text_fields():
    for app in OUR_APPS:
        for model in apps.get_app_config(app).get_models():
            for field in model._meta.concrete_fields:
                if isinstance(field, TEXT_FIELDS):
                    yield model, field


def free_text_fields(model) -> list:
    return [field for field in model._meta.concrete_fields if getattr(field, "redacts", False)]


def refusing_fields(model) -> list:
    return [field for field in model._meta.concrete_fields if getattr(field, "refuses", False)]


def test_every_text_field_is_accounted_for():
    unaccounted, redacting, refusing = [], 0, 0
    for model, field in our_text_fields():
        key = f"{model._meta.label}.{field.name}"
        if getattr(field, "redacts", False):
            redacting += 1
        elif getattr(field, "refuses", False):
            refusing += 1
        elif not field.choices and key not in EXEMPT:
            unaccounted.append(key)
    assert not unaccounted, f"free-text fields neither redacting, refusing nor exempted with a reason: {unaccounted}"
    assert redacting >= 30 and refusing >= 6
    known = {f"{model._meta.label}.{field.name}" for model, field in our_text_fields()}
    assert not set(EXEMPT) - known, "stale exemptions"


# --- Building one row of every model, its free text set to `text` ---------------------------------

_serial = itertools.count(1)


def _user(text="Agent") -> User:
    return User.objects.create_user(email=f"agent{next(_serial)}@example.test", full_name=text)


def _customer(text="Kari") -> Customer:
    n = next(_serial)
    return Customer.objects.create(display_name=text, email=f"customer{n}@example.org", account_reference=f"ACC-{n}")


def _incident(text="Payout account changed") -> Incident:
    user = _user()
    return Incident.objects.create(customer=_customer(), channel="phone", summary=text, opened_by=user, updated_by=user)


def _json(text):
    return {"message": text, "list": [text, {"nested": text}], "n": 3}


def build(model, text: str):
    """An unsaved `model` row whose every free-text field says `text` (its parents saved)."""
    n = next(_serial)
    now = timezone.now()
    if model is Customer:
        row = Customer(email=f"customer{n}@example.org", account_reference=f"ACC-{n}")
    elif model is Incident:
        user = _user()
        row = Incident(customer=_customer(), channel="phone", opened_by=user, updated_by=user)
    elif model is CallerVerification:
        incident = _incident()
        row = CallerVerification(
            incident=incident, identified_by="supervisor", status="overridden", requested_by=incident.opened_by
        )
    elif model is UnauthorizedChange:
        incident = _incident()
        row = UnauthorizedChange(incident=incident, kind="other", recorded_by=incident.opened_by)
    elif model is Indicator:
        incident = _incident()
        row = Indicator(incident=incident, ip="192.0.2.1", scope="documentation", recorded_by=incident.opened_by)
    elif model is Escalation:
        incident = _incident()
        row = Escalation(
            incident=incident,
            from_team="tier1",
            to_team="tier2",
            severity=2,
            status="resolved",
            requested_by=incident.opened_by,
        )
    elif model is Note:
        incident = _incident()
        row = Note(incident=incident, author=incident.opened_by)
    elif model is CustomerUpdate:
        row = CustomerUpdate(
            incident=_incident(), template="progress", language="en", recipient="k@example.org", idempotency_key=f"k{n}"
        )
    elif model is NotificationRule:
        row = NotificationRule(code=f"rule-{n}")
    elif model is DataBreach:
        incident = _incident()
        row = DataBreach(incident=incident, aware_at=now, marked_by=incident.opened_by)
    elif model is BreachObligation:
        incident = _incident()
        breach = DataBreach.objects.create(incident=incident, aware_at=now, marked_by=incident.opened_by)
        rule = NotificationRule.objects.create(code=f"rule-{n}", jurisdiction="EU", title="t", notify="n")
        row = BreachObligation(breach=breach, rule=rule, due_at=now, warn_at=now)
    elif model is Campaign:
        row = Campaign(status="dismissed")
    elif model is CampaignMember:
        row = CampaignMember(campaign=Campaign.objects.create(), incident=_incident(), matched_ip="192.0.2.9")
    elif model is AllowedNetwork:
        row = AllowedNetwork(network=f"10.{n // 250 % 250}.{n % 250}.0/24")
    elif model is User:
        row = User(email=f"agent{n}@example.test")
    elif model is AgentSession:
        row = AgentSession(user=_user(), sid=f"sid{n}", session_key=f"key{n}")
    elif model is CustomerEmailChange:
        row = CustomerEmailChange(
            customer=_customer(), old_email=f"old{n}@example.org", new_email=f"new{n}@example.org", changed_by=_user()
        )
    elif model is ReplySnippet:
        row = ReplySnippet(language="de", purpose="message")
    else:
        raise AssertionError(f"no builder for {model._meta.label}: add one so its free text is tested")
    for field in free_text_fields(model):
        setattr(row, field.attname, _json(text) if isinstance(field, models.JSONField) else text)
    return row


def models_with_free_text():
    return [
        model
        for app in OUR_APPS
        for model in apps.get_app_config(app).get_models()
        # append-only: written by record() only (below)
        if free_text_fields(model) and model not in (AuditEntry, PendingEntry)
    ]


def write_through_every_orm_path(text: str) -> tuple[list, dict]:
    """`text` into every free-text field of every model by save, update, bulk_create and
    bulk_update, and into the audit trail by record() and the bulk append. Returns the saved
    instances, and the primary keys of the rows written with `text`, by model."""
    saved, written = [], {}
    for model in models_with_free_text():
        row = build(model, text)
        row.save()
        saved.append(row)
        pks = [row.pk]

        row = build(model, "plain")
        row.save()
        values = {f.name: _json(text) if isinstance(f, models.JSONField) else text for f in free_text_fields(model)}
        model.objects.filter(pk=row.pk).update(**values)
        pks.append(row.pk)

        pks += [created.pk for created in model.objects.bulk_create([build(model, text)])]

        row = build(model, "plain")
        row.save()
        for field in free_text_fields(model):
            setattr(row, field.attname, _json(text) if isinstance(field, models.JSONField) else text)
        model.objects.bulk_update([row], [f.name for f in free_text_fields(model)])
        written[model] = [*pks, row.pk]

    token = audit_context.bind(audit_context.RequestContext(request_id="r", user_agent=text))
    try:
        saved.append(audit.record(AuditAction.NOTE_ADDED, note=text, nested=_json(text)))
        with override_settings(AUDIT_SEQUENCER="background"):  # left pending: the scan reads that table too
            audit.record(AuditAction.NOTE_ADDED, note=text, nested=_json(text))
    finally:
        audit_context.reset(token)
    bulk.append_generated(
        [
            bulk.GeneratedEntry(
                created_at=timezone.now(), action="incident.note_added", user_agent=text, data=_json(text)
            )
        ]
    )
    return saved, written


# --- Looking for the cards afterwards -------------------------------------------------------------


def text_columns() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name, c.column_name FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
              AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'tsvector')
            ORDER BY 1, 2
            """
        )
        return cursor.fetchall()


def scan_database(cards) -> list[str]:
    """Every text, varchar, json, jsonb and tsvector column of every table: where any of `cards` is found."""
    columns = text_columns()
    assert len(columns) > 50 and ("incidents_incident", "summary") in columns
    found = []
    with connection.cursor() as cursor:
        for table, column in columns:
            cursor.execute(f'SELECT "{column}"::text FROM "{table}" WHERE "{column}" IS NOT NULL')
            found += [f"{table}.{column}: {value[:80]!r}" for (value,) in cursor.fetchall() if holds_card(value, cards)]
    return found


@pytest.fixture
def handler_output():
    """The log output of every configured handler (root, django.server, ...), as they write it."""
    buffer = io.StringIO()
    handlers = {h for logger in [logging.getLogger(), *_all_loggers()] for h in logger.handlers}
    # The configured console handlers (not pytest's capturing handlers, which are subclasses).
    streams = [(h, h.setStream(buffer)) for h in handlers if type(h) is logging.StreamHandler]
    assert streams, "no stream handler configured"
    yield buffer
    for handler, stream in streams:
        handler.setStream(stream)


def _all_loggers():
    return [logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)]


@pytest.fixture
def task_arguments():
    seen = []

    def remember(sender=None, task_id=None, task=None, args=None, kwargs=None, **extra):
        seen.append((task.name if task else sender, args, kwargs))

    task_prerun.connect(remember, weak=False, dispatch_uid="tests.no_card_stored.task_arguments")
    yield seen
    task_prerun.disconnect(dispatch_uid="tests.no_card_stored.task_arguments")


texts_around = st.sampled_from(["", "Customer says ", "paid with", "(", "Kort:", "see"])
EXAMPLES = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))


# --- The properties ---------------------------------------------------------------------------------


@pytest.mark.django_db
@EXAMPLES
@given(card=formatted_cards(), before=texts_around)
def test_no_card_number_is_stored_through_any_orm_path(postgres, card, before):
    text = f"{before} {card.typed} end"
    saved, _written = write_through_every_orm_path(text)
    for row in saved:  # pre_save: the instance holds what was stored
        for field in free_text_fields(type(row)):
            assert not holds_card(getattr(row, field.attname), [card.digits]), (type(row), field.name)
    assert scan_database([card.digits]) == []


@pytest.mark.django_db
@EXAMPLES
@given(card=formatted_cards())
def test_addresses_and_references_refuse_card_numbers_on_every_path(postgres, card):
    for model in [m for app in OUR_APPS for m in apps.get_app_config(app).get_models() if refusing_fields(m)]:
        for field in refusing_fields(model):
            value = f"{card.typed}@example.org" if isinstance(field, models.EmailField) else f"ref-{card.typed}"
            value = value[: field.max_length]
            if not holds_card(value, [card.digits]):
                continue  # the cut value holds no whole card
            row = build(model, "plain")
            row.save()
            with pytest.raises(CardNumberRefused), transaction.atomic():
                model.objects.filter(pk=row.pk).update(**{field.name: value})
            setattr(row, field.attname, value)
            with pytest.raises(CardNumberRefused), transaction.atomic():
                row.save()
            with pytest.raises(ValidationError) as refused:
                field.run_validators(value)
            assert "card number" in str(refused.value)
    assert scan_database([card.digits]) == []


@pytest.mark.django_db
@EXAMPLES
@given(number=ordinary_numbers(), before=texts_around)
def test_ordinary_numbers_are_stored_untouched(postgres, number, before):
    text = f"{before} {number} end"
    assume(len(text) <= 60)  # fits every free-text field (the shortest takes 60 characters)
    saved, written = write_through_every_orm_path(text)
    for row in saved:
        if isinstance(row, AuditEntry):
            assert (row.user_agent, row.data) == (text, {"note": text, "nested": _json(text)})
            continue
        for field in free_text_fields(type(row)):
            value = getattr(row, field.attname)
            assert value == (_json(text) if isinstance(field, models.JSONField) else text), (type(row), field.name)
    generated = AuditEntry.objects.order_by("-seq").values_list("user_agent", "data").first()
    assert generated == (text, _json(text))
    pending = PendingEntry.objects.order_by("-id").values_list("user_agent", "data").first()
    assert pending == (text, {"note": text, "nested": _json(text)})
    for model, pks in written.items():
        assert len(pks) == 4
        for field in free_text_fields(model):
            expected = _json(text) if isinstance(field, models.JSONField) else text
            stored = list(model.objects.filter(pk__in=pks).values_list(field.name, flat=True))
            assert stored == [expected] * 4, (model, field.name, stored)


# --- The admin and the desk's own pages -------------------------------------------------------------


@pytest.fixture
def admin_user(db):
    from tests.factories import UserFactory

    return UserFactory(roles=["supervisor"], is_staff=True, is_superuser=True)


def _admin_post(client, url, data):
    response = client.post(url, data)
    assert response.status_code in (200, 302), response.status_code
    return response


@pytest.mark.django_db
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(card=formatted_cards())
def test_no_card_number_is_stored_through_the_admin(postgres, admin_user, verified_client, card):
    client = verified_client(admin_user, reauthenticated=True)
    text = f"x {card.typed} y"
    customer = _customer()
    response = _admin_post(
        client,
        reverse("admin:incidents_customer_change", args=[customer.pk]),
        {
            "display_name": text,
            "email": customer.email,
            "language": "en",
            "account_reference": customer.account_reference,
            "created_at_0": "2026-01-01",
            "created_at_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    # An address with a card number is refused with the message, never stored or mangled.
    response = _admin_post(
        client,
        reverse("admin:incidents_customer_change", args=[customer.pk]),
        {
            "display_name": "Kari",
            "email": f"k{card.digits}@example.org",
            "language": "en",
            "account_reference": f"ACC-{card.digits}",
            "created_at_0": "2026-01-01",
            "created_at_1": "10:00:00",
        },
    )
    assert response.status_code == 200 and b"must not contain a card number" in response.content
    n = next(_serial)
    response = _admin_post(
        client,
        reverse("admin:breaches_notificationrule_add"),
        {
            "code": f"rule-{n}",
            "jurisdiction": text[:60],
            "title": text,
            "notify": text,
            "source": text,
            "is_example": "on",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    response = _admin_post(
        client,
        reverse("admin:campaigns_allowednetwork_add"),
        {"network": f"10.{n // 250 % 250}.{n % 250}.0/24", "label": text},
    )
    assert response.status_code == 302, response.content[:3000]
    assert scan_database([card.digits]) == []


def _work_an_incident(client, card):
    text = f"Customer says {card.typed} was charged"
    n = next(_serial)
    response = client.post(
        reverse("incidents:customer-create"),
        {
            "display_name": f"Kari {card.typed}",
            "email": f"kari{n}@example.org",
            "account_reference": f"ACC-{n}",
            "language": "en",
        },
    )
    assert response.status_code in (200, 302, 303)
    customer = Customer.objects.get(account_reference=f"ACC-{n}")
    response = client.post(
        reverse("incidents:incident-create"),
        {"customer_query": customer.account_reference, "channel": "phone", "severity": "2", "summary": text},
    )
    assert response.status_code in (302, 303), response.content[:2000]
    incident = Incident.objects.filter(customer=customer).get()
    client.post(reverse("incidents:incident-note", args=[incident.pk]), {"body": text, "visibility": "customer"})
    incident.refresh_from_db()
    client.post(
        reverse("incidents:incident-change", args=[incident.pk]),
        {"kind": "other", "description": text, "version": incident.version},
    )
    return incident


@pytest.mark.django_db
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(card=formatted_cards(), path_card=formatted_cards())
def test_no_card_number_leaves_the_desk_pages_emails_tasks_or_logs(
    postgres,
    agent,
    verified_client,
    handler_output,
    task_arguments,
    django_capture_on_commit_callbacks,
    card,
    path_card,
):
    mail.outbox.clear()
    client = verified_client(agent)
    with django_capture_on_commit_callbacks(execute=True):
        _work_an_incident(client, card)
    incident = Incident.objects.latest("pk")
    page = client.get(reverse("incidents:incident-detail", args=[incident.pk]))
    assert page.status_code == 200
    # A card number in a URL path is logged by django.request ("Not Found: ...") on the handlers.
    client.get("/no-such-page/" + path_card.digits + "/")
    logging.getLogger("bulwark").warning("agent typed %s", card.typed)

    cards = [card.digits, path_card.digits]
    assert Note.objects.filter(incident=incident).exists(), "the note was not written"
    assert UnauthorizedChange.objects.filter(incident=incident).exists(), "the change was not recorded"
    assert not holds_card(page.content.decode(), cards)
    assert mail.outbox, "no email was sent"
    for message in mail.outbox:
        bodies = [message.subject, message.body, *(content for content, _type in getattr(message, "alternatives", []))]
        assert not any(holds_card(body, cards) for body in bodies)
    assert task_arguments, "no task ran"
    assert not holds_card(repr(task_arguments), cards)
    output = handler_output.getvalue()
    assert "agent typed" in output and "Not Found" in output
    assert not holds_card(output, cards), output[-2000:]
    assert scan_database(cards) == []


@pytest.mark.django_db
def test_the_agent_admin_refuses_a_card_number_in_an_email_and_redacts_it_in_a_name(
    postgres, admin_user, verified_client
):
    client = verified_client(admin_user, reauthenticated=True)
    card = "5500 0000 0000 0004"
    password = "a long and unusual passphrase 71"
    data = {"email": "new.agent@example.test", "full_name": f"Ann {card}", "password1": password, "password2": password}
    data["usable_password"] = "true"
    refused = client.post(reverse("admin:accounts_user_add"), {**data, "email": "5500000000000004@example.test"})
    assert refused.status_code == 200 and b"must not contain a card number" in refused.content
    assert not User.objects.filter(email__startswith="5500").exists()
    response = client.post(reverse("admin:accounts_user_add"), data)
    assert response.status_code == 302, response.content[:3000]
    agent = User.objects.get(email="new.agent@example.test")
    assert agent.full_name == "Ann [card number removed, ending 0004]"
    assert scan_database(["5500000000000004"]) == []


@pytest.mark.django_db
def test_failed_sign_ins_leave_no_card_number_in_the_lockout_records(postgres, client):
    """django-axes keeps the typed user name, the User-Agent and the GET and POST data of failed
    sign-ins; a repeated failure appends to them with an SQL expression."""
    from axes.models import AccessAttempt

    card = "3782 822463 10005"
    url = reverse("accounts:login")
    for _ in range(2):  # the second failure appends its GET and POST data with Concat()
        client.post(
            url + "?from=" + card.replace(" ", "."), {"username": "nobody@example.org", "password": "x", "note": card}
        )
    for _ in range(2):  # looked up again by the redacted User-Agent and user name: no duplicate row, no error
        response = client.post(
            url, {"username": "nobody@example.org", "password": "x"}, HTTP_USER_AGENT=f"Browser {card}"
        )
        assert response.status_code in (200, 429)  # refused, or locked out: never an error
        response = client.post(url, {"username": f"x{card.replace(' ', '')}@example.org", "password": "x"})
        assert response.status_code in (200, 429)  # refused, or locked out: never an error
    assert AccessAttempt.objects.count() >= 2
    assert scan_database(["378282246310005"]) == []
