"""Thin views: parse, authorize (via selectors), call one service, render or redirect."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import background, reauth_required, role_required
from accounts.roles import RESTRICTED_ROLES, Role
from core import paging
from notifications.models import CustomerUpdate, UpdateStatus

from . import emails, forms, hooks, playbook, refusals, selectors, services, sla, verification
from . import presence as incidents_presence
from .models import Customer, Escalation, Stage, Team
from .playbook import PlaybookConflict, PlaybookError

PAGE_SIZE = 25


def dashboard(request):
    mine = selectors.incident_list(request.user, filters={"mine": True, "status": "open"})[:20]
    failed = selectors.failed_updates(request.user)
    at_risk = selectors.at_risk_incidents(request.user)
    waiting_at_risk = selectors.at_risk_escalations(request.user)
    return render(
        request,
        "incidents/dashboard.html",
        {
            "mine": mine,
            "failed_count": failed.count(),
            "failed_updates": failed[:10],
            "at_risk_count": at_risk.count(),
            "at_risk": at_risk[:10],
            "waiting_at_risk_count": waiting_at_risk.count(),
            "waiting_at_risk": waiting_at_risk[:10],
        },
    )


def incident_list(request):
    form = forms.IncidentFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = selectors.incident_list_page(
        request.user,
        filters=filters,
        older=request.GET.get("older"),
        newer=request.GET.get("newer"),
        size=PAGE_SIZE,
    )
    query = request.GET.copy()
    for key in ("older", "newer", "page"):
        query.pop(key, None)
    return render(
        request,
        "incidents/incident_list.html",
        {"form": form, "page": page, "query": query.urlencode(), "page_size": PAGE_SIZE},
    )


def incident_create(request):
    form = forms.IncidentForm(request.POST or None, initial={"customer_query": request.GET.get("customer", "")})
    already_open = []
    if request.method == "POST" and form.is_valid():
        already_open = selectors.open_incidents_of(form.customer, request.user)
    elif request.method == "GET" and request.GET.get("customer"):
        found = list(selectors.find_customers(request.GET["customer"])[:2])
        already_open = selectors.open_incidents_of(found[0], request.user) if len(found) == 1 else []
    if already_open and request.method == "POST" and not request.POST.get("open_anyway"):
        # The customer already has an open incident: say so, with a link, before opening another.
        context = {"form": form, "already_open": already_open, "confirm": True}
        return render(request, "incidents/incident_create.html", context, status=409)
    if request.method == "POST" and form.is_valid():
        incident = services.open_incident(
            customer=form.customer,
            channel=form.cleaned_data["channel"],
            summary=form.cleaned_data["summary"],
            severity=form.cleaned_data["severity"],
            actor=request.user,
        )
        _redaction_notice(request, form)
        messages.success(request, f"{incident.reference} opened; the customer was sent an acknowledgement.")
        return redirect(incident)
    status = 400 if form.errors else 200
    context = {"form": form, "already_open": already_open, "confirm": bool(already_open)}
    return render(request, "incidents/incident_create.html", context, status=status)


CUSTOMER_PAGE_SIZE = 25


def customer_list(request):
    """The customer directory: search by name, email of record or account reference."""
    query = request.GET.get("q", "").strip()[:200]
    page = selectors.customer_directory(
        query, older=request.GET.get("older"), newer=request.GET.get("newer"), size=CUSTOMER_PAGE_SIZE
    )
    return render(
        request,
        "incidents/customer_list.html",
        {"q": query, "page": page, "query": urlencode({"q": query}) if query else ""},
    )


def customer_detail(request, pk):
    customer = get_object_or_404(Customer, pk=pk)
    services.record_customer_view(customer, actor=request.user)
    incidents = list(selectors.customer_incidents(customer, request.user)[: selectors.CUSTOMER_INCIDENTS_SHOWN + 1])
    return render(
        request,
        "incidents/customer_detail.html",
        {
            "customer": customer,
            "incidents": incidents[: selectors.CUSTOMER_INCIDENTS_SHOWN],
            "more": len(incidents) > selectors.CUSTOMER_INCIDENTS_SHOWN,
            "open_count": sum(1 for incident in incidents if incident.is_open),
        },
    )


def customer_create(request):
    form = forms.NewCustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.create_customer(actor=request.user, **form.cleaned_data)
        except PlaybookError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Customer {customer.display_name} added.")
            return redirect(f"/incidents/new/?customer={customer.account_reference}")
    status = 400 if form.errors else 200
    return render(request, "incidents/customer_create.html", {"form": form}, status=status)


def incident_detail(request, pk):
    incident = selectors.incident_for_agent(pk, request.user)
    services.record_view(incident, actor=request.user)
    return _detail(request, incident)


def incident_history(request, pk):
    incident = selectors.incident_for_agent(pk, request.user)
    services.record_view(incident, actor=request.user, page="history")
    return render(
        request,
        "incidents/incident_history.html",
        {"incident": incident, "events": selectors.incident_history(incident)},
    )


def _detail(request, incident, status=200, refused=None, reason="", **bound):
    """The incident page; `bound` replaces a blank form by the one just submitted (with its errors).

    `refused` names the form of a refused action (or the action itself when it has no form): the
    page then opens with the notice of `refusals` (what was refused, why, what was typed)."""
    versioned = {"version": incident.version}
    blank = {
        "change_form": forms.ChangeForm(initial=versioned),
        "not_confirmed_form": forms.NotConfirmedForm(initial=versioned),
        "securing_form": forms.SecuringForm(
            initial={
                **versioned,
                "password_advice": incident.password_advice,
                "customer_two_factor": incident.customer_two_factor,
            }
        ),
        "findings_form": forms.FindingsForm(initial={**versioned, "findings": incident.findings}),
        "log_form": forms.LogPasteForm(),
        "escalate_form": forms.EscalateForm(initial={"severity": incident.severity, "to_team": Team.SECURITY}),
        "no_escalation_form": forms.NoEscalationForm(initial=versioned),
        "progress_form": forms.ProgressForm(),
        "note_form": forms.NoteForm(),
        "resolution_form": forms.ResolutionForm(initial=versioned),
        "send_code_form": forms.SendCodeForm(initial={"identified_by": "account_reference"}),
        "check_code_form": forms.CheckCodeForm(),
        "override_form": forms.OverrideForm(),
        "send_code_override_form": forms.SendCodeOverrideForm(initial={"identified_by": "account_reference"}),
        "reopen_form": forms.ReasonForm(),
        "return_form": forms.ReasonForm(),
        "outcome_form": forms.OutcomeForm(),
        "restrict_form": forms.RestrictForm(initial={"restricted": not incident.restricted}),
        "advance_form": forms.AdvanceForm(initial=versioned),
    }
    detail = selectors.incident_detail(incident)
    blank["verdicts_form"] = _verdicts_form(incident)  # the indicators are prefetched by now
    snippets = selectors.reply_snippets(incident)
    if snippets.get("advice") and not incident.advice_given:  # the advice in the customer's language
        blank["resolution_form"] = forms.ResolutionForm(initial={**versioned, "advice_given": snippets["advice"][0][1]})
    caller_verified = any(v.status in verification.PASSED for v in detail["verifications"])
    context = {
        "address_panel": verification.address_panel(incident) if incident.is_open and not caller_verified else None,
        "clocks": sla.incident_clocks(incident, detail["active_escalation"]),
        # Panels of the satellites (a campaign banner, the breach panel): incidents.hooks.
        **hooks.page_context(hooks.incident_page, request, incident, bound),
        "incident": incident,
        "steps": playbook.step_states(incident),
        "missing": playbook.missing_for_next(incident) if incident.is_open else [],
        "next_stage": playbook.next_stage(incident.stage),
        "caller_verified": caller_verified,
        "pending_code": next((v for v in detail["verifications"] if v.status == "pending"), None),
        "is_supervisor": request.user.has_any_role([Role.SUPERVISOR]),
        "can_restrict": request.user.has_any_role(RESTRICTED_ROLES),
        "failed_updates": sum(1 for u in detail["updates"] if u.status == UpdateStatus.FAILED),
        "snippets": snippets,
        "presence_ping": incidents_presence.PING_SECONDS,
        **detail,
        **blank,
        **bound,
    }
    if refused:
        context["refusal"] = refusals.refusal(
            refused, bound.get(refused), incident, context | {"user": request.user}, reason=reason
        )
    return render(request, "incidents/incident_detail.html", context, status=status)


def _redaction_notice(request, form):
    if getattr(form, "redactions", 0):
        messages.warning(
            request,
            f"{form.redactions} card number(s) were removed from what you typed; only the last four digits are kept. "
            "Card numbers must never be stored here: customers key them into the payment system.",
        )


def act(request, pk, form_class, form_name, call, success):
    """Run one step action for the incident: valid form -> service -> redirect; else the page with errors."""
    incident = selectors.incident_for_agent(pk, request.user)
    form = form_class(request.POST)
    status = 400  # what was typed is not accepted
    if form.is_valid():
        try:
            result = call(incident, form.cleaned_data)
        except PlaybookError as exc:
            form.add_error(None, str(exc))
            # 409: the incident's state refuses it (wrong step, stale page, taken); else incomplete.
            status = 409 if isinstance(exc, PlaybookConflict) else 400
        except PermissionDenied as exc:
            form.add_error(None, str(exc) or "Your role does not allow this.")
            status = 403
        else:
            _redaction_notice(request, form)
            if success:
                messages.success(request, success(result) if callable(success) else success)
            return redirect(incident)
    incident.refresh_from_db()
    if "version" in form.fields and form.is_bound:
        # The page now shows the incident as it is: sending the form again (after review) is a retry
        # against this version, not the stale one refused again.
        form.data = form.data.copy()
        form.data[form.add_prefix("version")] = incident.version
    return _detail(request, incident, status=status, refused=form_name, **{form_name: form})


@require_POST
def record_change(request, pk):
    return act(
        request,
        pk,
        forms.ChangeForm,
        "change_form",
        lambda i, d: services.record_unauthorized_change(
            i,
            kind=d["kind"],
            description=d["description"],
            noticed_at=d["noticed_at"],
            actor=request.user,
            expected_version=d["version"],
        ),
        "Unauthorized change recorded.",
    )


@require_POST
def close_not_confirmed(request, pk):
    return act(
        request,
        pk,
        forms.NotConfirmedForm,
        "not_confirmed_form",
        lambda i, d: services.close_not_confirmed(
            i, reason=d["reason"], actor=request.user, expected_version=d["version"]
        ),
        "Closed as not confirmed.",
    )


@require_POST
@role_required([Role.SUPERVISOR])
def reopen(request, pk):
    return act(
        request,
        pk,
        forms.ReasonForm,
        "reopen_form",
        lambda i, d: services.reopen_incident(i, reason=d["reason"], actor=request.user),
        "Incident reopened at step 1.",
    )


@require_POST
def advance(request, pk):
    return act(
        request,
        pk,
        forms.AdvanceForm,
        "advance_form",
        lambda i, d: services.advance(i, actor=request.user, expected_version=d["version"]),
        lambda incident: f"On to {Stage(incident.stage).label}.",
    )


@require_POST
def send_code(request, pk):
    return act(
        request,
        pk,
        forms.SendCodeForm,
        "send_code_form",
        lambda i, d: verification.send_code(i, identified_by=d["identified_by"], actor=request.user),
        lambda v: f"A one-time code was emailed to the address of record ({v.sent_to}). It is valid for 10 minutes.",
    )


@require_POST
def send_code_previous(request, pk):
    """The address of record is on hold: the code goes to the previous address of record."""
    return act(
        request,
        pk,
        forms.SendCodeForm,
        "send_code_form",
        lambda i, d: verification.send_code(i, identified_by=d["identified_by"], actor=request.user, to_previous=True),
        "A one-time code was emailed to the previous address of record. It is valid for 10 minutes.",
    )


@require_POST
@role_required([Role.SUPERVISOR])
@reauth_required
def send_code_override(request, pk):
    """A supervisor sends the code to the address of record although it is on hold, in writing."""
    return act(
        request,
        pk,
        forms.SendCodeOverrideForm,
        "send_code_override_form",
        lambda i, d: verification.send_code(
            i, identified_by=d["identified_by"], actor=request.user, override_reason=d["reason"]
        ),
        lambda v: (
            f"A one-time code was emailed to {v.sent_to} although the address is on hold; your reason is recorded."
        ),
    )


@require_POST
def check_code(request, pk):
    incident = selectors.incident_for_agent(pk, request.user)
    form = forms.CheckCodeForm(request.POST)
    if form.is_valid():
        result = verification.check_code(incident, code=form.cleaned_data["code"], actor=request.user)
        if result.verified:
            messages.success(request, result.message)
            return redirect(incident)
        form.add_error("code", result.message)
    return _detail(request, incident, status=400, refused="check_code_form", check_code_form=form)


@require_POST
@role_required([Role.SUPERVISOR])
@reauth_required
def override_verification(request, pk):
    return act(
        request,
        pk,
        forms.OverrideForm,
        "override_form",
        lambda i, d: verification.override(i, reason=d["reason"], actor=request.user),
        "Caller verification overridden by a supervisor; the reason is recorded.",
    )


@require_POST
def record_securing(request, pk):
    return act(
        request,
        pk,
        forms.SecuringForm,
        "securing_form",
        lambda i, d: services.record_securing(
            i,
            password_advice=d["password_advice"],
            customer_two_factor=d["customer_two_factor"],
            actor=request.user,
            expected_version=d["version"],
        ),
        "Securing steps recorded; the customer was sent the securing advice.",
    )


@require_POST
def record_findings(request, pk):
    return act(
        request,
        pk,
        forms.FindingsForm,
        "findings_form",
        lambda i, d: services.record_findings(
            i, findings=d["findings"], actor=request.user, expected_version=d["version"]
        ),
        "Findings saved.",
    )


@require_POST
def add_indicators(request, pk):
    return act(
        request,
        pk,
        forms.LogPasteForm,
        "log_form",
        lambda i, d: services.add_indicators_from_log(i, log_text=d["log_text"], actor=request.user),
        lambda created: (
            f"{len(created)} new IP address(es) found." if created else "No new IP addresses: all were listed already."
        ),
    )


def _verdicts_form(incident, data=None):
    return forms.VerdictsForm(
        data, indicators=list(incident.indicators.all()), pre_judged=playbook.PRE_JUDGED_LEGITIMATE
    )


@require_POST
def record_verdicts(request, pk):
    """Step 3: the verdicts of every address of the incident, sent as one form."""
    incident = selectors.incident_for_agent(pk, request.user)
    return act(
        request,
        pk,
        lambda data: _verdicts_form(incident, data),
        "verdicts_form",
        lambda i, d: services.set_indicator_verdicts(
            i,
            verdicts={int(name.removeprefix("verdict-")): value for name, value in d.items()},
            actor=request.user,
        ),
        lambda changed: f"{len(changed)} verdict(s) saved.",
    )


@require_POST
def escalate(request, pk):
    response = act(
        request,
        pk,
        forms.EscalateForm,
        "escalate_form",
        lambda i, d: services.escalate(
            i,
            to_team=d["to_team"],
            reason=d["reason"],
            severity=d["severity"],
            restrict=d["restrict"],
            actor=request.user,
        ),
        lambda e: f"Escalated to {e.get_to_team_display()}; the customer was told specialists are on it.",
    )
    if response.status_code == 302 and not selectors.visible_incidents(request.user).filter(pk=pk).exists():
        return redirect("incidents:dashboard")  # restricted: no longer this agent's to see
    return response


@require_POST
@role_required([Role.SECURITY, Role.SUPERVISOR])
def restrict(request, pk):
    return act(
        request,
        pk,
        forms.RestrictForm,
        "restrict_form",
        lambda i, d: services.set_restricted(i, restricted=d["restricted"], reason=d["reason"], actor=request.user),
        lambda i: "Restricted to the security team." if i.restricted else "Visible to all agents again.",
    )


@require_POST
def no_escalation(request, pk):
    return act(
        request,
        pk,
        forms.NoEscalationForm,
        "no_escalation_form",
        lambda i, d: services.decide_no_escalation(
            i, reason=d["reason"], actor=request.user, expected_version=d["version"]
        ),
        "Recorded: no escalation needed.",
    )


def progress_update(request, pk):
    """Preview the progress email in the customer's language, then send it."""
    incident = selectors.incident_for_agent(pk, request.user)
    form = forms.ProgressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        message = form.cleaned_data["message"]
        conflict = False
        if request.POST.get("action") == "send":
            try:
                services.send_progress_update(incident, message=message, actor=request.user)
            except PlaybookError as exc:
                form.add_error(None, str(exc))
                conflict = isinstance(exc, PlaybookConflict)
            else:
                _redaction_notice(request, form)
                messages.success(request, "Progress update sent to the customer.")
                return redirect(incident)
        subject, text = emails.preview(incident, "progress", emails.progress_context(incident, message=message))
        return render(
            request,
            "incidents/progress_preview.html",
            {
                "incident": incident,
                "form": form,
                "subject": subject,
                "body_text": text,
                "redactions": form.redactions,
                "refusal": refusals.on_own_page("progress_form", form),
                "snippets": selectors.reply_snippets(incident),
            },
            status=(409 if conflict else 400) if form.errors else 200,
        )
    if request.method == "GET":
        return redirect(incident)
    return _detail(request, incident, status=400, refused="progress_form", progress_form=form)


