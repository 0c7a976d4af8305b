"""Admin for reference data (categories, policies, holidays) and read-mostly views of cases.

Cases change only through :mod:`tongxin.cases.services`, so the case admin is read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tongxin.cases import holidays_cn
from tongxin.cases.choices import HolidaySource
from tongxin.cases.models import Case, CaseEvent, Category, DeadlinePolicy, Holiday, WhistleCall


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "code",
        "respond_within",
        "on_site_within",
        "plan_within",
        "resolve_within",
        "basis",
    )


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "service_code", "parent", "handler_kind", "policy", "active", "sort_order")
    list_filter = ("handler_kind", "active")
    search_fields = ("name", "service_code")
    filter_horizontal = ("handlers",)
    raw_id_fields = ("parent",)


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    """Overrides of the State Council table: a row saved here is the admin's (``sync_holidays`` keeps it)."""

    list_display = ("date", "kind", "name", "source")
    list_filter = ("kind", "source")
    date_hierarchy = "date"
    exclude = ("source",)
    actions = ["sync_from_notices"]

    def save_model(self, request: HttpRequest, obj: Holiday, form: Any, change: bool) -> None:
        obj.source = HolidaySource.ADMIN
        super().save_model(request, obj, form, change)

    @admin.action(description=_("按国务院通知同步节假日（保留管理员修改）"))
    def sync_from_notices(self, request: HttpRequest, queryset: Any) -> None:
        counts = holidays_cn.sync()
        self.message_user(
            request,
            _("新增 %(created)d，更新 %(updated)d，移除 %(removed)d，保留 %(kept)d") % counts,
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    fields = ("at", "type", "actor", "from_state", "to_state", "payload")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = (
        "number",
        "title",
        "channel",
        "category",
        "state",
        "supervision",
        "community",
        "submitted_at",
    )
    list_filter = ("state", "channel", "supervision", "category")
    search_fields = ("number",)
    list_select_related = ("category", "community")
    exclude = ("contact_phone_enc", "contact_phone_hash")
    inlines = [CaseEventInline]


@admin.register(WhistleCall)
class WhistleCallAdmin(ReadOnlyAdmin):
    list_display = ("case", "department", "whistled_at", "report_by", "reported_at", "late", "rating")
    list_filter = ("department", "late")
    list_select_related = ("case", "department")
