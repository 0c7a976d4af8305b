"""Shared base: the user account, the append-only audit log and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person who signs in: staff, grid worker, member, department liaison or resident.

    What a user may see is decided by their role assignments (``regions.RoleAssignment``), never by flags here.
    """

    display_name = models.CharField(_("姓名"), max_length=50, blank=True)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    phone_masked = models.CharField(_("手机号"), max_length=20, blank=True)
    failed_logins = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()


class AuditQuerySet(models.QuerySet["AuditLog"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionDenied("the audit log cannot be edited")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionDenied("the audit log cannot be deleted")


class AuditLog(models.Model):
    """Who did what to which record, when, from where, with the values before and after. Append-only."""

    class Action(models.TextChoices):
        CREATE = "create", _("新增")
        UPDATE = "update", _("修改")
        DELETE = "delete", _("删除")
        REVEAL = "reveal", _("查看明文")
        IMPORT = "import", _("导入")
        EXPORT = "export", _("导出")
        LOGIN = "login", _("登录")
        TRANSITION = "transition", _("状态变更")
        ARCHIVE = "archive", _("归档")

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        "core.User",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("操作人"),
    )
    action = models.CharField(_("操作"), max_length=20, choices=Action.choices)
    object_type = models.CharField(_("对象类型"), max_length=60)
    object_id = models.CharField(_("对象编号"), max_length=40, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    field = models.CharField(_("字段"), max_length=60, blank=True)
    before = models.JSONField(_("修改前"), null=True, blank=True)
    after = models.JSONField(_("修改后"), null=True, blank=True)
    ip = models.GenericIPAddressField(_("来源IP"), null=True, blank=True)
    # Tamper evidence (tongxin.core.audit): each row's hash covers its content and the previous row's hash.
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    hash = models.CharField(max_length=64, blank=True, editable=False)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type}#{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionDenied("the audit log cannot be edited")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionDenied("the audit log cannot be deleted")


class ApiToken(models.Model):
    """A bearer token for API clients. Only a hash is stored; the key is shown once when created."""

    user = models.ForeignKey("core.User", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=100)
    prefix = models.CharField(max_length=8, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("API令牌")
        verbose_name_plural = _("API令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, user: User, name: str) -> tuple[ApiToken, str]:
        key = secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=key[:8], key_hash=cls.hash_key(key))
        return token, key


def private_storage() -> Any:
    """Files that only the app reads (uploaded imports): under ``PRIVATE_ROOT``, outside ``MEDIA_ROOT``, no URL."""
    from django.core.files.storage import FileSystemStorage

    class PrivateStorage(FileSystemStorage):
        # read the setting on every use (tests and deployments may change it after import)
        @property  # type: ignore[override]
        def base_location(self) -> str:
            from django.conf import settings

            return str(settings.PRIVATE_ROOT)

        @property  # type: ignore[override]
        def location(self) -> str:
            import os

            return os.path.abspath(self.base_location)

        # Owner only: nginx's user is in the app's group so that it can read the uploads it is handed by
        # X-Accel-Redirect (docs/deploy.md), and must not read these.
        @property  # type: ignore[override]
        def file_permissions_mode(self) -> int:
            return 0o600

        @property  # type: ignore[override]
        def directory_permissions_mode(self) -> int:
            return 0o700

        def url(self, name: str | None) -> str:
            raise ValueError("private files have no URL")

    return PrivateStorage()


class ImportJob(models.Model):
    """A registry import (一表) run in the background; nothing is written unless every row is valid."""

    class Status(models.TextChoices):
        PENDING = "pending", _("排队中")
        RUNNING = "running", _("处理中")
        FAILED = "failed", _("校验未通过")
        DONE = "done", _("已完成")
        ERROR = "error", _("系统错误")

    kind = models.CharField(_("导入类型"), max_length=20)
    # Kept outside MEDIA_ROOT (never served by URL) and deleted when the import ends: it holds clear id numbers.
    file = models.FileField(_("文件"), upload_to="imports/%Y/%m/", storage=private_storage, blank=True)
    original_name = models.CharField(_("原文件名"), max_length=200)
    created_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{row, column, message}]")

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.original_name}"

    @property
    def progress(self) -> int:
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0


class Notification(models.Model):
    """One in-app message in a user's inbox (the ``inapp`` channel of :mod:`tongxin.core.notifications`)."""

    user = models.ForeignKey("core.User", on_delete=models.CASCADE, related_name="notifications")
    subject = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    link = models.CharField(_("链接"), max_length=300, blank=True)
    kind = models.CharField(_("类型"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内消息")
        verbose_name_plural = _("站内消息")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at", "created_at"], name="notification_inbox_idx")]

    def __str__(self) -> str:
        return self.subject


class MaterialisedPath(models.Model):
    """A tree node whose ``path`` (``/1/7/42/``) lists its ancestors, so a whole subtree is one indexed
    ``path LIKE '/1/7/%'`` query. Used by the region tree and the party organisation tree.

    The model must have a ``parent`` foreign key to itself. Moving a node re-roots its subtree in one UPDATE.
    """

    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        from django.db.models import F, Value
        from django.db.models.functions import Concat, Substr

        super().save(*args, **kwargs)
        manager = type(self)._default_manager
        parent_id = self.parent_id  # type: ignore[attr-defined]
        parent_path = (
            manager.filter(pk=parent_id).values_list("path", flat=True).first() if parent_id else "/"
        )
        new_path = f"{parent_path or '/'}{self.pk}/"
        if new_path == self.path:
            return
        old_path, old_depth = self.path, self.depth
        new_depth = new_path.count("/") - 2
        manager.filter(pk=self.pk).update(path=new_path, depth=new_depth)
        if old_path:
            manager.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
                depth=F("depth") + (new_depth - old_depth),
            )
        self.path, self.depth = new_path, new_depth


class NotificationPreference(models.Model):
    """A user's choice for one kind of notification on one channel (``sms``, ``wechat``). No row: the kind's
    default (:mod:`tongxin.core.notifications`). The in-app channel is always on and has no row."""

    user = models.ForeignKey("core.User", on_delete=models.CASCADE, related_name="notification_preferences")
    kind = models.CharField(_("类型"), max_length=40)
    channel = models.CharField(_("渠道"), max_length=20)
    enabled = models.BooleanField(_("接收"), default=True)

    class Meta:
        verbose_name = _("消息接收设置")
        verbose_name_plural = _("消息接收设置")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "channel"], name="notification_preference_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.channel} {self.enabled}"


class NotificationAddress(models.Model):
    """Where a user is reached outside the site: a phone for SMS (encrypted, shown masked) and a WeChat openid
    (set when the user binds the official account). A resident's phone from the registry is used when the user
    has set none here (see ``notifications.phone_provider``)."""

    user = models.OneToOneField("core.User", on_delete=models.CASCADE, related_name="notification_address")
    phone_enc = models.TextField(blank=True, editable=False)
    phone_masked = models.CharField(_("短信手机号"), max_length=20, blank=True, editable=False)
    wechat_openid = models.CharField(_("微信openid"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("消息接收地址")
        verbose_name_plural = _("消息接收地址")

    def __str__(self) -> str:
        return f"{self.user_id} {self.phone_masked}"


class Delivery(models.Model):
    """One notification sent (or tried) to one user on one channel. ``key`` is unique: kind + event (or object)
    + recipient + channel, so the same event is never sent twice, however often it is emitted or retried."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")
        SKIPPED = "skipped", _("未发送")

    key = models.CharField(max_length=64, unique=True)  # sha256 of the parts, hex
    user = models.ForeignKey("core.User", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("类型"), max_length=40, blank=True)
    channel = models.CharField(_("渠道"), max_length=20)
    event = models.CharField(_("事件"), max_length=100, blank=True)  # "case:GH2026…" or an explicit event key
    # no database constraint: notifications are partitioned by month on PostgreSQL (core/partitions.py)
    notification = models.ForeignKey(
        "core.Notification",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    address = models.CharField(_("地址"), max_length=40, blank=True)  # masked: 139****0002, wx:oAbc…
    detail = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("消息投递")
        verbose_name_plural = _("消息投递")
        indexes = [models.Index(fields=["status", "channel"], name="delivery_pending_idx")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id} [{self.channel}] {self.status}"