@require_POST
def add_note(request, pk):
    return act(
        request,
        pk,
        forms.NoteForm,
        "note_form",
        lambda i, d: services.add_note(i, body=d["body"], visibility=d["visibility"], actor=request.user),
        lambda note: "Message sent to the customer." if note.visibility == "customer" else "Note added.",
    )


@require_POST
def retry_update(request, pk, update_pk):
    """Send a failed customer email again."""
    incident = selectors.incident_for_agent(pk, request.user)
    update = get_object_or_404(CustomerUpdate, pk=update_pk, incident=incident)
    try:
        update = services.retry_customer_update(update, actor=request.user)
    except PlaybookError as exc:
        return _detail(request, incident, status=409, refused="retry", reason=str(exc))
    else:
        messages.success(request, f"“{update.subject}” is queued again for {update.recipient}.")
    return redirect(f"{incident.get_absolute_url()}#updates")


@require_POST
def resolve(request, pk):
    """Step 6: preview the final email (the post-incident report) in the customer's language, then send."""
    incident = selectors.incident_for_agent(pk, request.user)
    form = forms.ResolutionForm(request.POST)
    if not form.is_valid():
        return _detail(request, incident, status=400, refused="resolution_form", resolution_form=form)
    data = form.cleaned_data
    texts = {key: data[key] for key in ("resolution_summary", "measures_taken", "advice_given")}
    conflict = False
    if request.POST.get("action") == "send":  # anything else previews: nothing goes out unseen
        try:
            services.resolve_incident(incident, actor=request.user, expected_version=data["version"], **texts)
        except PlaybookError as exc:
            form.add_error(None, str(exc))
            conflict = isinstance(exc, PlaybookConflict)
        else:
            _redaction_notice(request, form)
            messages.success(request, "Resolved and closed; the customer was sent the post-incident report.")
            return redirect(incident)
    report = selectors.post_incident_report(incident, closing_at=timezone.now())
    subject, text = emails.preview(incident, "resolution", emails.resolution_context(incident, **texts, report=report))
    return render(
        request,
        "incidents/resolution_preview.html",
        {
            "incident": incident,
            "form": form,
            "subject": subject,
            "body_text": text,
            "redactions": form.redactions,
            "refusal": refusals.on_own_page("resolution_form", form),
            "snippets": selectors.reply_snippets(incident),
        },
        status=(409 if conflict else 400) if form.errors else 200,
    )


