"""Every URL demands both factors unless it is on the allow-list below.

The URLs are enumerated from the resolver, so a new view is covered the moment it is routed.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from accounts.access import FIRST_FACTOR, PUBLIC, access_level
from tests.conftest import verify_session
from tests.factories import UserFactory

# The only URL names reachable without a verified second factor, and how far.
ALLOW_LIST = {
    "healthz": PUBLIC,
    "accounts:login": PUBLIC,
    "accounts:logout": PUBLIC,
    "admin-login-redirect": PUBLIC,
    "accounts:verify": FIRST_FACTOR,
    "accounts:enrol": FIRST_FACTOR,
}
SAMPLE = {"int": "1", "str": "x", "slug": "x", "uuid": "00000000-0000-0000-0000-000000000001", "path": "x/y"}
AUTH_PATHS = ("/accounts/login/", "/accounts/verify/", "/accounts/enrol/")


def _sample_path(pattern) -> str:
    text = str(pattern.pattern)
    if hasattr(pattern.pattern, "_route"):
        return re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE[m.group(1) or "str"], text)
    text = text.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")
    # (?P<app_label>auth|accounts) -> auth; (?P<object_id>.+) -> 1
    text = re.sub(r"\(\?P<\w+>\(?([\w]+)[^)]*\)\)?", r"\1", text)
    text = re.sub(r"\(\?P<\w+>[^)]*\)", "1", text)
    return text


def _walk(patterns, prefix="", namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or namespace
            if ns and namespace and pattern.namespace:
                ns = f"{namespace}:{pattern.namespace}"
            yield from _walk(pattern.url_patterns, prefix + _sample_path(pattern), ns)
        elif isinstance(pattern, URLPattern):
            name = pattern.name or "(unnamed)"
            name = f"{namespace}:{name}" if namespace else name
            yield name, "/" + prefix + _sample_path(pattern), pattern.callback


ALL_ROUTES = {(name, path): callback for name, path, callback in _walk(get_resolver().url_patterns)}
# Patterns hidden behind an earlier one with the same path never answer; name them here.
SHADOWED = {"admin:login"}
ROUTES = sorted((route, cb) for route, cb in ALL_ROUTES.items() if route[0] not in SHADOWED)
IDS = [f"{name} {path}" for (name, path), _ in ROUTES]


def _level(name, callback):
    return ALLOW_LIST.get(name) if access_level(callback) else None


def test_the_enumeration_reaches_every_app():
    names = {name for (name, _), _ in ROUTES}
    assert {"healthz", "accounts:login", "incidents:dashboard", "admin:index", "audit:index"} <= names
    assert len(ROUTES) > 40  # the admin alone brings dozens


@pytest.mark.parametrize(("route", "callback"), ROUTES, ids=IDS)
def test_sample_path_resolves_to_its_own_view(route, callback):
    _, path = route
    assert resolve(path).func is callback


def test_only_the_known_patterns_are_shadowed():
    shadowed = {name for (name, path), cb in ALL_ROUTES.items() if resolve(path).func is not cb}
    assert shadowed == SHADOWED


@pytest.mark.parametrize(("route", "callback"), ROUTES, ids=IDS)
def test_no_view_opts_out_of_two_factor_unless_allow_listed(route, callback):
    name, _ = route
    declared = access_level(callback)
    assert declared == ALLOW_LIST.get(name), (
        f"{name} declares access {declared!r}; only the allow-list in this test may relax two-factor"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "callback"), ROUTES, ids=IDS)
def test_anonymous_is_sent_to_sign_in(client, route, callback):
    name, path = route
    response = client.get(path)
    if _level(name, callback) == PUBLIC:
        assert response.status_code in (200, 302, 405)
        return
    assert response.status_code == 302, f"{path} answered {response.status_code} to an anonymous visitor"
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "callback"), ROUTES, ids=IDS)
def test_password_only_session_is_sent_to_the_second_factor(client, route, callback):
    name, path = route
    user = UserFactory(roles=["supervisor"], is_staff=True, is_superuser=True)
    client.force_login(user)  # password accepted, no OTP device verified in this session
    response = client.get(path)
    if _level(name, callback) in (PUBLIC, FIRST_FACTOR):
        return
    assert response.status_code == 302, f"{path} answered {response.status_code} without a second factor"
    assert response["Location"].startswith(("/accounts/enrol/?next=", "/accounts/verify/?next="))


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "callback"), ROUTES, ids=IDS)
def test_verified_agent_is_not_sent_back_to_authentication(client, route, callback):
    name, path = route
    if name in ("accounts:logout", "admin-login-redirect"):
        return  # their whole purpose is to lead to sign-in / sign-out
    user = UserFactory(roles=["supervisor"], is_staff=True, is_superuser=True)
    verify_session(client, user)
    response = client.get(path)
    assert response.status_code < 500
    if response.status_code == 302:
        assert not response["Location"].startswith(AUTH_PATHS), (
            f"{path} sent a verified agent to {response['Location']}"
        )
