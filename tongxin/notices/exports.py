"""The receipt list of a notice as .xlsx: one row per household, streamed from the database in pk order
(openpyxl's write-only mode keeps memory flat). Names and addresses only: no phone, no id number."""

from __future__ import annotations

import io
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core import audit, policy
from tongxin.core.exports import append
from tongxin.core.models import AuditLog
from tongxin.notices.choices import EventType, ReceiptChannel, ReceiptStatus
from tongxin.notices.coverage import receipts_for
from tongxin.notices.models import Notice, NoticeEvent
from tongxin.regions.models import Region

CHUNK = 5000


def headers(notice: Notice) -> list[str]:
    base = [
        _("小区"),
        _("楼栋"),
        _("单元"),
        _("房号"),
        _("户主"),
        _("回执"),
        _("方式"),
        _("时间"),
        _("记录人"),
    ]
    return base + [f["label"] for f in notice.reply_fields or []]


def rows(user: Any, notice: Notice) -> Any:
    statuses = dict(ReceiptStatus.choices)
    channels = dict(ReceiptChannel.choices)
    qs = receipts_for(user, notice).order_by("pk")
    names: dict[int, str] = {}
    last = 0
    keys = [f["key"] for f in notice.reply_fields or []]
    while True:
        batch = list(
            qs.filter(pk__gt=last).values_list(
                "pk",
                "estate_id",
                "building_id",
                "entrance_id",
                "dwelling__number",
                "household__head__name",
                "status",
                "channel",
                "at",
                "recorded_by__display_name",
                "recorded_by__username",
                "reply",
            )[:CHUNK]
        )
        if not batch:
            return
        missing = {i for r in batch for i in r[1:4]} - set(names)
        names.update(Region.objects.filter(pk__in=missing).values_list("pk", "name"))
        for pk, e, b, u, number, head, status, channel, at, by_name, by_user, reply in batch:
            when = timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else ""
            answers = [(reply or {}).get(k, "") for k in keys]
            yield [
                names.get(e, ""),
                names.get(b, ""),
                names.get(u, ""),
                number,
                head or "",
                str(statuses.get(status, status)),
                str(channels.get(channel, "")),
                when,
                by_name or by_user or "",
                *answers,
            ]
            last = pk


@transaction.atomic
def export_receipts(user: Any, notice: Notice) -> tuple[bytes, str]:
    import openpyxl

    policy.require(user, "notices.export_receipts", notice)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(_("回执清单"))
    append(ws, headers(notice))
    n = 0
    for row in rows(user, notice):
        append(ws, row)
        n += 1
    out = io.BytesIO()
    wb.save(out)
    NoticeEvent.objects.create(notice=notice, type=EventType.EXPORTED, actor=user, payload={"rows": n})
    audit.record(AuditLog.Action.EXPORT, notice, actor=user, after={"export": "receipts", "rows": n})
    return out.getvalue(), f"{notice.title[:30]}-回执-{timezone.localdate():%Y%m%d}.xlsx"