def incident_packet(request, pk):
    """The hand-off packet: the page to print, or the fragment the queue and incident page expand."""
    incident = selectors.incident_for_agent(pk, request.user)
    services.record_view(incident, actor=request.user, page="packet")
    template = "incidents/_packet.html" if request.htmx else "incidents/incident_packet.html"
    return render(request, template, {"packet": selectors.handoff_packet(incident)})


def incident_report(request, pk):
    """The post-incident report for the customer file: the final email as sent, print-styled."""
    incident = selectors.incident_for_agent(pk, request.user)
    services.record_view(incident, actor=request.user, page="report")
    sent = incident.customer_updates.filter(template="resolution").order_by("-created_at", "-pk").first()
    return render(request, "incidents/incident_report.html", {"incident": incident, "report": sent})


@require_POST
@background
def presence(request, pk):
    """The incident page's presence ping (htmx, every few seconds): records that this agent is
    here (typing, when `editing=1`), answers with who else is."""
    incident = selectors.incident_for_agent(pk, request.user)
    incidents_presence.ping(incident, request.user, editing=request.POST.get("editing") == "1")
    return render(
        request,
        "incidents/_presence.html",
        {"incident": incident, "present": incidents_presence.others(incident, request.user)},
    )


IP_PAGE_SIZE = 50


