from django import forms

from incidents.forms import MAX_TEXT, RedactingForm, UniqueIdsForm, textarea

from .models import Campaign, CampaignStatus


class DismissCampaignForm(RedactingForm):
    reason = forms.CharField(
        label="Why this is not one attacker",
        max_length=MAX_TEXT,
        widget=textarea(2),
        help_text="For example a shared VPN exit or a mobile carrier's address.",
    )


class MergeCampaignForm(UniqueIdsForm):
    into = forms.CharField(label="Merge into campaign", max_length=20, help_text="Its reference, e.g. CMP-00012.")

    def clean_into(self):
        text = self.cleaned_data["into"].strip().upper().removeprefix("CMP-").removeprefix("CMP")
        if not text.isdigit() or len(text) > 12:
            raise forms.ValidationError("Enter a campaign reference like CMP-00012.")
        campaign = Campaign.objects.filter(pk=int(text)).exclude(status=CampaignStatus.MERGED).first()
        if campaign is None:
            raise forms.ValidationError("No such campaign (or it was merged into another already).")
        return campaign
