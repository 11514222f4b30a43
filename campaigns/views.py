"""The campaign pages of the security team and supervisors."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.access import role_required
from accounts.roles import CAMPAIGN_ROLES
from incidents.playbook import PlaybookError

from . import forms, selectors, services
from .models import Campaign, CampaignStatus

PAGE_SIZE = 25


@role_required(CAMPAIGN_ROLES)
def campaign_list(request):
    status = request.GET.get("status", "")
    status = status if status in CampaignStatus.values else ""
    page = Paginator(selectors.campaign_list(status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "campaigns/campaign_list.html",
        {"page": page, "status": status, "statuses": CampaignStatus.choices},
    )


@role_required(CAMPAIGN_ROLES)
def campaign_detail(request, pk, status=200, **bound):
    context = {
        **selectors.campaign_detail(pk),
        "dismiss_form": forms.DismissCampaignForm(),
        "merge_form": forms.MergeCampaignForm(),
        **bound,
    }
    return render(request, "campaigns/campaign_detail.html", context, status=status)


def _campaign_act(request, pk, form_class, form_name, call, success, label):
    campaign = get_object_or_404(Campaign, pk=pk)
    form = form_class(request.POST) if form_class else None
    status = 400  # what was typed is not accepted
    reasons = []
    if form is None or form.is_valid():
        try:
            result = call(campaign, form.cleaned_data if form else {})
        except PlaybookError as exc:
            status = 409  # the campaign's state refuses it
            reasons = [str(exc)]
            if form is not None:
                form.add_error(None, str(exc))
        else:
            messages.success(request, success(result))
            return redirect(result)
    if form is not None:
        reasons = [str(e) for e in form.non_field_errors()] + [
            f"{form[name].label}: {e}" for name, errors in form.errors.items() if name != "__all__" for e in errors
        ]
    refusal = {"action": label, "messages": reasons, "in_place": form is not None}
    bound = {form_name: form} if form_name else {}
    return campaign_detail(request, pk, status=status, refusal=refusal, **bound)


@require_POST
@role_required(CAMPAIGN_ROLES)
def campaign_confirm(request, pk):
    return _campaign_act(
        request,
        pk,
        None,
        None,
        lambda c, d: services.confirm_campaign(c, actor=request.user),
        lambda c: f"{c.reference} confirmed; its open incidents are with the security team.",
        _("Confirm the campaign"),
    )


@require_POST
@role_required(CAMPAIGN_ROLES)
def campaign_dismiss(request, pk):
    return _campaign_act(
        request,
        pk,
        forms.DismissCampaignForm,
        "dismiss_form",
        lambda c, d: services.dismiss_campaign(c, reason=d["reason"], actor=request.user),
        lambda c: f"{c.reference} dismissed: it escalates nothing more.",
        _("Dismiss the campaign"),
    )


@require_POST
@role_required(CAMPAIGN_ROLES)
def campaign_merge(request, pk):
    return _campaign_act(
        request,
        pk,
        forms.MergeCampaignForm,
        "merge_form",
        lambda c, d: services.merge_campaigns(c, into=d["into"], actor=request.user),
        lambda into: f"Merged into {into.reference}.",
        _("Merge into another campaign"),
    )


def incident_banner(request, incident, bound: dict) -> dict:
    """The incident page's campaign banner (incidents.hooks.incident_page)."""
    return {"campaign_banner": selectors.campaign_banner(incident, request.user)}
