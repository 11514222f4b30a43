from django.contrib import admin

from accounts.adminkit import ReadOnlyAdmin

from .models import CustomerUpdate


@admin.register(CustomerUpdate)
class CustomerUpdateAdmin(ReadOnlyAdmin):
    list_display = ("incident", "template", "language", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "template", "language")
    list_select_related = ("incident",)
