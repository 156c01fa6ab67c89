"""Committees in the Django admin (issue 20, part E): an administrator keeps the committees,
their criteria and members (the bundled ones come from ``tungban load_committee``). Meetings,
items, conflicts, scores and minutes are read-only here: they change only through
:mod:`.services` (recusal, decisions with reasons, minutes frozen at close)."""

from django.contrib import admin

from .models import AgendaItem, Committee, Conflict, Criterion, Meeting, Member, Minutes


class CriterionInline(admin.TabularInline):
    model = Criterion
    extra = 0


class MemberInline(admin.TabularInline):
    model = Member
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Committee)
class CommitteeAdmin(admin.ModelAdmin):
    list_display = ("code", "name_en", "name_zh")
    inlines = [CriterionInline, MemberInline]


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Meeting)
class MeetingAdmin(ReadOnly):
    list_display = ("batch_label", "committee", "held_on", "state")
    list_filter = ("state",)


@admin.register(AgendaItem)
class AgendaItemAdmin(ReadOnly):
    list_display = ("meeting", "position", "kind", "subject_id", "outcome", "decided_at")


@admin.register(Conflict)
class ConflictAdmin(ReadOnly):
    list_display = ("item", "member", "severity", "status", "source")
    list_filter = ("severity", "status")


@admin.register(Minutes)
class MinutesAdmin(ReadOnly):
    list_display = ("meeting", "digest", "frozen_at")
    exclude = ("pdf",)
