"""One form per step. Free text is redacted (card numbers) in clean(), to count them for the agent's notice
(the model fields redact whatever is stored, whichever way it is written); forms have no side effects."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from accounts.forms import AgentChoiceField
from core.fields import reject_card_numbers
from core.redaction import redact
from core.widgets import PlainRadioSelect, PlainSelect

from .models import (
    ChangeKind,
    Channel,
    CustomerTwoFactor,
    Language,
    NoteVisibility,
    PasswordAdvice,
    Severity,
    Stage,
    Status,
    Team,
    Verdict,
    validate_time_zone,
)
from .selectors import find_customers, ip_query
from .verification import IDENTIFIED_BY

MAX_TEXT = 5000


class UniqueIdsForm(forms.Form):
    """Many forms share the incident page: field ids carry the form's name so labels stay unique."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"id_{type(self).__name__.removesuffix('Form').lower()}_%s")
        super().__init__(*args, **kwargs)


class RedactingForm(UniqueIdsForm):
    """Replaces card numbers in every text field before anyone stores them; counts them for a notice."""

    redactions = 0

    def clean(self):
        cleaned = super().clean()
        for name, value in cleaned.items():
            if isinstance(value, str):
                cleaned[name], found = redact(value)
                self.redactions += found
        return cleaned


class VersionedForm(RedactingForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


def textarea(rows=4, **attrs):
    return forms.Textarea(attrs={"rows": rows, **attrs})


class IncidentForm(RedactingForm):
    customer_query = forms.CharField(
        label="Customer (email of record or account reference)",
        max_length=254,
        help_text="Stage 1 of caller verification: the caller names the account.",
    )
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.PHONE)
    severity = forms.TypedChoiceField(choices=Severity.choices, coerce=int, initial=Severity.MEDIUM)
    summary = forms.CharField(
        max_length=MAX_TEXT, widget=textarea(3), help_text="What the customer reports, in a few words."
    )

    def clean_customer_query(self):
        query = self.cleaned_data["customer_query"]
        customers = list(find_customers(query)[:2])
        if not customers:
            raise forms.ValidationError("No customer has that email of record or account reference.")
        if len(customers) > 1:
            raise forms.ValidationError("Several customers share that email: ask for the account reference.")
        self.customer = customers[0]
        return query


class NewCustomerForm(RedactingForm):
    display_name = forms.CharField(max_length=120)
    # An address or a reference with a card number in it is refused, never redacted into a broken one.
    email = forms.EmailField(label="Email of record", validators=[reject_card_numbers])
    account_reference = forms.CharField(max_length=64, validators=[reject_card_numbers])
    language = forms.ChoiceField(choices=Language.choices)
    time_zone = forms.CharField(
        max_length=64,
        required=False,
        validators=[validate_time_zone],
        help_text=_("IANA name, e.g. Europe/Oslo, for the times in their emails. Empty: the zone of their language."),
    )


class SendCodeForm(UniqueIdsForm):
    identified_by = forms.ChoiceField(
        label="The caller identified the account by", choices=list(IDENTIFIED_BY.items()), widget=PlainRadioSelect
    )


