from django import forms

from core.widgets import PlainCheckboxSelectMultiple
from incidents.forms import MAX_TEXT, RedactingForm, textarea

from .models import MetHow
from .services import jurisdiction_choices


class DataBreachForm(RedactingForm):
    aware_at = forms.DateTimeField(
        label="Aware since",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="When the organization became aware of the personal-data breach (local time). Deadlines run from here.",
    )
    jurisdictions = forms.MultipleChoiceField(
        label="Jurisdictions involved", widget=PlainCheckboxSelectMultiple, choices=()
    )
    high_risk = forms.BooleanField(
        label="High risk to the people affected", required=False, help_text="Then they must be told as well."
    )
    description = forms.CharField(
        label="What personal data, whose", required=False, max_length=MAX_TEXT, widget=textarea(3)
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["jurisdictions"].choices = jurisdiction_choices()


class ObligationMetForm(RedactingForm):
    obligation = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    met_at = forms.DateTimeField(
        label="Made at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    how = forms.ChoiceField(label="How", choices=MetHow.choices)
    note = forms.CharField(
        label="Note", max_length=MAX_TEXT, widget=textarea(2), help_text="What was sent, to whom, reference number."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Several of these share the incident page: ids carry the duty they close.
        # Only digits reach the ids: the posted value is whatever a client sent.
        self.auto_id = f"id_met{self.obligation_pk or ''}_%s"

    @property
    def obligation_pk(self) -> int | None:
        value = self.data.get("obligation") if self.is_bound else self.initial.get("obligation")
        return int(value) if str(value or "").isdigit() else None
