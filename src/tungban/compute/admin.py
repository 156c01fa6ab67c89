"""Compute accounts in the Django admin (issue 20, part B): the officers' view of every
account's limit (the platform's and the one on the scheduler), usage, dates, state and last
error, the jobs imported from the scheduler's accounting and the usage import's state. Read-only:
limits change through the services (the subsidy app's decisions), which keep the ledger of
changes and queue the scheduler's side; "retry" queues provisioning again."""

from django.contrib import admin
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tungban.core.admin_kit import ReadOnlyAdmin as ReadOnly

from . import services
from .models import Account, AccountUser, Job, LimitChange, SyncState


class LimitChangeInline(admin.TabularInline):
    model = LimitChange
    fields = readonly_fields = ("created_at", "old_gpu_minutes", "new_gpu_minutes", "counterpart", "reason")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class AccountUserInline(admin.TabularInline):
    """The account's scheduler users and their state (the secretariat sees them here)."""

    model = AccountUser
    fields = readonly_fields = ("name", "state", "state_reason", "last_error", "changed_by", "updated_at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnly):
    list_display = (
        "name", "kind", "owner", "state", "limit_gpu_minutes", "applied_limit_gpu_minutes", "used",
        "starts_on", "ends_on", "last_error",
    )  # fmt: skip
    list_filter = ("state", "kind")
    search_fields = ("name", "owner")
    inlines = [LimitChangeInline, AccountUserInline]
    actions = ["retry"]

    @admin.display(description=_("used (GPU-minutes)"))
    def used(self, obj):
        return services.used_gpu_minutes(obj.name)

    @admin.action(description=_("Provision the selected accounts again"), permissions=["view"])
    def retry(self, request, queryset):
        with transaction.atomic():
            for account in queryset.select_for_update():
                services._schedule(account)


@admin.register(Job)
class JobAdmin(ReadOnly):
    list_display = (
        "cluster",
        "job_id",
        "account",
        "user",
        "state",
        "reason",
        "gpus",
        "gpu_seconds",
        "started_at",
        "ended_at",
    )
    list_filter = ("state", "cluster")
    search_fields = ("job_id", "account", "user")


@admin.register(SyncState)
class SyncStateAdmin(ReadOnly):
    list_display = ("name", "state", "last_started_at", "last_synced_at", "records", "attempts", "last_error")


@admin.register(AccountUser)
class AccountUserAdmin(ReadOnly):
    list_display = ("name", "account", "state", "state_reason", "attempts", "last_error", "changed_by", "updated_at")
    list_filter = ("state",)
    search_fields = ("name", "account__name")
