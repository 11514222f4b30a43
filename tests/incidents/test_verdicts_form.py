"""Step 3: one form judges every address; private, loopback, link-local and documentation
addresses are offered as legitimate (changeable); ranges are named in words."""

import re

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from incidents import services
from incidents.models import Indicator
from tests.desk import walk_to

pytestmark = pytest.mark.django_db

LOG = """185.220.101.7 - - [21/Nov/2026:02:14:09 +0000] "POST /payees HTTP/1.1" 201
Nov 21 02:10:01 auth: login ok user=kari from 192.168.1.20
Nov 21 02:10:02 auth: probe from fe80::1 and 127.0.0.1 and 198.51.100.4
"""


@pytest.fixture
def investigating(incident, tier1):
    incident = walk_to(incident, "investigate", tier1)
    services.add_indicators_from_log(incident, log_text=LOG, actor=tier1)
    return incident


def _selected(html, indicator):
    select = re.search(rf'<select[^>]*id="verdict-{indicator.pk}".*?</select>', html, re.S).group(0)
    found = re.search(r'<option value="([^"]*)" selected', select)
    return found.group(1) if found else ""


def test_the_table_offers_private_ranges_as_legitimate_and_names_ranges_in_words(
    client, verified_client, investigating, tier1
):
    verified_client(tier1)
    html = client.get(investigating.get_absolute_url()).content.decode()
    by_ip = {i.ip: i for i in investigating.indicators.all()}
    assert _selected(html, by_ip["185.220.101.7"]) == ""
    for ip in ("192.168.1.20", "fe80::1", "127.0.0.1", "198.51.100.4"):
        assert _selected(html, by_ip[ip]) == "legitimate", ip
    for words in ("Public internet", "Private network", "Link-local", "Loopback", "Documentation range"):
        assert words in html
    assert "link_local" not in html.split('id="indicators"')[1].split("</section>")[0]
    assert html.count('id="verdicts-form"') == 1


def test_one_post_saves_many_verdicts_each_audited(client, verified_client, investigating, tier1):
    by_ip = {i.ip: i for i in investigating.indicators.all()}
    verified_client(tier1)
    data = {f"verdict-{i.pk}": "legitimate" for ip, i in by_ip.items() if ip != "185.220.101.7"}
    data[f"verdict-{by_ip['185.220.101.7'].pk}"] = "unauthorized"
    response = client.post(reverse("incidents:incident-verdicts", args=[investigating.pk]), data)
    assert response.status_code == 302
    verdicts = dict(Indicator.objects.filter(incident=investigating).values_list("ip", "verdict"))
    assert verdicts["185.220.101.7"] == "unauthorized"
    assert {v for ip, v in verdicts.items() if ip != "185.220.101.7"} == {"legitimate"}
    assert AuditEntry.objects.filter(action="incident.indicator_verdict").count() == 5
    # Saving the same again changes nothing and says so, keeping the choices.
    response = client.post(reverse("incidents:incident-verdicts", args=[investigating.pk]), data)
    assert response.status_code == 400 and "Nothing changed" in response.content.decode()


def test_a_bad_value_saves_none_and_is_shown_on_its_row(client, verified_client, investigating, tier1):
    first, second = list(investigating.indicators.all())[:2]
    verified_client(tier1)
    response = client.post(
        reverse("incidents:incident-verdicts", args=[investigating.pk]),
        {f"verdict-{first.pk}": "unauthorized", f"verdict-{second.pk}": "maybe"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'class="row-error"' in html and "Not saved: Save verdicts" in html
    assert _selected(html, first) == "unauthorized"  # what the agent chose is kept
    assert Indicator.objects.get(pk=first.pk).verdict == "pending"
