from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from tongxin.core.models import ApiToken, AuditLog, ImportJob, User


@admin.register(User)
class TongxinUserAdmin(UserAdmin):
    list_display = ("username", "display_name", "phone_masked", "is_staff", "is_active", "locked_until")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("同心", {"fields": ("display_name", "phone_masked", "failed_logins", "locked_until")}),
    )
    readonly_fields = ("phone_masked",)


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Read-only: the audit log cannot be edited or deleted, not even by a superuser."""

    list_display = ("at", "actor", "action", "object_type", "object_id", "field", "ip")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "object_repr")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = (
        "kind",
        "original_name",
        "status",
        "created_by",
        "created_at",
        "processed_rows",
        "total_rows",
    )
    readonly_fields = [f.name for f in ImportJob._meta.fields]
