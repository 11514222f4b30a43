"""A desk full of hostile text, and the URL map filled with its real ids.

Every field a person can fill holds markup, template syntax, a `javascript:` URL and
bidirectional overrides; names carry a marker of their own so a test can tell where a name is
shown. Built through the real services (the playbook, escalations, breaches ...), so the pages
and emails render the data the way production stores it.
"""

import re
from datetime import timedelta
from html.parser import HTMLParser

from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

RLO, LRE, PDF = "\u202e", "\u202a", "\u202c"
# Markup that would run, attributes that would break out, template syntax that would evaluate.
ATTACK = "<bulwarkxss>x()</bulwarkxss><script>x()</script>\"><img src=x onerror=x()>' data-xss='1"
TEXT = f"{ATTACK} javascript:x() {{{{ 7|add:1 }}}} {{% now 'Y' %}} {RLO}txet{LRE}"
# Names: a marker to find them, markup, and an override left open.
NAME_MARK = "Nm\u00e9x"
NAME = f'{NAME_MARK}<bulwarkxss>n</bulwarkxss>"><img src=x onerror=x()>{{{{7}}}}{RLO}eve'
HOSTILE_ATTRIBUTES = {"onerror", "onload", "data-xss"}


def build_world(django_capture_on_commit_callbacks):
    """Objects in every state a page can show, each free-text field holding TEXT and each name NAME."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    from accounts.models import AgentSession
    from alerts.models import SlaAlert
    from breaches import services as breaches
    from campaigns.models import AllowedNetwork, Campaign, CampaignMember, CampaignStatus
    from incidents import services, verification
    from incidents.customers import change_customer
    from tests.desk import walk_to
    from tests.factories import CustomerFactory, UserFactory

    with django_capture_on_commit_callbacks(execute=True):
        boss = UserFactory(roles=["supervisor", "security"], is_staff=True, is_superuser=True, full_name=NAME)
        agent = UserFactory(roles=["agent"], full_name=NAME)
        tier2 = UserFactory(roles=["tier2"], full_name=NAME)
        AgentSession.objects.create(user=agent, sid="f" * 32, session_key="k" * 32, user_agent=TEXT[:300])
        customers = [
            CustomerFactory(display_name=NAME, language=lang, account_reference=f"ACC-H{i}")
            for i, lang in enumerate(["en", "fa", "de", "pl", "nb"])
        ]

        def opened(customer, severity=2):
            return services.open_incident(
                customer=customer, channel="phone", summary=TEXT, severity=severity, actor=agent
            )

        # 1. Worked at step 1..3 with everything recorded, escalated, handed back, escalated again.
        busy = opened(customers[0], severity=3)
        services.record_unauthorized_change(
            busy, kind="contact", description=TEXT, noticed_at=None, actor=agent, expected_version=busy.version
        )
        verification.send_code(busy, identified_by="account_reference", actor=agent)
        verification.override(busy, reason=TEXT, actor=boss)
        services.add_indicators_from_log(busy, log_text=f"{TEXT} ip=185.220.101.7\n{TEXT} 2001:db8::5", actor=agent)
        services.add_note(busy, body=TEXT, visibility="internal", actor=agent)
        services.add_note(busy, body=TEXT, visibility="customer", actor=agent)
        first = services.escalate(busy, to_team="security", reason=TEXT, severity=3, actor=agent)
        services.claim_escalation(first, actor=boss)
        services.return_escalation(first, reason=TEXT, actor=boss)
        services.escalate(busy, to_team="tier2", reason=TEXT, severity=3, actor=agent)
        breach = breaches.mark_data_breach(
            busy,
            aware_at=timezone.now() - timedelta(hours=2),
            jurisdictions=[name for name, _ in breaches.jurisdiction_choices()][:2],
            high_risk=True,
            description=TEXT,
            actor=boss,
        )
        duty = breach.obligations.order_by("pk").first()
        if duty is not None:
            breaches.record_obligation_met(duty, met_at=timezone.now(), how="other", note=TEXT, actor=boss)

        # 2. Resolved through the whole playbook, with the post-incident report sent.
        from incidents.models import Stage

        def vouched(incident):
            verification.override(incident, reason=TEXT, actor=boss)
            return incident

        done = walk_to(vouched(opened(customers[1])), Stage.POST_INCIDENT, agent)
        done.refresh_from_db()
        services.resolve_incident(
            done,
            resolution_summary=TEXT,
            measures_taken=TEXT,
            advice_given=TEXT,
            actor=agent,
            expected_version=done.version,
        )

        # 3. At step 3 with findings and a decision not to escalate; 4. closed as not confirmed.
        investigating = walk_to(vouched(opened(customers[2])), Stage.INVESTIGATE, agent)
        investigating.refresh_from_db()
        services.record_findings(investigating, findings=TEXT, actor=agent, expected_version=investigating.version)
        unconfirmed = opened(customers[3])
        services.close_not_confirmed(unconfirmed, reason=TEXT, actor=agent, expected_version=unconfirmed.version)

        # At each remaining step, so every step's form is on some page; an escalation the boss works.
        more = [CustomerFactory(display_name=NAME, language="en") for _ in range(4)]
        walk_to(vouched(opened(more[0])), Stage.SECURE, agent)
        walk_to(vouched(opened(more[1])), Stage.ESCALATE, agent)
        walk_to(vouched(opened(more[2])), Stage.POST_INCIDENT, agent)
        worked = services.escalate(opened(more[3]), to_team="security", reason=TEXT, severity=3, actor=agent)
        services.claim_escalation(worked, actor=boss)

        # 5. A campaign: another customer's incident shares the attacker's address.
        linked = opened(customers[4], severity=3)
        services.add_indicators_from_log(linked, log_text=f"{TEXT} 185.220.101.7", actor=agent)
        verification.send_code(linked, identified_by="account_reference", actor=agent)  # a code is pending
    # A failed email (its error is shown, and can be retried); outside the block, once it was sent.
    linked.customer_updates.filter(template="acknowledgement").update(status="failed", last_error=TEXT)
    with django_capture_on_commit_callbacks(execute=True):
        dismissed = Campaign.objects.create(
            status=CampaignStatus.DISMISSED, decided_by=boss, decided_at=timezone.now(), decision_reason=TEXT
        )
        CampaignMember.objects.create(campaign=dismissed, incident=unconfirmed, reason=TEXT[:500], matched_ip="8.8.8.8")
        suspected = Campaign.objects.create(created_by=boss)
        CampaignMember.objects.create(campaign=suspected, incident=done, reason=TEXT[:500], matched_ip="8.8.4.4")
        AllowedNetwork.objects.create(network="198.51.100.0/24", label=NAME[:120])
        # A changed email of record: the address history and the notice to the old address.
        # Its open incident shows the hold: a code to the previous address, or a supervisor's override.
        moved = CustomerFactory(display_name=NAME)
        opened(moved)
        change_customer(moved, actor=boss, email="new.address@example.org", reason=TEXT)
        SlaAlert.objects.create(
            key="hostile-alert", clock="claim", kind="breached", team="tier2", incident=busy, due_at=timezone.now()
        )
        # Sign-in attempts are typed by whoever is at the sign-in page: the admin shows them.
        _filled(AccessAttempt, ip_address="203.0.113.9", failures_since_start=3)
        _filled(AccessFailureLog, ip_address="203.0.113.9")
        _filled(AccessLog, ip_address="203.0.113.9")
    return {"boss": boss, "agent": agent, "tier2": tier2, "busy": busy, "done": done, "customers": customers}


def _filled(model, **fixed):
    """A row of `model` with TEXT in every free-text field (cut to its length)."""
    from django.db import models as m

    values = {}
    for field in model._meta.concrete_fields:
        if isinstance(field, m.CharField | m.TextField) and not field.choices and field.name not in fixed:
            values[field.name] = TEXT[: field.max_length] if field.max_length else TEXT
    return model.objects.create(**values, **fixed)


# --- Every URL, with real ids ----------------------------------------------------------------------


def walk(patterns=None, namespace=None):
    """(name, pattern) of every routed view, admin included."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            ns = ":".join(filter(None, [namespace, pattern.namespace])) or None
            yield from walk(pattern.url_patterns, ns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), pattern


