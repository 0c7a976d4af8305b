"""Residents, households and their history in dwellings, and care tags.

Personal values are never stored in clear: see :mod:`tongxin.core.pii`. ``*_masked`` is what every page shows;
``*_hash`` finds a person by exact value; ``*_last4`` serves the "last 4 digits" search.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.people.choices import Gender, IdKind, Relation, ResidenceStatus, ResidentStatus, TagSensitivity
from tongxin.people.querysets import HouseholdQuerySet, ResidentQuerySet


class Tag(models.Model):
    code = models.SlugField(_("代码"), max_length=30, unique=True)
    name = models.CharField(_("名称"), max_length=30)
    sensitivity = models.CharField(
        _("敏感级别"),
        max_length=10,
        choices=TagSensitivity.choices,
        default=TagSensitivity.ORDINARY,
        help_text=_("敏感、受限标签仅居民名册的管理角色可见（见 docs/access.md）"),
    )

    class Meta:
        verbose_name = _("人员标签")
        verbose_name_plural = _("人员标签")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_sensitive(self) -> bool:
        return self.sensitivity != TagSensitivity.ORDINARY


class Household(models.Model):
    """The people living in one dwelling. Ending a household keeps it, with its members' history."""

    dwelling = models.ForeignKey(
        "regions.Dwelling", on_delete=models.PROTECT, related_name="households", verbose_name=_("房屋")
    )
    head = models.ForeignKey(
        "people.Resident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("户主"),
    )
    number = models.CharField(_("户号"), max_length=30, blank=True)
    started_on = models.DateField(_("入住日期"), default=timezone.localdate)
    ended_on = models.DateField(_("迁出日期"), null=True, blank=True)

    objects = HouseholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("家庭")
        verbose_name_plural = _("家庭")
        indexes = [models.Index(fields=["dwelling", "ended_on"])]

    def __str__(self) -> str:
        return f"{self.dwelling_id}户" if not self.head_id else f"{self.head}户"

    @property
    def is_current(self) -> bool:
        return self.ended_on is None


class Resident(models.Model):
    name = models.CharField(_("姓名"), max_length=50)  # indexed in Meta (prefix search, covering)
    id_kind = models.CharField(_("证件类型"), max_length=10, choices=IdKind.choices, default=IdKind.ID_CARD)
    id_number_enc = models.TextField(blank=True, editable=False)
    id_number_hash = models.CharField(max_length=64, blank=True, editable=False)
    id_number_masked = models.CharField(_("证件号码"), max_length=30, blank=True, editable=False)
    id_last4 = models.CharField(max_length=4, blank=True, editable=False)  # exact match only: index in Meta
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    phone_enc = models.TextField(blank=True, editable=False)
    phone_hash = models.CharField(
        max_length=64, blank=True, editable=False
    )  # exact match only: index in Meta
    phone_masked = models.CharField(_("联系电话"), max_length=20, blank=True, editable=False)
    phone_last4 = models.CharField(
        max_length=4, blank=True, editable=False
    )  # exact match only: index in Meta
    residence_status = models.CharField(
        _("人口类型"), max_length=12, choices=ResidenceStatus.choices, default=ResidenceStatus.REGISTERED
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=ResidentStatus.choices, default=ResidentStatus.ACTIVE
    )  # index in Meta
    dwelling = models.ForeignKey(
        "regions.Dwelling",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="residents",
        verbose_name=_("现住房屋"),
        db_index=False,  # covering index in Meta
    )
    household = models.ForeignKey(
        Household,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="residents",
        verbose_name=_("家庭"),
    )
    relation = models.CharField(_("与户主关系"), max_length=12, choices=Relation.choices, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="residents", verbose_name=_("标签"))
    skills = models.CharField(_("特长"), max_length=200, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resident",
        verbose_name=_("账号"),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ResidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        ordering = ["id"]
        # Search indexes (docs/bench/search.md). On PostgreSQL ``db_index`` on a CharField makes two indexes
        # (plain and ``_like``); one pattern-ops index per column does for exact matches and prefixes, and every
        # index costs the 1M-row import (docs/bench/import.md). Name prefix (``LIKE '王%'``) needs the pattern-ops
        # index; it and the dwelling index carry ``status`` and ``dwelling_id`` so the capped count of a broad
        # search (a surname, an estate) and the scope join read no table rows (index-only scan).
        indexes = [
            models.Index(
                fields=["name"],
                name="resident_name_prefix",
                opclasses=["varchar_pattern_ops"],
                include=["status", "dwelling"],
            ),
            models.Index(fields=["dwelling"], name="resident_dwelling", include=["status"]),
            # varchar_pattern_ops also serves "=", and compares bytes: a plain b-tree on a varchar compares with
            # the database collation (strcoll), which made these indexes twice as costly to fill on import.
            models.Index(fields=["id_last4"], name="resident_id_last4", opclasses=["varchar_pattern_ops"]),
            models.Index(
                fields=["phone_last4"], name="resident_phone_last4", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(
                fields=["phone_hash"], name="resident_phone_hash", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["status"], name="resident_status", opclasses=["varchar_pattern_ops"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_hash"],
                condition=~models.Q(id_number_hash=""),
                name="resident_unique_id_number",
                opclasses=["varchar_pattern_ops"],
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def age(self) -> int | None:
        if not self.birth_date:
            return None
        today = timezone.localdate()
        b = self.birth_date
        return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


class Membership(models.Model):
    """A resident's stay in a household: moving in and out is recorded, never deleted."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="memberships")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="memberships")
    relation = models.CharField(_("与户主关系"), max_length=12, choices=Relation.choices)
    moved_in_on = models.DateField(_("迁入日期"), default=timezone.localdate)
    moved_out_on = models.DateField(_("迁出日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("入住记录")
        verbose_name_plural = _("入住记录")
        ordering = ["moved_in_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["resident"],
                condition=models.Q(moved_out_on__isnull=True),
                name="membership_one_current",
            )
        ]

    def __str__(self) -> str:
        return f"{self.resident_id}@{self.household_id}"
