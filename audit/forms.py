from django import forms
from django.contrib.auth import get_user_model

from core.widgets import OneQueryModelChoiceField, PlainSelect

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
    incident = forms.IntegerField(min_value=1, max_value=_BIGINT_MAX, required=False, label="Incident id")
    customer = forms.IntegerField(min_value=1, max_value=_BIGINT_MAX, required=False, label="Customer id")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.IntegerField(min_value=1, max_value=_BIGINT_MAX, required=False, widget=forms.HiddenInput)

    def clean_date_to(self):
        end = self.cleaned_data.get("date_to")
        if end is not None and end.year >= 9999:
            raise forms.ValidationError("Enter a date before the year 9999.")
        return end

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
            "customer_id": data.get("customer"),
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }
