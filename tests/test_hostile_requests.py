"""Requests no person would make on purpose get a clear refusal, never a server error."""

import pytest

from campaigns.models import AllowedNetwork
from tests.factories import UserFactory


@pytest.fixture
def signed_in(client, verified_client):
    client.raise_request_exception = False
    verified_client(UserFactory(roles=["supervisor"]))
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "ip", ["fe80::%eth0/64", "fe80::1%eth0/64", "fe80::1%eth0/128", "fe80::1%eth0", "fe80::%1/120"]
)
@pytest.mark.parametrize("url", ["/ip/", "/incidents/"])
def test_a_scoped_ipv6_search_is_refused_with_a_message(signed_in, url, ip):
    response = signed_in.get(url, {"ip": ip})
    assert response.status_code == 200
    assert "leave the zone out" in response.content.decode()


@pytest.mark.django_db
def test_a_scoped_network_cannot_join_the_allow_list():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        AllowedNetwork(network="fe80::%eth0/64", label="x").clean()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "data", "extra"),
    [
        ("post", "/accounts/sessions/end/", {"sid": "a\x00b"}, {}),
        ("post", "/accounts/sessions/end/", {"s\x00id": "x"}, {}),
        ("get", "/incidents/", {"q": "kari\x00"}, {}),
        ("get", "/audit/", {"actor": "\x00"}, {}),
        ("get", "/incidents/%00/", {}, {}),
        ("get", "/queue/tier2%00/", {}, {}),
        ("get", "/", {}, {"HTTP_USER_AGENT": "Mozilla\x00"}),
        ("post", "/customers/new/", {"display_name": "Kari\x00", "email": "k@example.org"}, {}),
    ],
)
def test_a_nul_character_anywhere_is_refused_with_400(signed_in, method, path, data, extra):
    response = getattr(signed_in, method)(path, data, **extra)
    assert response.status_code == 400
    assert "could not be accepted" in response.content.decode()


@pytest.mark.django_db
def test_a_nul_character_in_a_cookie_is_refused(client):
    client.raise_request_exception = False
    client.cookies["sessionid"] = "abcdefgh\x00ijkl"
    assert client.get("/accounts/login/").status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("number", [2**63, -(2**63) - 1, 10**40])
def test_an_integer_out_of_any_column_range_matches_nothing_instead_of_failing(number):
    from django.contrib.auth.models import Permission

    from incidents.models import Incident

    assert list(Permission.objects.filter(pk__in=[number, 1]).values_list("pk", flat=True)) in ([], [1])
    assert not Incident.objects.filter(pk__in=[number]).exists()
    assert not Incident.objects.filter(severity__in=[number]).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["change", "delete", "history"])
def test_the_admin_refuses_an_empty_to_field(client, verified_client, page):
    from tests.factories import CustomerFactory

    client.raise_request_exception = False
    verified_client(UserFactory(roles=["supervisor"], is_staff=True, is_superuser=True))
    customer = CustomerFactory()
    url = f"/admin/incidents/customer/{customer.pk}/{page}/"
    assert client.get(url).status_code < 500
    assert client.get(url, {"_to_field": ""}).status_code == 400


@pytest.mark.django_db
def test_a_huge_id_in_an_admin_multiple_choice_is_a_form_error(client, verified_client):
    client.raise_request_exception = False
    boss = UserFactory(roles=["supervisor"], is_staff=True, is_superuser=True)
    verified_client(boss, reauthenticated=True)
    agent = UserFactory(roles=["agent"])
    response = client.post(
        f"/admin/accounts/user/{agent.pk}/change/", {"email": agent.email, "groups": str(2**63), "is_active": "on"}
    )
    assert response.status_code == 200
    assert "is not one of the available choices" in response.content.decode()
