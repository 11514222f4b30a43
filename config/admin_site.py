"""The admin site: django-otp's (a verified second factor for every page), refusing malformed requests."""

from functools import update_wrapper

from django.contrib.admin.exceptions import DisallowedModelAdminToField
from django.contrib.admin.options import TO_FIELD_VAR
from django_otp.admin import OTPAdminSite


class DeskAdminSite(OTPAdminSite):
    def admin_view(self, view, cacheable=False):
        """Every admin page refuses an empty `_to_field` with 400.

        Django's admin checks a `_to_field` it is given, but takes an empty one for a field name and
        fails deep inside with FieldDoesNotExist (a server error) on every change, delete and history
        page. One check here covers them all, the admin pages of other apps included.
        """
        inner = super().admin_view(view, cacheable)

        def guarded(request, *args, **kwargs):
            for data in (request.GET, request.POST if request.method == "POST" else {}):
                if TO_FIELD_VAR in data and not data[TO_FIELD_VAR]:
                    raise DisallowedModelAdminToField("An empty _to_field names no field.")
            return inner(request, *args, **kwargs)

        return update_wrapper(guarded, inner)
