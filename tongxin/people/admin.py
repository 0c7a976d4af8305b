from django.contrib import admin

from tongxin.people.models import Household, Membership, Resident, Tag


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "sensitivity")


@admin.register(Resident)
class ResidentAdmin(admin.ModelAdmin):
    """Configuration view: personal values appear masked only; edits go through the staff UI and services."""

    list_display = ("name", "id_number_masked", "phone_masked", "residence_status", "status")
    list_filter = ("residence_status", "status")
    search_fields = ("name", "id_last4", "phone_last4")
    readonly_fields = ("id_number_masked", "phone_masked")
    raw_id_fields = ("dwelling", "household", "user")
    exclude = ("id_number_enc", "id_number_hash", "phone_enc", "phone_hash")


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ("id", "dwelling", "head", "started_on", "ended_on")
    raw_id_fields = ("dwelling", "head")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("resident", "household", "relation", "moved_in_on", "moved_out_on")
    raw_id_fields = ("resident", "household")
