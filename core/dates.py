"""Ranges of whole days in the desk's time zone: the form that asks for one, and its bounds."""

from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone


class DateRangeForm(forms.Form):
    """A range of whole days, bounded (the metrics, the breach report)."""

    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}))

    EARLIEST = date(2000, 1, 1)

    @staticmethod
    def latest() -> date:
        return timezone.localdate() + timedelta(days=365)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        # Bounded so the day after `end` exists (9999-12-31 + 1 day overflows) and nobody asks
        # the database about centuries without incidents.
        latest = self.latest()
        if any(day is not None and not self.EARLIEST <= day <= latest for day in (start, end)):
            raise forms.ValidationError(f"Choose dates between {self.EARLIEST.isoformat()} and {latest.isoformat()}.")
        if start and end:
            if end < start:
                raise forms.ValidationError("The end date is before the start date.")
            if (end - start).days > 366 * 2:
                raise forms.ValidationError("Choose a range of at most two years.")
        return cleaned


def day_range(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, day after end 00:00) in the desk's time zone, as aware datetimes."""
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(datetime.combine(start, time.min), tz),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz),
    )
