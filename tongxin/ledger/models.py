"""The one double-entry ledger beneath the red bank of hours (volunteers) and the points of the shop (points).

:class:`Account` holds one balance in one unit; :class:`LedgerTransaction` is a movement of balanced
:class:`Entry` rows. Transactions and entries are append-only, in the ORM and in the database (triggers, see
:mod:`tongxin.core.db`); corrections are reversals. The rules of posting are in :mod:`tongxin.ledger.services`.

The tables keep the names they had when the ledger lived in the volunteers app (``volunteers_account`` …): the
move to this app changed the code, not the data (migration ``ledger/0001_initial``).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.core.db import AppendOnlyModel
from tongxin.ledger.choices import AccountKind, TransactionKind, Unit


class Account(models.Model):
    """One balance in one unit (hours or points) held by a person, a household, a community or a unit.

    ``balance`` is a cache of the sum of the account's entries, kept in the same database transaction as the
    entries; :func:`tongxin.ledger.services.check_balances` recomputes it.
    """

    unit = models.CharField(_("单位"), max_length=8, choices=Unit.choices)
    kind = models.CharField(_("账户类型"), max_length=10, choices=AccountKind.choices)
    resident = models.ForeignKey(
        "people.Resident", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_accounts"
    )
    household = models.ForeignKey(
        "people.Household", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_accounts"
    )
    co_building_unit = models.ForeignKey(
        "party.CoBuildingUnit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
    )
    # Where the account lives, for scoping: the community always, the dwelling for persons and households.
    community = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="ledger_accounts", verbose_name=_("社区")
    )
    dwelling = models.ForeignKey(
        "regions.Dwelling", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("户名"), max_length=100)
    balance = models.DecimalField(_("余额"), default=Decimal("0"), max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "volunteers_account"
        verbose_name = _("账户")
        verbose_name_plural = _("账户")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "resident"], condition=models.Q(kind="person"), name="account_one_per_person"
            ),
            models.UniqueConstraint(
                fields=["unit", "household"],
                condition=models.Q(kind="household"),
                name="account_one_per_household",
            ),
            models.UniqueConstraint(
                fields=["unit", "community"],
                condition=models.Q(kind="community"),
                name="account_one_per_community",
            ),
            models.UniqueConstraint(
                fields=["unit", "co_building_unit", "community"],
                condition=models.Q(kind="unit"),
                name="account_one_per_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_unit_display()})"


class LedgerTransaction(AppendOnlyModel):
    """A movement: balanced entries (their amounts sum to zero). Never edited; corrected by a reversal."""

    unit = models.CharField(_("单位"), max_length=8, choices=Unit.choices)
    kind = models.CharField(_("类型"), max_length=10, choices=TransactionKind.choices, db_index=True)
    idempotency_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    memo = models.CharField(_("摘要"), max_length=200, blank=True)
    value_date = models.DateField(_("记账日期"), default=timezone.localdate, db_index=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    community = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )

    class Meta:
        db_table = "volunteers_ledgertransaction"
        verbose_name = _("交易")
        verbose_name_plural = _("交易")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.memo}"


class Entry(AppendOnlyModel):
    """One leg of a transaction on one account: positive credits, negative debits."""

    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount = models.DecimalField(_("金额"), max_digits=14, decimal_places=2)
    kind = models.CharField(max_length=10, choices=TransactionKind.choices)  # copied from the transaction
    value_date = models.DateField(_("记账日期"))  # copied from the transaction, for statements

    class Meta:
        db_table = "volunteers_entry"
        verbose_name = _("分录")
        verbose_name_plural = _("分录")
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "value_date"], name="entry_account_date")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount:+}"
