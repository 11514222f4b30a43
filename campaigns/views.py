"""The campaign pages of the security team and supervisors."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
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


def _campaign_act(request, pk, form_class, form_name, call, success):
    campaign = get_object_or_404(Campaign, pk=pk)
    form = form_class(request.POST) if form_class else None
    if form is None or form.is_valid():
        try:
            result = call(campaign, form.cleaned_data if form else {})
        except PlaybookError as exc:
            if form is None:
                messages.error(request, str(exc))
                return redirect(campaign)
            form.add_error(None, str(exc))
        else:
            messages.success(request, success(result))
            return redirect(result)
    return campaign_detail(request, pk, status=400, **{form_name: form})


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
    )


def incident_banner(request, incident, bound: dict) -> dict:
    """The incident page's campaign banner (incidents.hooks.incident_page)."""
    return {"campaign_banner": selectors.campaign_banner(incident, request.user)}
