from __future__ import annotations

from django.contrib import admin

from civicgrid.accounts.scope import ScopedAdminMixin
from civicgrid.notifications.models import Notification, Subscription


@admin.register(Notification)
class NotificationAdmin(ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("created_at", "channel", "recipient", "address_masked", "subject", "status", "attempts")
    list_filter = ("channel", "status")
    search_fields = ("subject", "dedupe_key")
    readonly_fields = [f.name for f in Notification._meta.fields if f.name != "address_cipher"]
    exclude = ("address_cipher",)

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("created_at", "user", "address_masked", "channel", "case", "area_code")
    list_filter = ("channel",)
    raw_id_fields = ("user", "case")
    exclude = ("address_cipher", "address_digest")
