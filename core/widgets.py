"""Form widgets rendered in Python, in Django's markup, for forms with many options.

Depends on Django only.
"""

from django import forms
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe


class PlainSelect(forms.Select):
    """A select rendered in Python rather than one template per option.

    Same markup as Django's select; a filter form of the lists has some 120 options (agents,
    stages, events), and one template render each made it the slowest part of those pages.
    """

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (option["value"], mark_safe(" selected") if option["selected"] else "", option["label"])
                for _group, group_options, _index in widget["optgroups"]
                for option in group_options
            ),
        )
        return format_html('<select name="{}"{}>{}</select>', widget["name"], flatatt(widget["attrs"]), options)


class PlainInputOptions:
    """Checkboxes or radio buttons rendered in Python rather than three templates per option, in
    Django's markup. The incident page has some on every form (note visibility, how the caller
    identified the account, jurisdictions...). Grouped choices fall back to Django's templates."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        if any(group for group, _options, _index in widget["optgroups"]):
            return super().render(name, value, attrs, renderer)
        boxes = format_html_join(
            "",
            '<div>\n    <label{}><input type="{}" name="{}"{}{}>\n {}</label>\n\n</div>',
            (
                (
                    format_html(' for="{}"', option["attrs"]["id"]) if option["attrs"].get("id") else "",
                    option["type"],
                    option["name"],
                    format_html(' value="{}"', option["value"]) if option["value"] is not None else "",
                    _attrs(option["attrs"]),
                    option["label"],
                )
                for _group, options, _index in widget["optgroups"]
                for option in options
            ),
        )
        outer = widget["attrs"]
        return format_html(
            "<div{}{}>{}\n</div>",
            format_html(' id="{}"', outer["id"]) if outer.get("id") else "",
            format_html(' class="{}"', outer["class"]) if outer.get("class") else "",
            boxes,
        )


class PlainCheckboxSelectMultiple(PlainInputOptions, forms.CheckboxSelectMultiple):
    pass


class PlainRadioSelect(PlainInputOptions, forms.RadioSelect):
    pass


def _attrs(attrs: dict) -> str:
    """Django's widgets/attrs.html: False left out, True as a bare name, anything else as text."""
    return format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
            for name, value in attrs.items()
            if value is not False
        ),
    )


class OneQueryChoiceIterator(ModelChoiceIterator):
    """The choices of a select of rows, read with one ordinary query.

    Django's own iterator reads with `queryset.iterator()`, which on PostgreSQL is a server-side
    cursor (DECLARE ... WITH HOLD, FETCH, CLOSE): extra round trips, and a copy of the result, on
    every page that shows the filter, for a list of a few dozen rows (the agents, say).
    """

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for row in self.queryset.all():
            yield self.choice(row)


class OneQueryModelChoiceField(forms.ModelChoiceField):
    """A select of rows, read with one ordinary query and rendered in Python."""

    iterator = OneQueryChoiceIterator
    widget = PlainSelect
