"""The incident page's timeline: every agent action of the incident, newest first, from the
audit trail, in a fixed number of queries."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import services
from tests.desk import fresh, walk_to

pytestmark = pytest.mark.django_db


def _timeline(html):
    section = html.split('id="timeline"')[1].split("</section>")[0]
    return re.findall(r'<strong class="timeline-what">(.+?)</strong>', section)


def test_the_timeline_lists_every_action_newest_first_without_views(client, verified_client, incident, tier1):
    services.add_note(incident, body="Customer called back", visibility="internal", actor=tier1)
    incident = walk_to(fresh(incident), "investigate", tier1)
    services.add_indicators_from_log(incident, log_text="from 185.220.101.7", actor=tier1)
    verified_client(tier1)
    client.get(incident.get_absolute_url())  # a view: in the audit trail, not in the timeline
    html = client.get(incident.get_absolute_url()).content.decode()
    what = _timeline(html)
    assert what[0] == "Indicator recorded"
    for action in ("Incident opened", "Note added", "Unauthorized change recorded", "Caller verified",
                   "Securing step recorded", "Playbook stage advanced", "Customer email queued"):  # fmt: skip
        assert action in what, action
    assert what[-1] == "Incident opened"
    assert "Incident viewed" not in what
    assert "Customer called back" in html.split('id="timeline"')[1]
    assert "address: 185.220.101.7" in html and "from: 2 · Secure · to: 3 · Investigate" in html
    assert "Customer email sent" not in what  # delivery is the updates panel's


def test_the_timeline_costs_the_same_queries_for_few_or_many_actions(client, verified_client, incident, tier1):
    verified_client(tier1)
    client.get(incident.get_absolute_url())
    with CaptureQueriesContext(connection) as few:
        client.get(incident.get_absolute_url())
    for n in range(30):
        services.add_note(incident, body=f"note {n}", visibility="internal", actor=tier1)
    with CaptureQueriesContext(connection) as many:
        html = client.get(incident.get_absolute_url()).content.decode()
    assert len(many) == len(few)
    assert len(_timeline(html)) >= 31
