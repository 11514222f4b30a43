"""One audited door: every change made in the Django admin goes through a service that writes a
chained audit entry (personal data masked), or the admin page is read-only."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import reverse

from accounts.adminkit import ServiceAdmin
from audit.models import AuditEntry
from audit.verification import verify_chain
from breaches.models import NotificationRule
from campaigns.models import AllowedNetwork
from incidents import customers
from incidents.models import Customer, CustomerEmailChange, SlaPolicy
from notifications.models import CustomerUpdate
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(db):
    """A supervisor with the admin's rights (as the desk's administrators are)."""
    return UserFactory(roles=["supervisor"], is_staff=True, is_superuser=True, email="boss@example.test")


@pytest.fixture
def as_boss(client, verified_client, boss):
    return verified_client(boss, reauthenticated=True)


@pytest.fixture
def kari(db):
    return CustomerFactory(
        display_name="Kari Nordmann", email="kari@example.org", account_reference="ACC-55001", language="nb"
    )


def _customer_form(customer, **changes):
    data = {
        "display_name": customer.display_name,
        "email": customer.email,
        "language": customer.language,
        "account_reference": customer.account_reference,
        "reason": "",
    }
    return {**data, **changes}


def _latest(action):
    return AuditEntry.objects.filter(action=action).order_by("-seq").first()


# --- Customers ------------------------------------------------------------------------------------


def test_an_admin_change_of_the_email_of_record_is_a_masked_chained_entry_and_the_old_address_is_told(
    as_boss, boss, kari
):
    url = reverse("admin:incidents_customer_change", args=[kari.pk])
    response = as_boss.post(
        url,
        _customer_form(
            kari, email="Mallory@Evil.example", display_name="Kari N. Hansen", reason="Customer asked on a call"
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    kari.refresh_from_db()
    assert kari.email == "mallory@evil.example" and kari.display_name == "Kari N. Hansen"

    entry = _latest("customer.changed")
    assert entry.actor == boss and entry.customer_id == kari.pk and entry.target_id == str(kari.pk)
    assert entry.data["changes"]["email"] == ["k***@example.org", "m***@evil.example"]
    assert entry.data["changes"]["display_name"] == ["K. N***", "K. H***"]
    assert entry.data["reason"] == "Customer asked on a call"
    stored = repr(entry.data)
    assert "kari@example.org" not in stored and "mallory" not in stored and "Nordmann" not in stored
    assert verify_chain().ok

    change = CustomerEmailChange.objects.get(customer=kari)
    assert (change.old_email, change.new_email, change.changed_by) == ("kari@example.org", "mallory@evil.example", boss)

    notice = CustomerUpdate.objects.get(customer=kari, template="email_changed")
    assert notice.recipient == "kari@example.org" and notice.incident is None
    sent = [m for m in mail.outbox if m.to == ["kari@example.org"]]
    assert len(sent) == 1 and "ACC-55001" in sent[0].subject
    assert "m***@evil.example" in sent[0].body and "mallory@evil.example" not in sent[0].body
    assert "mallory@evil.example" not in sent[0].alternatives[0][0]
    assert "e-post" in sent[0].body.lower()  # in the customer's language (nb)
    assert not [m for m in mail.outbox if "mallory@evil.example" in m.to]


def test_a_new_email_of_record_needs_a_reason_and_bad_input_loses_nothing(as_boss, kari):
    url = reverse("admin:incidents_customer_change", args=[kari.pk])
    CustomerFactory(account_reference="ACC-99999")
    before = AuditEntry.objects.count()
    response = as_boss.post(url, _customer_form(kari, email="new@example.org", display_name="Kari Typed"))
    page = response.content.decode()
    assert response.status_code == 200 and "Say why the email of record changes" in page
    assert 'value="Kari Typed"' in page  # what was typed is still in the form
    response = as_boss.post(url, _customer_form(kari, email="not-an-address", reason="asked"))
    assert response.status_code == 200 and "valid email address" in response.content.decode()
    response = as_boss.post(url, _customer_form(kari, account_reference="acc-99999"))
    assert "Another customer has this account reference" in response.content.decode()
    kari.refresh_from_db()
    assert kari.email == "kari@example.org" and kari.display_name == "Kari Nordmann"
    assert AuditEntry.objects.count() == before
    assert not CustomerEmailChange.objects.exists()


def test_the_admin_change_form_asks_for_a_fresh_confirmation_first(client, verified_client, boss, kari):
    verified_client(boss)  # signed in with both factors, but not lately confirmed
    response = client.post(
        reverse("admin:incidents_customer_change", args=[kari.pk]),
        _customer_form(kari, email="mallory@evil.example", reason="x"),
    )
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:reauth"))
    kari.refresh_from_db()
    assert kari.email == "kari@example.org"


def test_only_a_supervisor_changes_a_customer_and_unchanged_values_record_nothing(kari):
    agent = UserFactory(roles=["agent", "security"])
    with pytest.raises(PermissionDenied):
        customers.change_customer(kari, actor=agent, email="mallory@evil.example", reason="x")
    supervisor = UserFactory(roles=["supervisor"])
    before = AuditEntry.objects.count()
    customers.change_customer(kari, actor=supervisor, email=" KARI@example.org ", language="nb")
    assert AuditEntry.objects.count() == before


# --- Desk settings ----------------------------------------------------------------------------------


def test_the_allow_list_is_added_changed_and_removed_through_chained_entries(as_boss, boss):
    response = as_boss.post(
        reverse("admin:campaigns_allowednetwork_add"), {"network": "198.51.100.7/24", "label": "Acme office"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AllowedNetwork.objects.get()
    assert entry.network == "198.51.100.0/24" and entry.added_by == boss
    created = _latest("settings.created")
    assert created.actor == boss and created.target_type == "campaigns.allowednetwork"
    assert created.data["changes"]["network"] == [None, "198.51.100.0/24"]

    as_boss.post(
        reverse("admin:campaigns_allowednetwork_change", args=[entry.pk]),
        {"network": "198.51.100.0/24", "label": "Acme HQ"},
    )
    assert _latest("settings.changed").data["changes"] == {"label": ["Acme office", "Acme HQ"]}

    as_boss.post(
        reverse("admin:campaigns_allowednetwork_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert not AllowedNetwork.objects.exists()
    assert _latest("settings.deleted").data["changes"]["label"] == ["Acme HQ", None]
    assert verify_chain().ok


def test_a_too_wide_network_is_refused_with_a_clear_message(as_boss):
    before = AuditEntry.objects.count()
    response = as_boss.post(reverse("admin:campaigns_allowednetwork_add"), {"network": "10.0.0.0/8", "label": "all"})
    assert response.status_code == 200 and "At most a /16 network" in response.content.decode()
    assert not AllowedNetwork.objects.exists() and AuditEntry.objects.count() == before


def test_an_sla_policy_edit_is_a_chained_entry(as_boss, boss):
    policy = SlaPolicy.objects.get(severity=4)
    response = as_boss.post(
        reverse("admin:incidents_slapolicy_change", args=[policy.pk]),
        {"severity": 4, "first_update_minutes": 10, "claim_minutes": 15, "resolve_minutes": 1440, "warn_percent": 80},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = _latest("settings.changed")
    assert entry.actor == boss and entry.target_type == "incidents.slapolicy" and entry.target_id == str(policy.pk)
    assert entry.data["changes"] == {"first_update_minutes": [15, 10], "warn_percent": [75, 80]}
    assert verify_chain().ok


def test_a_notification_rule_edit_is_a_chained_entry(as_boss, boss):
    rule = NotificationRule.objects.get(code="us-oh-residents")
    url = reverse("admin:breaches_notificationrule_change", args=[rule.pk])
    data = {
        "code": rule.code,
        "jurisdiction": rule.jurisdiction,
        "title": rule.title,
        "notify": rule.notify,
        "hours": rule.hours or "",
        "target_hours": rule.target_hours or "",
        "is_example": "on" if rule.is_example else "",
        "high_risk_only": "on" if rule.high_risk_only else "",
        "source": rule.source,
        # "active" left out: unticked
    }
    response = as_boss.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = _latest("settings.changed")
    assert entry.target_type == "breaches.notificationrule" and entry.data["changes"] == {"active": [True, False]}
    assert not NotificationRule.objects.get(pk=rule.pk).active
    assert verify_chain().ok


# --- Agents -----------------------------------------------------------------------------------------


def test_an_agents_roles_changed_in_the_admin_are_a_chained_entry(as_boss, boss):
    agent = UserFactory(roles=["agent"], email="kim.park@example.test", full_name="Kim Park")
    data = {
        "email": agent.email,
        "full_name": "Kim Park-Lee",
        "groups": [Group.objects.get(name="agent").pk, Group.objects.get(name="security").pk],
        "access_expires_at_0": "",
        "access_expires_at_1": "",
        "is_active": "on",
    }
    response = as_boss.post(reverse("admin:accounts_user_change", args=[agent.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert set(agent.groups.values_list("name", flat=True)) == {"agent", "security"}
    entry = _latest("agent.changed")
    assert entry.actor == boss and entry.target_id == str(agent.pk)
    assert entry.data["changes"]["roles"] == [["agent"], ["agent", "security"]]
    assert entry.data["changes"]["full_name"] == ["K. P***", "K. P***"]
    assert "Kim" not in repr(entry.data) and "kim.park" not in repr(entry.data)
    assert verify_chain().ok


def test_a_supervisor_who_is_no_superuser_cannot_make_anyone_superuser():
    from accounts import services

    supervisor = UserFactory(roles=["supervisor"])
    agent = UserFactory(roles=["agent"])
    with pytest.raises(PermissionDenied):
        services.change_agent(agent, actor=supervisor, is_superuser=True)
    agent.refresh_from_db()
    assert not agent.is_superuser
    with pytest.raises(PermissionDenied):
        services.change_agent(agent, actor=UserFactory(roles=["security"]), is_active=False)


def test_a_password_set_in_the_admin_is_recorded_without_the_password(as_boss, boss):
    agent = UserFactory(roles=["agent"])
    response = as_boss.post(
        reverse("admin:auth_user_password_change", args=[agent.pk]),
        {"password1": "a long new passphrase 4711", "password2": "a long new passphrase 4711"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    agent.refresh_from_db()
    assert agent.check_password("a long new passphrase 4711")
    entry = _latest("agent.password_set")
    assert entry.actor == boss and entry.target_id == str(agent.pk) and "passphrase" not in repr(entry.data)


# --- Every other admin is read-only -----------------------------------------------------------------


def test_every_admin_either_saves_through_a_service_or_is_read_only(boss):
    request = RequestFactory().get("/admin/")
    request.user = boss
    for model, model_admin in admin.site._registry.items():
        if isinstance(model_admin, ServiceAdmin):
            continue
        label = model._meta.label
        assert not model_admin.has_add_permission(request), label
        assert not model_admin.has_change_permission(request), label
        assert not model_admin.has_delete_permission(request), label
        assert not model_admin.get_actions(request), label
    assert {m._meta.label for m, a in admin.site._registry.items() if isinstance(a, ServiceAdmin)} == {
        "accounts.User",
        "incidents.Customer",
        "campaigns.AllowedNetwork",
        "incidents.SlaPolicy",
        "incidents.ReplySnippet",
        "breaches.NotificationRule",
    }


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:auth_group_add",
        "admin:axes_accessattempt_add",
        "admin:auditlog_logentry_add",
        "admin:audit_auditentry_add",
        "admin:incidents_incident_add",
        "admin:incidents_customer_add",
    ],
)
def test_read_only_admins_refuse_to_add(as_boss, url_name):
    assert as_boss.post(reverse(url_name), {"name": "supervisor2"}).status_code == 403
    assert not Group.objects.filter(name="supervisor2").exists()


def test_a_role_group_cannot_be_changed_or_deleted_in_the_admin(as_boss):
    supervisor = Group.objects.get(name="supervisor")
    as_boss.post(reverse("admin:auth_group_change", args=[supervisor.pk]), {"name": "renamed"})
    as_boss.post(
        reverse("admin:auth_group_changelist"),
        {"action": "delete_selected", "_selected_action": [supervisor.pk], "post": "yes"},
    )
    assert Group.objects.filter(name="supervisor").exists()
    assert as_boss.post(reverse("admin:auth_group_delete", args=[supervisor.pk]), {"post": "yes"}).status_code == 403


def test_the_service_records_a_change_made_outside_any_request(kari):
    customers.change_customer(kari, actor=UserFactory(roles=["supervisor"]), language="de")
    assert _latest("customer.changed").data["changes"] == {"language": ["nb", "de"]}
    assert Customer.objects.get(pk=kari.pk).language == "de"


def test_an_agent_added_in_the_admin_is_a_chained_entry_with_the_address_masked(as_boss, boss):
    from accounts.models import User

    response = as_boss.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "Robin.New@Example.test",
            "full_name": "Robin New",
            "usable_password": "true",
            "password1": "a long new passphrase 4711",
            "password2": "a long new passphrase 4711",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    agent = User.objects.get(email="robin.new@example.test")
    assert agent.check_password("a long new passphrase 4711") and not agent.groups.exists()
    entry = _latest("agent.created")
    assert entry.actor == boss and entry.target_id == str(agent.pk)
    assert entry.data["changes"]["email"] == [None, "r***@example.test"]
    assert verify_chain().ok


def test_deactivating_an_agent_ends_their_sessions():
    from accounts import services
    from accounts.models import AgentSession

    agent = UserFactory(roles=["agent"])
    AgentSession.objects.create(user=agent, sid="s1", session_key="k1")
    services.change_agent(agent, actor=UserFactory(roles=["supervisor"]), is_active=False)
    assert AgentSession.objects.get(sid="s1").ended_at is not None
    assert _latest("agent.changed").data["changes"] == {"is_active": [True, False]}


def test_a_reply_snippet_added_in_the_admin_is_a_chained_entry(as_boss, boss):
    from incidents.models import ReplySnippet

    response = as_boss.post(
        reverse("admin:incidents_replysnippet_add"),
        {"title": "Rückruf", "language": "de", "purpose": "message", "body": "Guten Tag {name}", "active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    snippet = ReplySnippet.objects.get(title="Rückruf")
    entry = _latest("settings.created")
    assert entry.actor == boss and entry.target_type == "incidents.replysnippet" and entry.target_id == str(snippet.pk)
    assert verify_chain().ok
