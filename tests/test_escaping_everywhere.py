"""Every agent page and every customer email shows hostile text as text.

The desk is filled with markup, attribute break-outs, `javascript:` URLs, template syntax and
bidirectional overrides in every field a person can fill (tests/hostile.py); then every routed
URL is rendered (the resolver is walked, so a new page is covered the moment it is routed) and
every email template in every language. HTML must carry none of it as markup, names must be
shown isolated, plain text must carry it literally.
"""

import pytest
from django.db import connection

from incidents import selectors
from incidents.emails import customer_context
from incidents.models import Language
from notifications.catalog import TEMPLATES
from notifications.models import CustomerUpdate
from notifications.rendering import clean_header, render_update
from tests.conftest import verify_session
from tests.hostile import NAME, TEXT, build_world, page_problems, urls_with_ids

pytestmark = pytest.mark.django_db

# Pages about sign-in and sign-out lead away from the desk for a signed-in agent.
LEAVES_THE_SESSION = {"accounts:logout", "admin:logout", "admin-login-redirect"}


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    return build_world(django_capture_on_commit_callbacks)


def _signed_in(client, world):
    verify_session(client, world["boss"], reauthenticated=True)
    client.raise_request_exception = False
    return client


def test_every_page_shows_hostile_text_as_text_and_names_isolated(client, world):
    _signed_in(client, world)
    urls = urls_with_ids(world)
    assert [name for name, url in urls.items() if url is None] == [], "URLs the world has no object for"
    problems, rendered = {}, 0
    for name, url in sorted(urls.items()):
        if name in LEAVES_THE_SESSION:
            continue
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers)
            if response.status_code >= 500:
                problems[(name, url)] = [f"status {response.status_code}"]
                continue
            if "html" not in response.get("Content-Type", "") or not response.content:
                continue
            rendered += 1
            found = page_problems(response.content.decode(), names_isolated=not name.startswith("admin"))
            if found:
                problems[(name, url, bool(headers))] = found
    assert problems == {}, "\n".join(f"{where}: {found}" for where, found in problems.items())
    assert rendered > 100


def test_pages_that_echo_what_was_just_typed_escape_it(client, world):
    """Previews, refused forms and searches show the typed text back: as text."""
    _signed_in(client, world)
    busy = world["busy"]
    responses = {
        "progress preview": client.post(f"/incidents/{busy.pk}/progress/", {"message": TEXT, "action": "preview"}),
        "resolution preview": client.post(
            f"/incidents/{busy.pk}/resolve/",
            {
                "version": busy.version,
                "resolution_summary": TEXT,
                "measures_taken": TEXT,
                "advice_given": TEXT,
                "action": "preview",
            },
        ),
        "refused change": client.post(f"/incidents/{busy.pk}/changes/", {"description": TEXT, "version": "x"}),
        "refused note": client.post(f"/incidents/{busy.pk}/notes/", {"body": TEXT, "visibility": "nope"}),
        "search": client.get("/incidents/", {"q": TEXT}),
        "ip search": client.get("/ip/", {"ip": TEXT[:60]}),
        "audit filter": client.get("/audit/", {"actor": TEXT, "date_from": TEXT}),
        "new customer": client.post(
            "/customers/new/", {"display_name": TEXT, "email": TEXT, "account_reference": TEXT, "language": "en"}
        ),
    }
    problems = {}
    for what, response in responses.items():
        assert response.status_code < 500, what
        page = response.content.decode()
        found = page_problems(page)
        if found:
            problems[what] = found
    assert problems == {}
    # The plain-text email in the preview is shown escaped, character for character.
    preview = responses["progress preview"].content.decode()
    assert "&lt;script&gt;x()&lt;/script&gt;" in preview


def _hostile_contexts(world):
    """The context each template is rendered with in production, every free-text value hostile."""
    done = world["done"]
    report = selectors.post_incident_report(done)
    for customer_incident in (world["busy"], done):
        context = {
            **customer_context(customer_incident),
            "message": TEXT,
            "resolution_summary": TEXT,
            "measures_taken": TEXT,
            "advice_given": TEXT,
            "code": "493817",
            "minutes": 10,
            **report,
        }
        yield context


FREE_TEXT = {"progress": 1, "message": 1, "resolution": 3}  # how often TEXT appears in the plain text


def test_every_email_in_every_language_escapes_html_and_keeps_plain_text_literal(world):
    problems = []
    for template in sorted(TEMPLATES):
        for language in Language.values:
            for context in _hostile_contexts(world):
                subject, text, html = render_update(template, language, context)
                where = f"{template}/{language}"
                problems += [f"{where} HTML: {p}" for p in page_problems(html, names_isolated=False)]
                if "&lt;bulwarkxss&gt;" not in html:
                    problems.append(f"{where} HTML lost the typed text")
                # Plain text is not HTML: nothing escaped, every typed character as typed.
                if any(entity in text for entity in ("&lt;", "&gt;", "&quot;", "&#x27;", "&amp;")):
                    problems.append(f"{where} plain text is HTML-escaped")
                if text.count(TEXT) != FREE_TEXT.get(template, 0):
                    problems.append(f"{where} plain text has {text.count(TEXT)} copies of the typed text")
                # The name opens the email, isolated between FSI and PDI, on one line.
                if f"\u2068{clean_header(NAME)}\u2069" not in text:
                    problems.append(f"{where} the name is not isolated")
                if "\n" in subject:
                    problems.append(f"{where} subject spans lines")
    assert problems == [], "\n".join(problems)


def test_the_stored_emails_of_the_hostile_desk_are_clean(world):
    updates = list(CustomerUpdate.objects.all())
    assert {u.template for u in updates} >= {"acknowledgement", "escalated", "message", "resolution"}
    for update in updates:
        assert page_problems(update.body_html, names_isolated=False) == [], update.template
        assert "&lt;" not in update.body_text, update.template
    if connection.vendor == "postgresql":
        assert all("\x00" not in u.body_text for u in updates)