def ip_search(request):
    form = forms.IncidentFilterForm({"ip": request.GET.get("ip", "")})
    page = None
    if form.is_valid() and form.cleaned_data["ip"]:
        page = paging.keyset_page(
            selectors.incidents_with_ip(request.user, form.cleaned_data["ip"]),
            older=request.GET.get("older"),
            newer=request.GET.get("newer"),
            size=IP_PAGE_SIZE,
        )
    query = urlencode({"ip": request.GET.get("ip", "")})
    return render(request, "incidents/ip_search.html", {"form": form, "page": page, "query": query})


# --- Escalation queues -----------------------------------------------------------------------


def _queue_team(request, team: str) -> str:
    roles = selectors.QUEUE_TEAMS.get(team)
    if roles is None:
        raise Http404("No such queue.")
    if not request.user.has_any_role(roles):
        raise PermissionDenied("Your role does not give access to this queue.")
    return team


def queue(request, team):
    team = _queue_team(request, team)
    return render(request, "incidents/queue.html", {"team": Team(team), **_queue_context(team, request.user)})


@background
def queue_items(request, team):
    """The queue's table alone, polled by htmx so new escalations appear without a reload."""
    team = _queue_team(request, team)
    return render(request, "incidents/_queue_items.html", {"team": Team(team), **_queue_context(team, request.user)})


