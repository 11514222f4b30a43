"""Customer-facing text in the customer's language: reply snippets (supervisors keep them, audited)
offered wherever an agent writes to the customer, the step-6 advice from them, times in the
customer's time zone, and a securing email that says only what still applies."""

import pytest
from django.core.exceptions import PermissionDenied

from audit.models import AuditEntry
from incidents import desk_settings, services
from incidents.models import ReplySnippet
from notifications.models import CustomerUpdate
from tests.desk import fresh, verify_caller, walk_to
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reply_snippets")]


@pytest.fixture
def german(tier1):
    customer = CustomerFactory(display_name="Jürgen Weber", email="juergen@example.de", language="de")
    return services.open_incident(customer=customer, channel="phone", summary="Überweisung", severity=2, actor=tier1)


def test_step_6_advice_is_prefilled_in_the_customers_language(client, verified_client, german, tier1):
    incident = walk_to(german, "post_incident", tier1)
    verified_client(tier1)
    html = client.get(incident.get_absolute_url()).content.decode()
    advice = html.split('id="id_resolution_advice_given"')[1].split("</textarea>")[0]
    assert "Ändern Sie Ihr Passwort regelmäßig" in advice
    assert "Update your password regularly" not in advice


def test_snippets_are_offered_filled_in_where_the_agent_writes_to_the_customer(client, verified_client, german, tier1):
    incident = walk_to(german, "communicate", tier1)
    verified_client(tier1)
    html = client.get(incident.get_absolute_url()).content.decode()
    picker = html.split('data-snippet-target="id_progress_message"')[1].split("</select>")[0]
    assert "Untersuchung läuft" in picker
    assert "Guten Tag Jürgen Weber" in picker and incident.reference in picker and "{name}" not in picker
    assert 'data-snippet-target="id_note_body"' in html  # the note to the customer too
    # The preview page offers them again.
    response = client.post(f"/incidents/{incident.pk}/progress/", {"message": "Hallo", "action": "preview"})
    assert 'data-snippet-target="id_progress_message"' in response.content.decode()


def test_only_supervisors_keep_snippets_and_every_change_is_audited(tier1, supervisor_agent):
    with pytest.raises(PermissionDenied):
        desk_settings.create_setting(
            ReplySnippet, actor=tier1, title="x", language="de", purpose="message", body="y", active=True
        )
    snippet = desk_settings.create_setting(
        ReplySnippet, actor=supervisor_agent, title="Rückruf", language="de", purpose="message",
        body="Guten Tag {name}, wir rufen Sie zu {reference} zurück.", active=True,
    )  # fmt: skip
    desk_settings.change_setting(snippet, actor=supervisor_agent, active=False)
    actions = list(AuditEntry.objects.filter(target_id=str(snippet.pk), target_type__endswith="replysnippet").order_by("seq")
                   .values_list("action", flat=True))  # fmt: skip
    assert actions == ["settings.created", "settings.changed"]


def test_the_final_email_gives_times_in_the_customers_time_zone(german, tier1):
    incident = walk_to(german, "post_incident", tier1)
    services.resolve_incident(
        incident, resolution_summary="r", measures_taken="m", advice_given="a", actor=tier1,
        expected_version=fresh(incident).version,
    )  # fmt: skip
    body = CustomerUpdate.objects.get(incident=incident, template="resolution").body_text
    assert " CET" in body or " CEST" in body  # Europe/Berlin, from the language
    assert " UTC" not in body
    customer = incident.customer
    customer.time_zone = "America/New_York"
    assert str(customer.zone) == "America/New_York"


def test_the_securing_email_does_not_ask_for_what_is_done(german, tier1):
    verify_caller(german, tier1)
    incident = walk_to(fresh(german), "secure", tier1)
    services.record_securing(
        incident, password_advice="done", customer_two_factor="declined", actor=tier1,
        expected_version=fresh(incident).version,
    )  # fmt: skip
    body = CustomerUpdate.objects.get(incident=incident, template="securing_advice").body_text
    assert "Ändern Sie sofort Ihr Passwort" not in body
    assert "Sie haben Ihr Passwort geändert." in body
    assert "Aktivieren Sie die Zwei-Faktor-Authentifizierung" in body
