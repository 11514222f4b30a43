"""Personal-data breach pages: marking a breach and recording its duties (on the incident page),
and the breach report."""

from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import role_required
from accounts.roles import BREACH_ROLES
from core.dates import DateRangeForm, day_range
from incidents import views as incident_views
from incidents.selectors import incident_for_agent, visible_incidents

from . import forms, services
from .models import BreachObligation


@require_POST
@role_required(BREACH_ROLES)
def mark_breach(request, pk):
    return incident_views.act(
        request,
        pk,
        forms.DataBreachForm,
        "breach_form",
        lambda i, d: services.mark_data_breach(
            i,
            aware_at=d["aware_at"],
            jurisdictions=d["jurisdictions"],
            high_risk=d["high_risk"],
            description=d["description"],
            actor=request.user,
        ),
        lambda b: f"Recorded as a personal-data breach: {b.obligations.count()} notification duties with deadlines.",
    )


@require_POST
@role_required(BREACH_ROLES)
def obligation_met(request, pk, obligation_pk):
    incident = incident_for_agent(pk, request.user)
    obligation = get_object_or_404(BreachObligation, pk=obligation_pk, breach__incident=incident)
    return incident_views.act(
        request,
        pk,
        forms.ObligationMetForm,
        "met_form",
        lambda i, d: services.record_obligation_met(
            obligation, met_at=d["met_at"], how=d["how"], note=d["note"], actor=request.user
        ),
        lambda o: f"“{o.rule.title}” recorded as made{' (late)' if o.outcome == 'late' else ''}.",
    )


@role_required(BREACH_ROLES)
def breach_report(request):
    form = DateRangeForm(request.GET or None)
    since = until = None
    if request.GET and form.is_valid():
        since, until = day_range(form.cleaned_data["start"], form.cleaned_data["end"])
    rows = services.breach_report(since, until, incidents=visible_incidents(request.user))
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "breaches/breach_report.html", {"form": form, "breaches": rows}, status=status)


def incident_panel(request, incident, bound: dict) -> dict:
    """The incident page's breach panel (incidents.hooks.incident_page): the breach, its duties and
    their forms; a just-submitted duty form stays with its duty."""
    can_breach = request.user.has_any_role(BREACH_ROLES)
    met_form = bound.get("met_form")
    panel = services.breach_detail(incident)
    panel["can_breach"] = can_breach
    panel["duties"] = [
        (duty, met_form if met_form is not None and met_form.obligation_pk == duty.pk else forms.ObligationMetForm(initial={"obligation": duty.pk}))
        for duty in panel["obligations"]
    ]  # fmt: skip
    if can_breach:
        breach = panel["breach"]
        initial = {"high_risk": False}
        if breach is not None:
            initial = {
                "aware_at": timezone.localtime(breach.aware_at),
                "jurisdictions": breach.jurisdictions,
                "high_risk": breach.high_risk,
                "description": breach.description,
            }
        panel["breach_form"] = forms.DataBreachForm(initial=initial)
    return panel
