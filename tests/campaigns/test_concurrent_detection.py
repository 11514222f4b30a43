"""Two agents save the same attacker IP on two customers' incidents at the same moment (PostgreSQL):
one campaign, and every incident escalated to security exactly once.

What makes it so: detection runs under a transaction-scoped advisory lock (campaigns.serialize_detection,
taken before the incident row lock), the membership row records the escalation it caused, and the
database allows one membership per incident and one active escalation per incident.
"""

import threading

import pytest
from django.db import connection

from audit.models import AuditAction, AuditEntry
from campaigns import services as campaigns
from campaigns.models import Campaign, CampaignMember
from incidents import services
from incidents.models import Escalation
from tests.factories import CustomerFactory, UserFactory

ATTACKER = "203.0.113.7"


def _incident(actor, verdict=None):
    incident = services.open_incident(
        customer=CustomerFactory(), channel="phone", summary="Unknown payee", severity=2, actor=actor
    )
    services.add_indicators_from_log(incident, log_text=f"login from {ATTACKER}", actor=actor)
    indicator = incident.indicators.get()
    if verdict:
        services.set_indicator_verdict(indicator, verdict=verdict, actor=actor)
    return incident, indicator


def _race(monkeypatch, *saves):
    """Run the verdict saves in parallel threads (own connections), each pausing after its read
    of other customers' indicators so that, unserialized, both would read before either writes."""
    original = campaigns.find_hits
    barrier = threading.Barrier(len(saves))
    errors = []

    def slow_find_hits(*args, **kwargs):
        hits = original(*args, **kwargs)
        threading.Event().wait(0.3)  # widen the race window on purpose
        return hits

    monkeypatch.setattr(campaigns, "find_hits", slow_find_hits)

    def run(indicator, actor):
        try:
            barrier.wait()
            services.set_indicator_verdict(indicator, verdict="unauthorized", actor=actor)
        except Exception as exc:  # surfaced below; a thread's exception would otherwise vanish
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=save) for save in saves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_saves_make_one_campaign_and_escalate_each_incident_once(postgres, monkeypatch):
    alex, robin = UserFactory(roles=["agent"]), UserFactory(roles=["agent"])
    first, _ = _incident(alex, verdict="unauthorized")
    second, second_ip = _incident(alex)
    third, third_ip = _incident(robin)

    errors = _race(monkeypatch, (second_ip, alex), (third_ip, robin))

    assert errors == []
    campaign = Campaign.objects.get()
    assert set(CampaignMember.objects.values_list("incident_id", flat=True)) == {first.pk, second.pk, third.pk}
    for incident in (first, second, third):
        assert Escalation.objects.filter(incident=incident, to_team="security").count() == 1
        assert AuditEntry.objects.filter(action=AuditAction.ESCALATED, incident_id=incident.pk).count() == 1
        assert CampaignMember.objects.get(incident=incident).escalation_id is not None
    assert AuditEntry.objects.filter(action=AuditAction.CAMPAIGN_DETECTED).count() == 1
    assert campaign.members.count() == 3


@pytest.mark.django_db(transaction=True)
def test_detection_waits_for_an_agent_working_on_a_linked_incident_without_deadlock(postgres):
    """Another agent holds the first incident (its row lock) and then appends to the audit trail,
    while the verdict on the second incident wants to escalate the first one. Detection takes its
    row locks before its first audit entry, so it simply waits its turn; both commit."""
    from django.db import transaction

    from audit.services import record
    from incidents.models import Incident

    alex, robin = UserFactory(roles=["agent"]), UserFactory(roles=["agent"])
    first, _ = _incident(alex, verdict="unauthorized")
    second, second_ip = _incident(robin)
    holding = threading.Event()
    errors = []

    def other_agent():
        try:
            with transaction.atomic():
                Incident.objects.select_for_update().get(pk=first.pk)
                holding.set()
                threading.Event().wait(0.5)  # the verdict save reaches the lock meanwhile
                record(AuditAction.NOTE_ADDED, actor=alex, incident_id=first.pk)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    def verdict():
        try:
            holding.wait(5)
            services.set_indicator_verdict(second_ip, verdict="unauthorized", actor=robin)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=other_agent), threading.Thread(target=verdict)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Escalation.objects.filter(incident=first, to_team="security").count() == 1
    assert Escalation.objects.filter(incident=second, to_team="security").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_claim_locks_the_incident_before_its_escalation_so_detection_cannot_deadlock_with_it(postgres):
    """Detection locks linked incidents and then their escalations; a claim (or hand-back, or
    resolve) must take the same order. While another transaction holds the incident, a claim
    waits without having locked the escalation row yet."""
    from django.db import DatabaseError, transaction

    from incidents.models import Incident

    alex, sasha = UserFactory(roles=["agent"]), UserFactory(roles=["security"])
    incident, _ = _incident(alex)
    escalation = services.escalate(incident, to_team="security", reason="Takeover", severity=3, actor=alex)
    holding, claim_started = threading.Event(), threading.Event()
    seen, errors = {}, []

    def holder():
        try:
            with transaction.atomic():
                Incident.objects.select_for_update().get(pk=incident.pk)
                holding.set()
                claim_started.wait(5)
                threading.Event().wait(0.5)  # the claim reaches its first lock meanwhile
                try:
                    Escalation.objects.select_for_update(nowait=True).get(pk=escalation.pk)
                    seen["escalation_free"] = True
                except DatabaseError:
                    seen["escalation_free"] = False
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    def claim():
        try:
            holding.wait(5)
            claim_started.set()
            services.claim_escalation(escalation, actor=sasha)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=holder), threading.Thread(target=claim)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert seen == {"escalation_free": True}
    escalation.refresh_from_db()
    assert escalation.status == "claimed" and escalation.claimed_by == sasha
