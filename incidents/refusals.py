"""What the incident page says when an action is refused: which action, why, and what was typed.

Every refused form of the incident page (a step action, a note, an escalation, a satellite's
panel form) comes back with its reason in a notice at the top of the page, next to the name of
the action the agent took. The form itself is shown where it belongs, with its errors next to its
fields, when the page shows it at the incident's current stage; when it does not (a stale tab:
the step moved on, the escalation was claimed) the notice carries what the agent typed, read-only,
so nothing is lost.

The HTTP status says what kind of refusal it was: 400 for input the form does not accept, 409 when
the incident's state refuses the move (the wrong step, a stale version), 403 for a role.
"""

from django.utils.translation import gettext_lazy as _

# What the agent was doing, as the notice names it: "Not saved: <action>".
ACTIONS = {
    "change_form": _("Record an unauthorized change"),
    "not_confirmed_form": _("Close as not confirmed"),
    "reopen_form": _("Reopen the incident"),
    "advance_form": _("Complete this step"),
    "send_code_form": _("Send a one-time code"),
    "send_code_override_form": _("Send the code to an address on hold"),
    "check_code_form": _("Check the caller's code"),
    "override_form": _("Override caller verification"),
    "securing_form": _("Record securing steps"),
    "findings_form": _("Save findings"),
    "log_form": _("Find IP addresses in log lines"),
    "verdicts_form": _("Save verdicts"),
    "escalate_form": _("Escalate"),
    "restrict_form": _("Change who may see the incident"),
    "no_escalation_form": _("Record that no escalation is needed"),
    "progress_form": _("Send a progress update"),
    "note_form": _("Add a note"),
    "resolution_form": _("Resolve and send the final email"),
    "return_form": _("Hand the escalation back"),
    "outcome_form": _("Resolve the escalation"),
    "claim": _("Claim the escalation"),
    "retry": _("Send a failed email again"),
    "breach_form": _("Record a personal-data breach"),
    "met_form": _("Record a notification duty as made"),
}


def _holds_escalation(context) -> bool:
    user, active = context["user"], context.get("active_escalation")
    return bool(
        active is not None
        and active.status == "claimed"
        and (active.claimed_by_id == user.pk or context.get("is_supervisor"))
    )


# Where the incident page shows each form (the same conditions as its templates).
_SHOWN = {
    "change_form": lambda i, c: i.is_open and i.stage == "confirm",
    "not_confirmed_form": lambda i, c: i.is_open and i.stage == "confirm" and not c.get("changes"),
    "reopen_form": lambda i, c: not i.is_open and c.get("is_supervisor"),
    "advance_form": lambda i, c: i.is_open and i.stage != "post_incident",
    "send_code_form": lambda i, c: i.is_open and not c.get("caller_verified"),
    "send_code_override_form": lambda i, c: i.is_open and not c.get("caller_verified") and c.get("is_supervisor"),
    "check_code_form": lambda i, c: i.is_open and not c.get("caller_verified") and c.get("pending_code"),
    "override_form": lambda i, c: i.is_open and not c.get("caller_verified") and c.get("is_supervisor"),
    "securing_form": lambda i, c: i.is_open and i.stage == "secure",
    "findings_form": lambda i, c: i.is_open and i.stage == "investigate",
    "log_form": lambda i, c: i.is_open,
    "verdicts_form": lambda i, c: i.is_open and c.get("indicators"),
    "escalate_form": lambda i, c: i.is_open and c.get("active_escalation") is None,
    "restrict_form": lambda i, c: c.get("can_restrict"),
    "no_escalation_form": lambda i, c: i.is_open and i.stage == "escalate",
    "progress_form": lambda i, c: i.is_open and i.stage == "communicate",
    "note_form": lambda i, c: True,
    "resolution_form": lambda i, c: i.is_open and i.stage == "post_incident",
    "return_form": lambda i, c: _holds_escalation(c),
    "outcome_form": lambda i, c: _holds_escalation(c),
}


def shown_in_place(form_name: str, incident, context: dict) -> bool:
    """Whether the page shows this form at the incident's current state (satellite forms: yes)."""
    shown = _SHOWN.get(form_name)
    return bool(shown(incident, context)) if shown else True


def typed(form) -> list[tuple[str, str]]:
    """(label, text) of every text the agent typed into a bound form."""
    if form is None or not form.is_bound:
        return []
    kept = []
    for field in form.visible_fields():
        value = form.data.get(form.add_prefix(field.name), "")
        if isinstance(value, str) and value.strip() and field.widget_type in ("textarea", "text", "email"):
            kept.append((field.label, value))
    return kept


def messages_of(form) -> list[str]:
    """Every error of the form, a field's error prefixed with the field's label."""
    if form is None:
        return []
    found = [str(error) for error in form.non_field_errors()]
    for name, errors in form.errors.items():
        if name == "__all__":
            continue
        field = form.fields.get(name)
        label = form[name].label if field is not None else name.replace("_", " ").capitalize()
        if field is not None and field.widget.is_hidden:
            found.extend(str(error) for error in errors)
            found.append(str(_("The page was out of date: reload it and try again.")))
        else:
            found.extend(f"{label}: {error}" for error in errors)
    return found


def refusal(form_name: str, form, incident, context: dict, *, reason: str = "") -> dict:
    """The notice of one refused action (see the module docstring)."""
    in_place = shown_in_place(form_name, incident, context) if form is not None else False
    return {
        "action": ACTIONS.get(form_name, _("Your last action")),
        "messages": [reason] if reason else messages_of(form),
        "in_place": in_place,
        "typed": [] if in_place else typed(form),
    }


def on_own_page(form_name: str, form) -> dict | None:
    """The notice of a refused form on a page of its own (a preview): the form is on it."""
    if not form.errors:
        return None
    return {"action": ACTIONS.get(form_name, _("Your last action")), "messages": messages_of(form), "in_place": True}
