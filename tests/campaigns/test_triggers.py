"""The campaign trigger rule on its own: which verdicts and scopes trigger, the allow list, the window."""

import ipaddress
from datetime import timedelta

import pytest

from campaigns.triggers import TRIGGER_SCOPES, TRIGGER_VERDICTS, can_trigger, is_allowed, window
from incidents.models import Indicator, Verdict

ALLOWED = [ipaddress.ip_network("203.0.113.0/24"), ipaddress.ip_network("2001:db8:1::/48")]


def indicator(ip="185.220.101.7", verdict=Verdict.UNAUTHORIZED, scope="public") -> Indicator:
    return Indicator(ip=ip, verdict=verdict, scope=scope)


def test_the_rule_as_data():
    assert TRIGGER_VERDICTS == (Verdict.UNAUTHORIZED, Verdict.UNKNOWN)
    assert TRIGGER_SCOPES == ("public", "documentation")


@pytest.mark.parametrize(
    ("verdict", "triggers"),
    [(Verdict.UNAUTHORIZED, True), (Verdict.UNKNOWN, True), (Verdict.LEGITIMATE, False), (Verdict.PENDING, False)],
)
def test_only_an_unauthorized_or_unknown_verdict_triggers(verdict, triggers):
    assert can_trigger(indicator(verdict=verdict), []) is triggers


@pytest.mark.parametrize(
    ("ip", "scope", "triggers"),
    [
        ("185.220.101.7", "public", True),
        ("198.51.100.7", "documentation", True),
        ("10.1.2.3", "private", False),
        ("127.0.0.1", "loopback", False),
        ("169.254.1.1", "link_local", False),
        ("224.0.0.1", "multicast", False),
        ("0.0.0.0", "unspecified", False),
        ("240.0.0.1", "reserved", False),
    ],
)
def test_only_a_routable_address_triggers(ip, scope, triggers):
    assert can_trigger(indicator(ip=ip, scope=scope), []) is triggers


def test_the_allow_list_holds_back_its_networks_of_either_version():
    assert is_allowed("203.0.113.200", ALLOWED) and is_allowed("2001:db8:1:ff::1", ALLOWED)
    assert not is_allowed("203.0.114.1", ALLOWED) and not is_allowed("2001:db8:2::1", ALLOWED)
    assert not is_allowed("203.0.113.200", [])
    assert not can_trigger(indicator(ip="203.0.113.9", scope="documentation"), ALLOWED)
    assert can_trigger(indicator(ip="203.0.112.9", scope="documentation"), ALLOWED)
    assert not can_trigger(indicator(ip="2001:db8:1::9", scope="documentation", verdict=Verdict.UNKNOWN), ALLOWED)


def test_the_window_is_the_setting_in_days(settings):
    settings.CAMPAIGN_WINDOW_DAYS = 3
    assert window() == timedelta(days=3)
    settings.CAMPAIGN_WINDOW_DAYS = 14
    assert window() == timedelta(days=14)
