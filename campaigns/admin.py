from django.contrib import admin

from incidents.admin import SettingAdmin

from .models import AllowedNetwork


@admin.register(AllowedNetwork)
class AllowedNetworkAdmin(SettingAdmin):
    """The desk-wide allow list campaign detection skips (a customer's office, our own VPN)."""

    list_display = ("network", "label", "added_by", "created_at")
    search_fields = ("network", "label")
    readonly_fields = ("added_by", "created_at")
