from django.contrib import admin

from tongxin.ledger.models import Account, Entry, LedgerTransaction


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger is append-only: the admin shows it but cannot add, change or delete rows."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["name", "unit", "kind", "community", "balance"]
    list_filter = ["unit", "kind"]
    search_fields = ["name"]


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ["pk", "unit", "kind", "memo", "value_date", "created_by"]
    list_filter = ["unit", "kind"]


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ["pk", "transaction", "account", "amount", "value_date"]