def _kwarg_names(pattern) -> list[str]:
    if hasattr(pattern.pattern, "converters"):
        names = list(pattern.pattern.converters)
        if names:
            return names
    return list(pattern.pattern.regex.groupindex)


def _admin_object(name: str):
    """admin:incidents_customer_change -> the first Customer."""
    if name == "admin:auth_user_password_change":
        name = "admin:accounts_user_password_change"  # UserAdmin names it after auth, whatever the model
    match = re.fullmatch(r"admin:(\w+?)_(\w+?)_(change|delete|history|password_change)", name)
    if not match:
        return None
    for label, model_name in [(match.group(1), match.group(2))]:
        try:
            model = apps.get_model(label, model_name)
        except LookupError:
            continue
        return model._default_manager.order_by("pk").first()
    return None


def urls_with_ids(world) -> dict[str, str]:
    """Every named URL reversed with ids of real objects; names of URLs that cannot be (no object)
    map to None so the caller can fail on them."""
    from breaches.models import BreachObligation
    from campaigns.models import Campaign
    from incidents.models import Escalation
    from notifications.models import CustomerUpdate

    busy = world["busy"]
    ids = {
        "pk": busy.pk,
        "indicator_pk": busy.indicators.order_by("pk").first().pk,
        "update_pk": busy.customer_updates.order_by("pk").first().pk,
        "obligation_pk": (BreachObligation.objects.filter(breach__incident=busy).order_by("pk").first() or busy).pk,
        "team": "tier2",
    }
    special_pk = {
        "campaigns:campaign-detail": Campaign.objects.order_by("pk").first(),
        "campaigns:campaign-confirm": Campaign.objects.filter(status="suspected").first() or Campaign.objects.first(),
        "campaigns:campaign-dismiss": Campaign.objects.filter(status="suspected").first() or Campaign.objects.first(),
        "campaigns:campaign-merge": Campaign.objects.filter(status="suspected").first() or Campaign.objects.first(),
        "incidents:escalation-claim": Escalation.objects.filter(status="open").first(),
        "incidents:escalation-return": Escalation.objects.filter(status="open").first(),
        "incidents:escalation-resolve": Escalation.objects.filter(status="open").first(),
        "incidents:customer-detail": busy.customer,
        "accounts:agent-end-sessions": world["agent"],
        "accounts:agent-reset-2fa": world["agent"],
    }
    urls = {}
    for name, pattern in walk():
        if name in urls:
            continue  # a later pattern with the same name never answers (admin:login)
        kwargs = {}
        for arg in _kwarg_names(pattern):
            if arg == "pk" and name in special_pk:
                kwargs[arg] = special_pk[name].pk
            elif arg in ids:
                kwargs[arg] = ids[arg]
            elif arg == "app_label":
                kwargs[arg] = "incidents"
            elif arg in ("object_id", "id"):
                obj = _admin_object(name)
                kwargs[arg] = obj.pk if obj is not None else None
            elif arg == "content_type_id":
                from django.contrib.contenttypes.models import ContentType

                kwargs[arg] = ContentType.objects.get_for_model(CustomerUpdate).pk
            else:
                kwargs[arg] = None
        if None in kwargs.values() and name != "admin:view_on_site":
            urls[name] = None
            continue
        if name == "admin:view_on_site":
            kwargs = {"content_type_id": kwargs["content_type_id"], "object_id": busy.customer_updates.first().pk}
        if name == "admin:app_list":
            kwargs = {"app_label": "incidents"}
        urls[name] = reverse(name, kwargs=kwargs)
    return urls


