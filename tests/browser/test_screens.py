"""Every main page at 1280x800 and at 390x844 (a phone), screenshotted and checked: nothing sticks
out sideways (only wide tables may scroll, inside their frame), and the step-3 and audit tables fit
a desktop screen without scrolling. The Persian customer's report is checked right-to-left.
Presence: a second agent sees the first one on the incident within seconds.

Screenshots: artifacts/screenshots/test_every_main_page_fits-<width>-<page>.png.
"""

import pytest

from campaigns import services as campaigns  # noqa: F401  (the app's hooks are registered)
from incidents import services
from tests.browser.test_playbook_journey import OVERFLOWING, sign_in
from tests.desk import fresh, walk_to
from tests.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOG = """185.220.101.7 - - [21/Nov/2026:02:14:09 +0000] "POST /payees HTTP/1.1" 201 312 "-" "Mozilla/5.0 (X11; Linux x86_64)"
Nov 21 02:10:01 auth: login ok user=kari from 192.168.1.20 via 2001:db8:85a3::8a2e:370:7334
Nov 21 02:11:44 auth: probe from fe80::1ff:fe23:4567:890a and 127.0.0.1
"""
# A table that must fit a 1280 px screen without scrolling sideways.
TABLE_FITS = """sel => [...document.querySelectorAll(sel)].every(t => {
  const wrap = t.closest('.table-wrap') || t.parentElement;
  return wrap.scrollWidth <= wrap.clientWidth + 1;
})"""


# Parts looked at on their own (a full phone page is too tall to read in one picture).
SECTIONS = [
    "#indicators",
    "#timeline",
    "#current-step",
    ".audit-viewer",
    "table.queue",
    "table.customers",
    "#already-open",
]


def _world():
    tier1 = UserFactory(roles=["agent"], full_name="Alex Agent")
    boss = UserFactory(roles=["security", "supervisor"], full_name="Sasha Security")
    kari = CustomerFactory(display_name="Kari Nordmann", email="kari@example.org", account_reference="ACC-4242",
                           language="nb")  # fmt: skip
    juergen = CustomerFactory(display_name="Jürgen Weber", email="juergen@example.de", account_reference="ACC-5150",
                              language="de")  # fmt: skip
    maryam = CustomerFactory(display_name="مریم احمدی", email="maryam@example.ir", account_reference="ACC-7007",
                             language="fa")  # fmt: skip
    open_ = lambda customer, summary, severity=2: services.open_incident(  # noqa: E731
        customer=customer, channel="phone", summary=summary, severity=severity, actor=tier1
    )
    investigating = walk_to(open_(kari, "A new payee appeared and 1,200 EUR left the account."), "investigate", tier1)
    services.add_indicators_from_log(investigating, log_text=LOG, actor=tier1)
    other = open_(juergen, "Unbekannte Anmeldung aus dem Ausland.")
    services.add_indicators_from_log(other, log_text="login from 185.220.101.7", actor=tier1)
    services.escalate(other, to_team="security", reason="Same Tor exit node as a payee fraud.", severity=3, actor=tier1)
    services.add_note(investigating, body="Customer is travelling until Friday.", visibility="internal", actor=tier1)
    closed = walk_to(open_(maryam, "تغییر اطلاعات حساب بدون اجازه"), "post_incident", tier1)
    services.resolve_incident(
        closed, resolution_summary="The unknown session was ended and the payee removed.",
        measures_taken="Password changed, two-factor authentication on, sessions ended.",
        advice_given="رمز عبور خود را به‌طور منظم تغییر دهید.", actor=tier1, expected_version=fresh(closed).version,
    )  # fmt: skip
    return {"boss": boss, "tier1": tier1, "investigating": investigating, "other": other, "closed": closed,
            "kari": kari}  # fmt: skip


def _pages(world):
    inv, other, closed = world["investigating"], world["other"], world["closed"]
    return [
        ("dashboard", "/"),
        ("incidents", "/incidents/"),
        ("incident-step3", f"/incidents/{inv.pk}/"),
        ("incident-escalated", f"/incidents/{other.pk}/"),
        ("incident-closed-fa", f"/incidents/{closed.pk}/"),
        ("history", f"/incidents/{inv.pk}/history/"),
        ("packet", f"/incidents/{other.pk}/packet/"),
        ("report-fa", f"/incidents/{closed.pk}/report/"),
        ("open-incident", f"/incidents/new/?customer={world['kari'].account_reference}"),
        ("customers", "/customers/"),
        ("customer", f"/customers/{world['kari'].pk}/"),
        ("security-queue", "/queue/security/"),
        ("ip-search", "/ip/?ip=185.220.101.0/24"),
        ("audit", f"/audit/?incident={inv.reference}"),
        ("campaigns", "/campaigns/"),
        ("breaches", "/breaches/"),
        ("metrics", "/metrics/"),
        ("profile", "/accounts/profile/"),
    ]


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_every_main_page_fits(live_server, browser, screenshot, width, height):
    world = _world()
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(15_000)
    csp_violations = []
    page.on("console", lambda m: "Content Security Policy" in m.text and csp_violations.append(m.text))
    sign_in(page, live_server.url, world["boss"])
    problems = {}
    for name, path in _pages(world):
        response = page.goto(live_server.url + path)
        assert response.status == 200, (name, response.status)
        screenshot(page, f"{width}-{name}")
        page.screenshot(path=str(screenshot.folder / f"screen-{width}-{name}-top.png"))  # what the agent sees first
        for selector in SECTIONS:
            section = page.locator(selector)
            if section.count() == 1:
                section.screenshot(path=str(screenshot.folder / f"screen-{width}-{name}-{selector.strip('#.')}.png"))
        sticking_out = page.evaluate(OVERFLOWING)
        if sticking_out or not page.evaluate("document.documentElement.scrollWidth <= innerWidth"):
            problems[name] = sticking_out or ["the page scrolls sideways"]
        if width >= 1280 and not page.evaluate(TABLE_FITS, ".indicators, .audit-viewer, table.queue"):
            problems[name] = ["a table that must fit scrolls sideways"]
    assert problems == {}
    assert csp_violations == []

    # The Persian customer's parts read right to left.
    page.goto(live_server.url + f"/incidents/{world['closed'].pk}/report/")
    assert page.locator("[dir=rtl]").count() >= 1
    assert page.locator("[dir=rtl]").first.evaluate("el => getComputedStyle(el).direction") == "rtl"
    context.close()


def test_a_second_agent_sees_who_else_is_on_the_incident(live_server, browser, screenshot):
    world = _world()
    first, second = (
        browser.new_context(viewport={"width": 1280, "height": 800}),
        browser.new_context(viewport={"width": 390, "height": 844}),
    )
    boss, agent = first.new_page(), second.new_page()
    sign_in(boss, live_server.url, world["boss"])
    sign_in(agent, live_server.url, world["tier1"])
    url = live_server.url + f"/incidents/{world['investigating'].pk}/"
    boss.goto(url)
    agent.goto(url)
    presence = agent.locator("#presence")
    presence.get_by_text("Sasha Security is viewing this incident").wait_for(timeout=12_000)
    boss.locator("#id_note_body").fill("Checking the payee with the bank")
    presence.get_by_text("Sasha Security is editing this incident").wait_for(timeout=12_000)
    screenshot(agent, "390-presence")
    first.close()
    second.close()
