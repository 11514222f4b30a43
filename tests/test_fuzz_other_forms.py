"""Hostile and malformed input to the forms outside the incident page: never a server error."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import UserFactory

VALUES = st.one_of(
    st.text(max_size=40), st.text(min_size=3000, max_size=4000), st.just("\x00"), st.just("<svg onload=alert(1)>"),
    st.integers(-(2**70), 2**70).map(str), st.just("2026-02-30"), st.just("../../etc/passwd"),
)  # fmt: skip
POST_FORMS = {
    "/accounts/login/": ["username", "password", "next"],
    "/accounts/verify/": ["token", "next"],
    "/accounts/confirm/": ["password", "token", "next"],
    "/incidents/new/": ["customer_query", "channel", "severity", "summary"],
    "/customers/new/": ["display_name", "email", "account_reference", "language"],
}
GET_FORMS = {
    "/incidents/": ["q", "ip", "stage", "status", "severity", "team", "assignee", "mine", "page"],
    "/ip/": ["ip"],
    "/audit/": ["actor", "action", "incident", "customer", "date_from", "date_to", "before"],
}


@pytest.mark.django_db
@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_random_input_to_every_other_form_never_errors(client, verified_client, data):
    user = UserFactory(roles=["supervisor"])
    verified_client(user)
    url, fields = data.draw(st.sampled_from(sorted({**POST_FORMS, **GET_FORMS}.items())))
    payload = data.draw(st.dictionaries(st.sampled_from(fields), VALUES, max_size=len(fields)))
    response = client.post(url, payload) if url in POST_FORMS else client.get(url, payload)
    assert response.status_code < 500, (url, payload)
    assert b"<svg onload=alert(1)>" not in response.content
