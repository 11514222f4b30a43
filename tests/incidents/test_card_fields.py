"""The field types that keep card numbers out of storage (core/fields.py), path by path."""

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import transaction

from audit import bulk
from audit import services as audit
from audit.models import AuditAction, AuditEntry
from audit.verification import verify_chain
from breaches.models import NotificationRule
from campaigns.models import AllowedNetwork
from core.fields import ELLIPSIS, CardNumberRefused, fit
from incidents.models import Customer, Incident, Note
from tests.factories import CustomerFactory, IncidentFactory

CARD = "4111 1111 1111 1111"
DIGITS = CARD.replace(" ", "")
MARKER = "ending 1111"


def stored(model, pk, field):
    return model.objects.filter(pk=pk).values_list(field, flat=True).get()


@pytest.mark.django_db
def test_save_redacts_in_the_database_and_on_the_instance():
    incident = IncidentFactory(summary=f"Card {CARD} charged")
    assert MARKER in incident.summary and DIGITS not in incident.summary.replace(" ", "")
    assert stored(Incident, incident.pk, "summary") == incident.summary


@pytest.mark.django_db
def test_queryset_update_bulk_create_and_bulk_update_redact():
    incident = IncidentFactory()
    Incident.objects.filter(pk=incident.pk).update(findings=f"paid with {CARD}")
    assert MARKER in stored(Incident, incident.pk, "findings")

    notes = Note.objects.bulk_create(
        [Note(incident=incident, author=incident.opened_by, body=f"note {n}: {CARD}") for n in range(3)]
    )
    for note in Note.objects.filter(incident=incident):
        assert MARKER in note.body and DIGITS not in note.body.replace(" ", "")
    for note in notes:
        note.body = f"again {CARD}"
    Note.objects.bulk_update(notes, ["body"])
    assert all(MARKER in body for body in Note.objects.filter(incident=incident).values_list("body", flat=True))


@pytest.mark.django_db
def test_lookups_redact_too_so_the_redacted_text_is_found():
    incident = IncidentFactory(summary=CARD)
    assert Incident.objects.filter(summary=CARD).get() == incident


@pytest.mark.django_db
def test_json_field_redacts_every_string_recursively():
    from notifications.models import CustomerUpdate

    incident = IncidentFactory()
    update = CustomerUpdate.objects.create(
        incident=incident,
        template="progress",
        language="en",
        recipient="a@example.org",
        idempotency_key="k1",
        context={"message": CARD, "nested": [{"x": f"a {CARD} b"}], CARD: 1, "n": 5},
    )
    context = stored(CustomerUpdate, update.pk, "context")
    text = str(context)
    assert DIGITS not in text.replace(" ", "") and MARKER in context["message"]
    assert context["n"] == 5 and MARKER in context["nested"][0]["x"]


@pytest.mark.django_db
def test_a_redacted_value_longer_than_max_length_is_shortened_never_a_database_error(postgres):
    # 13 digits become a marker of 30+ characters: the CharField's max_length still holds.
    amex = "378282246310005"
    network = AllowedNetwork.objects.create(network="198.51.100.0/24", label="x" * 100 + " " + amex)
    label = stored(AllowedNetwork, network.pk, "label")
    assert len(label) <= 120 and label.endswith(ELLIPSIS) and amex not in label
    assert network.label == label


@pytest.mark.parametrize("max_length", [1, 5, 16, 20, 34, 40])
def test_fit_never_leaves_a_card_number_and_respects_the_length(max_length):
    from core.redaction import redact

    for text in [
        "4111111111111111",
        "12345678901234567890123",  # 23 digits: its 16-digit head may be Luhn-valid
        "x 4111 1111 1111 1111 y 5500 0000 0000 0004",
        "a" * 50,
    ]:
        clean = fit(text, max_length)
        assert len(clean) <= max_length
        assert redact(clean)[1] == 0


@pytest.mark.django_db
def test_addresses_and_references_refuse_card_numbers_in_validation_and_at_storage():
    customer = Customer(display_name="Kari", email=f"{DIGITS}@example.org", account_reference=f"order-{DIGITS}")
    with pytest.raises(ValidationError) as refused:
        customer.full_clean()
    assert set(refused.value.message_dict) == {"email", "account_reference"}
    assert "card number" in refused.value.message_dict["email"][0]
    with pytest.raises(CardNumberRefused), transaction.atomic():
        customer.save()
    assert not Customer.objects.exists()

    kept = CustomerFactory()
    with pytest.raises(CardNumberRefused), transaction.atomic():
        Customer.objects.filter(pk=kept.pk).update(email=f"x{DIGITS}@example.org")
    with pytest.raises(CardNumberRefused), transaction.atomic():
        Customer.objects.bulk_create([Customer(display_name="B", email="b@example.org", account_reference=DIGITS)])
    with pytest.raises(CardNumberRefused), transaction.atomic():
        NotificationRule.objects.create(code=f"rule-{DIGITS}", jurisdiction="EU", title="t", notify="n")
    assert Customer.objects.get().email == kept.email
    # A search is no write: looking a card number up is an empty answer, not an error.
    assert not Customer.objects.filter(email__iexact=f"{DIGITS}@example.org").exists()


@pytest.mark.django_db
def test_audit_entries_are_redacted_before_hashing_so_the_chain_verifies():
    entry = audit.record(AuditAction.NOTE_ADDED, reason=f"card {CARD}", nested={"list": [CARD]})
    data = AuditEntry.objects.values_list("data", flat=True).get(pk=entry.pk)
    assert MARKER in data["reason"] and MARKER in data["nested"]["list"][0]
    assert DIGITS not in str(data).replace(" ", "")
    assert verify_chain().ok


@pytest.mark.django_db
def test_generated_audit_entries_are_redacted_before_hashing(postgres):
    from django.utils import timezone

    bulk.append_generated(
        [
            bulk.GeneratedEntry(
                created_at=timezone.now(), action="incident.note_added", user_agent=CARD, data={"t": CARD}
            )
        ]
    )
    row = AuditEntry.objects.values("user_agent", "data").get()
    assert MARKER in row["user_agent"] and MARKER in row["data"]["t"]
    assert verify_chain().ok


@pytest.mark.django_db
def test_auditlog_field_changes_are_redacted():
    rule = NotificationRule.objects.create(code="eu-gdpr", jurisdiction="EU", title="GDPR", notify="authority")
    NotificationRule.objects.filter(pk=rule.pk)  # unmasked fields: their values are recorded
    rule.title = f"GDPR {CARD}"
    rule.save()
    assert MARKER in rule.title
    changes = LogEntry.objects.get_for_object(rule).order_by("-pk").values_list("changes", flat=True).first()
    assert changes and DIGITS not in str(changes).replace(" ", "")
