from django.contrib import admin

from tongxin.notices.models import LeaderAssignment, Notice, NoticeEvent


@admin.register(LeaderAssignment)
class LeaderAssignmentAdmin(admin.ModelAdmin):
    list_display = ["role", "resident", "place", "floor", "cadre", "started_on", "ended_on"]
    list_filter = ["role", "cadre"]
    raw_id_fields = ["resident", "place", "grid", "assigned_by"]


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ["title", "state", "target", "audience", "households", "sent_at"]
    list_filter = ["state", "audience"]
    raw_id_fields = ["origin", "target", "target_grid", "author"]
    readonly_fields = ["state", "sent_at", "closed_at", "households"]


@admin.register(NoticeEvent)
class NoticeEventAdmin(admin.ModelAdmin):
    list_display = ["at", "notice", "type", "actor"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
