"""The result sheet and ballot list of a vote for public posting (公示): .xlsx (openpyxl, write-only) and PDF
(reportlab). Names and flat numbers only — no phone, no id number."""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import gettext as _

from tongxin.assembly import services
from tongxin.assembly.choices import Channel, Choice
from tongxin.assembly.models import Elector, Vote
from tongxin.core.exports import append
from tongxin.core.pdf import CJK_FONT, cjk_font

FONT = CJK_FONT  # embedded subset (tongxin.core.pdf)


def sheet_rows(vote: Vote) -> list[list[str]]:
    r = vote.result if vote.result else services.tally(vote).as_dict()
    labels = dict(Choice.choices)
    rows = [[_("项目"), _("面积(㎡)"), _("人数")]]
    for c in Choice.values:
        rows.append([str(labels[c]), r["area"][c], r["heads"][c]])
    rows.append([_("未投票"), r["not_voted_area"], str(r["not_voted_heads"])])
    rows.append([_("参与表决"), r["participating_area"], str(r["participating_heads"])])
    rows.append([_("总计"), r["total_area"], str(r["total_heads"])])
    return rows


def verdict(vote: Vote) -> list[str]:
    r = vote.result if vote.result else services.tally(vote).as_dict()
    yes, no = _("达到"), _("未达到")
    return [
        _("参与表决（法定人数）：面积%(a)s，人数%(h)s")
        % {"a": yes if r["quorum_area_met"] else no, "h": yes if r["quorum_heads_met"] else no},
        _("同意票：面积%(a)s，人数%(h)s")
        % {"a": yes if r["agree_area_met"] else no, "h": yes if r["agree_heads_met"] else no},
        _("结果：%(r)s") % {"r": _("通过") if r["passed"] else _("未通过")},
        r["rule"],
    ]


def ballot_rows(vote: Vote) -> Any:
    labels, channels = dict(Choice.choices), dict(Channel.choices)
    qs = (
        Elector.objects.filter(vote=vote)
        .order_by("pk")
        .values_list("label", "name", "area", "ballot__choice", "ballot__channel")
    )
    for label, name, area, choice, channel in qs.iterator(chunk_size=2000):
        yield [label, name, str(area), str(labels.get(choice, _("未投票"))), str(channels.get(channel, ""))]


def xlsx(vote: Vote) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("计票结果"))
    append(ws, [vote.title])
    for row in sheet_rows(vote):
        append(ws, row)
    for line in verdict(vote):
        append(ws, [line])
    ws2 = wb.create_sheet(_("选票清单"))
    append(ws2, [_("表决单位"), _("姓名"), _("面积(㎡)"), _("意见"), _("方式")])
    for row in ballot_rows(vote):
        append(ws2, row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def pdf(vote: Vote) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    cjk_font()
    h1 = ParagraphStyle("h1", fontName=FONT, fontSize=16, leading=22, spaceAfter=6)
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=14)
    style = TableStyle(
        [("FONT", (0, 0), (-1, -1), FONT, 9), ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#d0d7de"))]
    )
    story: list[Any] = [Paragraph(_("表决结果公示：%(t)s") % {"t": vote.title}, h1)]
    t = Table(sheet_rows(vote), hAlign="LEFT")
    t.setStyle(style)
    story.append(t)
    story += [Paragraph(line, body) for line in verdict(vote)]
    rows = [[_("表决单位"), _("姓名"), _("面积(㎡)"), _("意见"), _("方式")], *ballot_rows(vote)]
    t2 = Table(rows, hAlign="LEFT", repeatRows=1)
    t2.setStyle(style)
    story.append(t2)
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=vote.title).build(story)
    return out.getvalue()
