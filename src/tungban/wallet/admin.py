from django.contrib import admin

from .models import ApprovalRequest, Device, ReleaseRecord


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("id", "resident", "platform", "status", "bound_at")
    list_filter = ("platform", "status")
    readonly_fields = [f.name for f in Device._meta.fields]


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "requester_id", "status", "created_at")
    list_filter = ("kind", "status")
    readonly_fields = [f.name for f in ApprovalRequest._meta.fields]


@admin.register(ReleaseRecord)
class ReleaseRecordAdmin(admin.ModelAdmin):
    list_display = ("resident", "requester_id", "kind", "released_at")
    readonly_fields = [f.name for f in ReleaseRecord._meta.fields]
