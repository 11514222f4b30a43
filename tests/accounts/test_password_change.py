"""An agent changes their own password: only after re-authenticating; other sessions end; audited."""

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client

from accounts.models import AgentSession
from audit.models import AuditAction, AuditEntry
from tests.conftest import verify_session
from tests.factories import PASSWORD, UserFactory

NEW = "a brand-new passphrase for 2026"
URL = "/accounts/password/"


@pytest.fixture
def agent_with_two_browsers(db):
    user = UserFactory(roles=["agent"], full_name="Alex Agent")
    here, elsewhere = Client(), Client()
    verify_session(here, user, reauthenticated=True)
    verify_session(elsewhere, user)
    # Both browsers are in use, so both are tracked sessions.
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 200
    assert AgentSession.objects.filter(user=user, ended_at__isnull=True).count() == 2
    return user, here, elsewhere


def test_the_profile_offers_the_change(agent_with_two_browsers):
    _, here, _ = agent_with_two_browsers
    assert URL in here.get("/accounts/profile/").content.decode()


def test_without_a_fresh_confirmation_the_agent_is_sent_to_confirm(db):
    user = UserFactory(roles=["agent"])
    client = verify_session(Client(), user)
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/confirm/?next=")
    response = client.post(URL, {"new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/confirm/")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(
    agent_with_two_browsers, django_capture_on_commit_callbacks
):
    user, here, elsewhere = agent_with_two_browsers
    other_key = elsewhere.session.session_key
    with django_capture_on_commit_callbacks(execute=True):
        response = here.post(URL, {"new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"
    user.refresh_from_db()
    assert user.check_password(NEW)
    # The other browser is really signed out: its session row is gone and its next request goes to sign-in.
    assert not Session.objects.filter(session_key=other_key).exists()
    response = elsewhere.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    # This browser goes on.
    page = here.get("/accounts/profile/")
    assert page.status_code == 200
    assert "1 other session signed out" in page.content.decode()
    assert AgentSession.objects.filter(user=user, ended_at__isnull=True).count() == 1
    entry = AuditEntry.objects.filter(action=AuditAction.PASSWORD_CHANGED).get()
    assert entry.actor_id == user.pk and entry.data["other_sessions_ended"] == 1
    assert NEW not in str(entry.data)
    assert any("password was changed" in message.subject for message in mail.outbox)


@pytest.mark.parametrize(
    ("first", "second", "error"),
    [
        ("short", "short", "too short"),
        ("password12345", "password12345", "too common"),
        ("12345678901234", "12345678901234", "entirely numeric"),
        (NEW, NEW + "x", "do not match"),
        ("", "", "required"),
    ],
)
def test_a_weak_or_mistyped_password_is_refused_with_a_clear_error(agent_with_two_browsers, first, second, error):
    user, here, elsewhere = agent_with_two_browsers
    response = here.post(URL, {"new_password1": first, "new_password2": second})
    assert response.status_code == 400
    assert error in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert elsewhere.get("/").status_code == 200  # nothing ended
    assert not AuditEntry.objects.filter(action=AuditAction.PASSWORD_CHANGED).exists()