QUEUE_SHOWN = 25  # per section: the page costs the same however long the queue grows


def _queue_context(team, agent):
    return selectors.queue_sections(team, agent, shown=QUEUE_SHOWN)


def _escalation(request, pk) -> Escalation:
    escalation = get_object_or_404(Escalation.objects.select_related("incident"), pk=pk)
    selectors.incident_for_agent(escalation.incident_id, request.user)  # 404 unless visible
    return escalation


@require_POST
def claim_escalation(request, pk):
    escalation = _escalation(request, pk)
    try:
        services.claim_escalation(escalation, actor=request.user)
    except PlaybookError as exc:
        if request.POST.get("from") == "incident":
            incident = selectors.incident_for_agent(escalation.incident_id, request.user)
            return _detail(request, incident, status=409, refused="claim", reason=str(exc))
        context = {
            "team": Team(escalation.to_team),
            "refusal": {"action": refusals.ACTIONS["claim"], "messages": [str(exc)]},
        }
        return render(
            request, "incidents/queue.html", context | _queue_context(escalation.to_team, request.user), status=409
        )
    messages.success(request, f"You claimed {escalation.incident.reference}.")
    return redirect(escalation.incident)


@require_POST
def return_escalation(request, pk):
    escalation = _escalation(request, pk)
    return act(
        request,
        escalation.incident_id,
        forms.ReasonForm,
        "return_form",
        lambda i, d: services.return_escalation(escalation, reason=d["reason"], actor=request.user),
        lambda e: f"Handed back to {e.get_from_team_display()}.",
    )


@require_POST
def resolve_escalation(request, pk):
    escalation = _escalation(request, pk)
    return act(
        request,
        escalation.incident_id,
        forms.OutcomeForm,
        "outcome_form",
        lambda i, d: services.resolve_escalation(escalation, outcome=d["outcome"], actor=request.user),
        "Escalation resolved; the incident goes on with its playbook.",
    )