class CheckCodeForm(UniqueIdsForm):
    code = forms.CharField(
        label="Code the caller reads back",
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class SendCodeOverrideForm(RedactingForm):
    identified_by = forms.ChoiceField(
        label="The caller identified the account by", choices=list(IDENTIFIED_BY.items()), widget=PlainRadioSelect
    )
    reason = forms.CharField(
        label="Why the code may go to this address although it is on hold", max_length=MAX_TEXT, widget=textarea(3)
    )


class OverrideForm(RedactingForm):
    reason = forms.CharField(
        label="Why the caller is trusted without the code", max_length=MAX_TEXT, widget=textarea(3)
    )


class ChangeForm(VersionedForm):
    kind = forms.ChoiceField(label="What changed", choices=ChangeKind.choices, widget=PlainSelect)
    description = forms.CharField(
        max_length=MAX_TEXT, widget=textarea(3), help_text="What exactly, as the customer describes it."
    )
    noticed_at = forms.DateTimeField(
        label="Noticed at",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="When the customer noticed it (optional).",
    )


class NotConfirmedForm(VersionedForm):
    reason = forms.CharField(label="Why nothing unauthorized happened", max_length=MAX_TEXT, widget=textarea(3))


class SecuringForm(VersionedForm):
    password_advice = forms.ChoiceField(
        label="Password change (strong and unique)",
        choices=[c for c in PasswordAdvice.choices if c[0]],
        widget=PlainRadioSelect,
    )
    customer_two_factor = forms.ChoiceField(
        label="Two-factor authentication on the customer's account",
        choices=[c for c in CustomerTwoFactor.choices if c[0]],
        widget=PlainRadioSelect,
    )


class FindingsForm(VersionedForm):
    findings = forms.CharField(
        max_length=MAX_TEXT * 4, widget=textarea(6), help_text="What the activity logs show, in your words."
    )


class LogPasteForm(RedactingForm):
    log_text = forms.CharField(
        label="Paste activity-log lines",
        max_length=200_000,
        widget=textarea(6, spellcheck="false"),
        help_text="Every IPv4 and IPv6 address in the text becomes an indicator to judge.",
    )


class VerdictsForm(UniqueIdsForm):
    """Step 3: one verdict field per address of the incident (`verdict-<id>`), saved together.

    A pending address of a private, loopback, link-local or documentation range is offered as
    legitimate (it can be changed before saving)."""

    CHOICES = [("", _("Choose…")), *[c for c in Verdict.choices if c[0] != Verdict.PENDING]]

    def __init__(self, *args, indicators=(), pre_judged=frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = []
        for indicator in indicators:
            name = f"verdict-{indicator.pk}"
            suggested = indicator.verdict == Verdict.PENDING and indicator.scope in pre_judged
            initial = (
                Verdict.LEGITIMATE if suggested else ("" if indicator.verdict == Verdict.PENDING else indicator.verdict)
            )
            self.fields[name] = forms.ChoiceField(
                label=_("Verdict for %(ip)s") % {"ip": indicator.ip},
                choices=self.CHOICES,
                required=False,
                initial=initial,
                widget=PlainSelect(attrs={"id": name}),
            )
            self.rows.append((indicator, name, suggested))

    def bound_rows(self):
        """(indicator, bound field, suggested) for the template's table."""
        return [(indicator, self[name], suggested) for indicator, name, suggested in self.rows]

    def verdicts(self) -> dict[int, str]:
        return {indicator.pk: self.cleaned_data[name] for indicator, name, _ in self.rows}


class EscalateForm(RedactingForm):
    to_team = forms.ChoiceField(
        label="Escalate to", choices=[(Team.TIER2, "Tier 2"), (Team.SECURITY, "Security team")], widget=PlainSelect
    )
    severity = forms.TypedChoiceField(choices=Severity.choices, coerce=int, widget=PlainSelect)
    reason = forms.CharField(
        max_length=MAX_TEXT, widget=textarea(3), help_text="What the receiving team must know first."
    )
    restrict = forms.BooleanField(
        label="Restrict to the security team",
        required=False,
        help_text="Tier 1 and tier 2 will no longer see this incident (for example an insider case).",
    )


class RestrictForm(RedactingForm):
    restricted = forms.BooleanField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(label="Why", max_length=MAX_TEXT, widget=textarea(2))


class NoEscalationForm(VersionedForm):
    reason = forms.CharField(label="Why no escalation is needed", max_length=MAX_TEXT, widget=textarea(3))


class ReasonForm(RedactingForm):
    reason = forms.CharField(max_length=MAX_TEXT, widget=textarea(3))


class OutcomeForm(RedactingForm):
    outcome = forms.CharField(label="What the team found and did", max_length=MAX_TEXT, widget=textarea(3))


class ProgressForm(RedactingForm):
    message = forms.CharField(
        label="Progress update for the customer",
        max_length=MAX_TEXT,
        widget=textarea(4),
        help_text="Shown inside the standard update email, in the customer's language frame. Preview before sending.",
    )


class NoteForm(RedactingForm):
    body = forms.CharField(label="Note", max_length=MAX_TEXT, widget=textarea(3))
    visibility = forms.ChoiceField(
        choices=NoteVisibility.choices, initial=NoteVisibility.INTERNAL, widget=PlainRadioSelect
    )


class ResolutionForm(VersionedForm):
    resolution_summary = forms.CharField(label="How it was resolved", max_length=MAX_TEXT, widget=textarea(3))
    measures_taken = forms.CharField(
        label="Measures taken to secure the account", max_length=MAX_TEXT, widget=textarea(3)
    )
    advice_given = forms.CharField(
        label="Advice for the customer",
        max_length=MAX_TEXT,
        widget=textarea(3),
        initial="Update your password regularly, use a unique password for every service, and never share your sign-in details or codes with anyone, including us.",
    )


class AdvanceForm(UniqueIdsForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class IncidentFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
    ip = forms.CharField(label="IP or network", required=False, max_length=64)
    stage = forms.ChoiceField(choices=[("", "Any stage"), *Stage.choices], required=False, widget=PlainSelect)
    status = forms.ChoiceField(choices=[("", "Any status"), *Status.choices], required=False, widget=PlainSelect)
    severity = forms.TypedChoiceField(
        choices=[("", "Any severity"), *Severity.choices],
        coerce=int,
        required=False,
        empty_value=None,
        widget=PlainSelect,
    )
    team = forms.ChoiceField(choices=[("", "Any team"), *Team.choices], required=False, widget=PlainSelect)
    assignee = AgentChoiceField(queryset=None, required=False, empty_label="Any assignee")
    mine = forms.BooleanField(label="Assigned to me", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = get_user_model().objects.filter(is_active=True).order_by("full_name")

    def clean_ip(self):
        text = self.cleaned_data["ip"].strip()
        if text:
            try:
                ip_query(text)
            except ValueError as exc:
                raise forms.ValidationError(
                    str(exc)
                    if "4,096" in str(exc) or "zone" in str(exc)
                    else "Enter an IPv4 or IPv6 address, or a network like 203.0.113.0/24."
                ) from exc
        return text
