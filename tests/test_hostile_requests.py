"""Requests no person would make on purpose get a clear refusal, never a server error."""

import pytest

from incidents.models import AllowedNetwork
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
