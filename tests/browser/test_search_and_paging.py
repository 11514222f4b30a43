"""An agent searches a busy desk in Chromium: text search, older/newer pages, an IP network,
the audit trail; on a desktop screen and on a phone."""

import pytest
from django.core.management import call_command

from incidents.models import Incident, Indicator
from tests.browser.test_playbook_journey import assert_fits, sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_searching_and_paging_a_busy_desk(live_server, browser, screenshot, settings, width):
    settings.DEBUG = True  # seed_demo refuses without it
    call_command("seed_demo", incidents=300, seed=11)
    security = UserFactory(roles=["security", "supervisor"], full_name="Sasha Security")
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    csp_violations = []
    page.on("console", lambda m: "Content Security Policy" in m.text and csp_violations.append(m.text))
    base = live_server.url
    sign_in(page, base, security)

    page.goto(base + "/incidents/")
    rows = page.locator("table.table tbody tr")
    assert rows.count() == 25
    newest = rows.first.locator("a").first.inner_text()
    screenshot(page, f"{width}-list")

    page.get_by_role("link", name="Older →").click()
    assert page.locator("table.table tbody tr").first.locator("a").first.inner_text() != newest
    page.get_by_role("link", name="← Newer").click()
    assert page.locator("table.table tbody tr").first.locator("a").first.inner_text() == newest

    customer = Incident.objects.order_by("-created_at").first().customer
    page.get_by_label("Search").fill(customer.display_name)
    page.get_by_role("button", name="Filter").click()
    listed = page.locator("table.table tbody tr")
    assert listed.count() >= 1
    assert customer.display_name in listed.first.inner_text()
    if width < 600:
        assert_fits(page)
    screenshot(page, f"{width}-search")

    from collections import Counter

    # The busiest /24: attack infrastructure seen in many incidents.
    networks = Counter(
        ip.rsplit(".", 1)[0] for ip in Indicator.objects.filter(ip__contains=".").values_list("ip", flat=True)
    )
    network = networks.most_common(1)[0][0] + ".0/24"
    page.goto(base + "/ip/")
    page.get_by_label("IP or network").fill(network)
    page.get_by_role("button", name="Search").click()
    assert page.locator("table.table tbody tr").count() == min(50, networks.most_common(1)[0][1])
    assert network.rsplit(".", 1)[0] in page.locator("table.table tbody").inner_text()
    assert page.get_by_role("link", name="Seen earlier →").count() == (networks.most_common(1)[0][1] > 50)
    screenshot(page, f"{width}-ip")

    page.goto(base + "/audit/")
    first_seq = page.locator("table.audit-table tbody tr").first.locator("td").first.inner_text()
    assert page.locator("table.audit-table tbody tr").first.locator(".badge").inner_text().strip()
    page.get_by_role("link", name="Older entries »").click()
    assert page.locator("table.audit-table tbody tr").first.locator("td").first.inner_text() != first_seq
    screenshot(page, f"{width}-audit")
    assert csp_violations == []
    context.close()
