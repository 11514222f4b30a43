from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from core.widgets import OneQueryModelChoiceField, PlainSelect

from . import lookups
from .models import AuditAction

_BIGINT_MAX = 2**63 - 1


class AgentChoiceField(OneQueryModelChoiceField):
    def label_from_instance(self, obj):
        return obj.email


class AuditFilterForm(forms.Form):
    """The viewer's filters; the export uses the same form, so it exports what the page shows."""

    actor = AgentChoiceField(
        queryset=get_user_model().objects.order_by("email"), required=False, empty_label="Anyone", label="Agent"
    )
    action = forms.ChoiceField(
        choices=[("", "Any event"), *AuditAction.choices], required=False, label="Event", widget=PlainSelect
    )
    incident = forms.CharField(
        max_length=32, required=False, label=_("Incident"), help_text=_("Reference, e.g. INC-000004")
    )
    customer = forms.CharField(
        max_length=254, required=False, label=_("Customer"), help_text=_("Account reference or email of record")
    )
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}))
    include_views = forms.BooleanField(
        required=False,
        label=_("Show “viewed” entries"),
        help_text=_("Who opened which incident: hidden unless asked for, or chosen as the event."),
    )
    before = forms.IntegerField(min_value=1, max_value=_BIGINT_MAX, required=False, widget=forms.HiddenInput)

    def clean_date_to(self):
        end = self.cleaned_data.get("date_to")
        if end is not None and end.year >= 9999:
            raise forms.ValidationError("Enter a date before the year 9999.")
        return end

    def clean_incident(self):
        text = self.cleaned_data["incident"].strip()
        if not text:
            return None
        found = lookups.incident_id(text)
        if found is None or found > _BIGINT_MAX:
            raise forms.ValidationError(_("Enter an incident reference such as INC-000004."))
        return found

    def clean_customer(self):
        text = self.cleaned_data["customer"].strip()
        if not text:
            return None
        found = lookups.resolve_customer(text)
        if not found or any(pk > _BIGINT_MAX for pk in found):
            raise forms.ValidationError(_("No customer has that account reference or email of record."))
        return found

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filters(self) -> dict:
        """The cleaned filters, without the page position, as the selectors take them."""
        data = self.cleaned_data
        return {
            "actor_id": data["actor"].pk if data.get("actor") else None,
            "action": data.get("action") or None,
            "incident_id": data.get("incident"),
            "customer_ids": data.get("customer"),
            "hide_views": not data.get("include_views")
            and data.get("action") not in (AuditAction.INCIDENT_VIEWED, AuditAction.CUSTOMER_VIEWED),
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }
