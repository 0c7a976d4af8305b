"""Stored category-suggestion models and the staff feedback they learn from."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SuggestionModel(models.Model):
    """One trained version of the category classifier (NumPy .npz, loaded without pickle).

    Kept in the database so every app server uses the same model; the newest row wins.
    """

    created_at = models.DateTimeField(_("训练时间"), default=timezone.now)
    blob = models.BinaryField(_("模型"))
    examples = models.PositiveIntegerField(_("样本数"), default=0)
    classes = models.PositiveIntegerField(_("类别数"), default=0)
    features = models.PositiveIntegerField(_("特征数"), default=0)
    train_seconds = models.FloatField(_("训练耗时(秒)"), default=0)

    class Meta:
        verbose_name = _("类别推荐模型")
        verbose_name_plural = _("类别推荐模型")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"v{self.pk} ({self.examples})"


class CategoryFeedback(models.Model):
    """Staff confirmed or corrected a suggested category: training data for the next model."""

    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("工单"),
    )
    text = models.TextField(_("诉求内容"), blank=True)
    suggested = models.JSONField(_("推荐类别"), default=list, blank=True)
    chosen = models.ForeignKey(
        "cases.Category", on_delete=models.CASCADE, related_name="+", verbose_name=_("确定类别")
    )
    corrected = models.BooleanField(_("已纠正"), default=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("类别确认/纠正")
        verbose_name_plural = _("类别确认/纠正")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.chosen_id} ({'corrected' if self.corrected else 'confirmed'})"
