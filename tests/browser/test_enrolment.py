"""A new agent enrols their authenticator in a real browser and reaches the dashboard."""

from base64 import b32decode

import pytest
from django_otp.oath import TOTP

from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_new_agent_enrols_with_the_shown_secret_and_reaches_the_dashboard(live_server, page, screenshot):
    user = UserFactory(roles=["agent"], full_name="Robin Example")

    page.goto(live_server.url + "/")
    assert page.url.startswith(live_server.url + "/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    screenshot(page, "1-sign-in")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/accounts/enrol/**")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert page.get_by_role("img", name="QR code").is_visible()
    screenshot(page, "2-enrol")
    page.get_by_label("Code from your app").fill(f"{TOTP(b32decode(secret)).token():06d}")
    page.get_by_role("button", name="Confirm").click()

    codes = page.locator("#backup-codes code").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, "3-backup-codes")
    page.get_by_role("link", name="I have saved them, continue").click()

    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("heading", name="Good to see you, Robin").is_visible()
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Incidents").is_visible()
    screenshot(page, "4-dashboard")


def test_page_has_no_csp_violations_on_sign_in(live_server, page):
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(live_server.url + "/accounts/login/")
    page.wait_for_load_state("networkidle")
    assert not [m for m in messages if "Content Security Policy" in m], messages
