"""What every page of the Django admin shares: it is a door to the services, or read-only.

`ServiceAdmin` is the base of an admin whose saves and deletions call a service (which writes the
chained audit entry): its forms open only after a fresh confirmation of the supervisor, and a
refusal by the service comes back as a message on the page, never a server error.
`ReadOnlyAdmin` (and `read_only()` for the admins other packages register) shows records and
changes nothing: no add, change, delete, or bulk action.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from .access import reauth_required


class ReadOnlyAdmin(admin.ModelAdmin):
    actions = ()

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def read_only(model) -> None:
    """Replace the admin registered for `model` by a read-only copy of it (same lists and filters)."""
    if not admin.site.is_registered(model):
        return
    original = type(admin.site.get_model_admin(model))
    admin.site.unregister(model)
    locked = type(f"ReadOnly{original.__name__}", (ReadOnlyAdmin, original), {"actions": ()})
    admin.site.register(model, locked)


class ServiceAdmin(admin.ModelAdmin):
    """Saves through a service: subclasses override save_model (and delete_model/delete_queryset)."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return reauth_required(self._guarded_changeform_view)(request, object_id, form_url, extra_context)

    def _guarded_changeform_view(self, request, object_id, form_url, extra_context):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            return self._refused(request, exc)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            return self._refused(request, exc)

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except ValidationError as exc:
            return self._refused(request, exc)

    def _refused(self, request, exc: ValidationError):
        self.message_user(request, "Nothing was saved: " + " ".join(exc.messages), messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def save_related(self, request, form, formsets, change):
        # Many-to-many values go through the service in save_model; only inline formsets are left.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
