"""An agent in Chromium meets a freshly changed email of record: no code goes there, the previous
address is offered, and the code goes to the previous address."""

import pytest

from incidents import services
from incidents.customers import change_customer
from notifications.models import CustomerUpdate
from tests.browser.test_playbook_journey import sign_in
from tests.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_code_never_goes_to_a_fresh_address_and_the_previous_one_is_offered(live_server, page, screenshot):
    base = live_server.url
    agent = UserFactory(roles=["agent"], full_name="Alex Agent")
    boss = UserFactory(roles=["supervisor"], is_staff=True, full_name="Sam Supervisor")
    kari = CustomerFactory(display_name="Kari Nordmann", email="kari@example.org", account_reference="ACC-4242")
    incident = services.open_incident(
        customer=kari, channel="phone", summary="Caller says her email was changed", severity=3, actor=agent
    )
    change_customer(kari, actor=boss, email="mallory@evil.example", reason="Caller asked on the phone")

    sign_in(page, base, agent)
    page.goto(base + incident.get_absolute_url())
    hold = page.locator("#address-hold")
    assert "No code to the address of record." in hold.inner_text()
    assert "Only a supervisor can send the code there anyway" in hold.inner_text()
    assert "mallory@evil.example" not in page.content()  # the new address is not even shown in full
    assert page.get_by_role("button", name="Send code to the customer").count() == 0
    screenshot(page, "1-hold")

    page.get_by_label("account / service name").check()
    page.get_by_role("button", name="Send code to the previous address").click()
    page.wait_for_load_state()
    assert "Code sent to" in page.locator("#verification").inner_text()
    screenshot(page, "2-sent-to-previous")

    code = CustomerUpdate.objects.get(incident=incident, template="verification_code")
    assert code.recipient == "kari@example.org"
    assert not CustomerUpdate.objects.filter(recipient="mallory@evil.example").exists()