# --- What hostile text must never do in a page ------------------------------------------------------

_ISOLATING = {"bdi"}
_NO_MARKUP_INSIDE = {"option", "title", "textarea", "script", "style"}  # elements that hold text only


class _PageChecker(HTMLParser):
    def __init__(self, *, names_isolated: bool):
        super().__init__(convert_charrefs=True)
        self.names_isolated = names_isolated
        self.open = dict.fromkeys(_ISOLATING | _NO_MARKUP_INSIDE, 0)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "bulwarkxss":
            self.problems.append("an element typed by a person became markup")
        for name, value in attrs:
            if name in HOSTILE_ATTRIBUTES:
                self.problems.append(f"attribute {name}= injected into <{tag}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"javascript: URL in <{tag} {name}>")
        if tag in self.open:
            self.open[tag] += 1

    def handle_endtag(self, tag):
        if self.open.get(tag):
            self.open[tag] -= 1

    def handle_data(self, data):
        if self.open["script"] and "x()" in data:
            self.problems.append("typed text inside a <script>")
        if "javascript:x()" in data and "{{ 7|add:1 }}" not in data and "add:1" not in data:
            self.problems.append(f"template syntax in typed text was evaluated: {data[:80]!r}")
        if (
            self.names_isolated
            and NAME_MARK in data.replace(f"\u2068{NAME_MARK}", "")  # FSI ... PDI: isolated as text
            and not self.open["bdi"]
            and not any(self.open[tag] for tag in _NO_MARKUP_INSIDE)
        ):
            self.problems.append(f"a name shown without isolation: {data.strip()[:60]!r}")


def page_problems(html: str, *, names_isolated: bool = True) -> list[str]:
    checker = _PageChecker(names_isolated=names_isolated)
    checker.feed(html)
    checker.close()
    return sorted(set(checker.problems))
