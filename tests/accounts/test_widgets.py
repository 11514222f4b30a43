"""Widgets rendered in Python: the markup is exactly Django's own."""

import pytest
from django import forms

from core.widgets import PlainCheckboxSelectMultiple, PlainRadioSelect

CHOICES = [("DE", "Germany"), ("EU", "EU <GDPR> & co"), ("NO", 'Norway "NO"')]


@pytest.mark.parametrize("value", [None, [], ["EU"], ["DE", "NO"]])
@pytest.mark.parametrize("attrs", [None, {"id": "id_jurisdictions"}, {"id": "id_j", "class": "boxes"}])
def test_plain_checkboxes_render_the_markup_of_djangos_checkboxes(value, attrs):
    django_markup = forms.CheckboxSelectMultiple(choices=CHOICES).render("jurisdictions", value, attrs)
    assert PlainCheckboxSelectMultiple(choices=CHOICES).render("jurisdictions", value, attrs) == django_markup


def test_plain_checkboxes_leave_grouped_choices_to_django():
    grouped = [("Europe", [("DE", "Germany"), ("NO", "Norway")])]
    django_markup = forms.CheckboxSelectMultiple(choices=grouped).render("j", ["NO"], {"id": "id_j"})
    assert PlainCheckboxSelectMultiple(choices=grouped).render("j", ["NO"], {"id": "id_j"}) == django_markup


@pytest.mark.parametrize("value", [None, "", "EU", "NO"])
def test_plain_radio_buttons_render_the_markup_of_djangos_radio_buttons(value):
    django_markup = forms.RadioSelect(choices=CHOICES).render("identified_by", value, {"id": "id_identified_by"})
    assert PlainRadioSelect(choices=CHOICES).render("identified_by", value, {"id": "id_identified_by"}) == django_markup
