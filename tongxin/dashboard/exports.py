"""Dashboard exports: an .xlsx workbook (openpyxl) and a monthly PDF report with charts (reportlab).

The PDF uses reportlab's own chart drawing and embeds a subset of WenQuanYi Micro Hei (a TrueType font shipped by
the PyPI package ``paperang-p2-fonts-cjk``), so it renders the same on any machine, with no font installed and no
system package: the characters used (Chinese, "·", "—") travel inside the file.
"""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from tongxin.core import pdf as pdf_font
from tongxin.core.exports import PERCENT, append
from tongxin.dashboard.data import RATE_NAMES, Report, pct, rate_labels

CJK_FONT = pdf_font.CJK_FONT
register_cjk_font = pdf_font.cjk_font


# The overview sheet's counters in the words a leader uses (a key without a label shows as is).
COUNTER_LABELS = {
    "received": _lazy("受理量"),
    "responded": _lazy("已响应"),
    "responded_in_time": _lazy("按时响应"),
    "assigned": _lazy("已派单"),
    "resolved": _lazy("已办结"),
    "resolved_in_time": _lazy("按时办结"),
    "reopened": _lazy("重新办理"),
    "closed": _lazy("已关闭"),
    "rated": _lazy("已评价"),
    "satisfied": _lazy("满意"),
    "basically_satisfied": _lazy("基本满意"),
    "dissatisfied": _lazy("不满意"),
    "rated_by_call": _lazy("回访评价"),
    "satisfied_by_call": _lazy("回访满意"),
    "suggestion_received": _lazy("收到建议"),
    "suggestion_rectified": _lazy("建议已整改"),
}


def xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    labels = rate_labels()
    wb = Workbook()
    ws = wb.active
    ws.title = _("总览")
    append(ws, [_("区域"), report.region.name])
    append(ws, [_("时段"), f"{report.start} — {report.end}"])
    ws.append([])
    append(ws, [_("指标"), _("数值")])
    for k in RATE_NAMES:
        append(ws, [str(labels[k]), report.rates.get(k)], {1: PERCENT})
    for k, v in report.counters.items():
        append(ws, [str(COUNTER_LABELS.get(k, k)), v])
    append(ws, [_("在办"), report.open_cases])
    append(ws, [_("超期"), report.overdue_cases])

    def sheet(title: str, header: list[str], rows: list[list[Any]], percent: tuple[int, ...] = ()) -> None:
        s = wb.create_sheet(title)
        append(s, header)
        for cell in s[1]:
            cell.font = Font(bold=True)
        formats = dict.fromkeys(percent, PERCENT)
        for r in rows:
            append(s, r, formats)

    rate_header = [str(labels[k]) for k in ("response", "resolution", "satisfaction", "composite")]
    rate_keys = ("response", "resolution", "satisfaction", "composite")
    sheet(
        _("趋势"),
        [_("时段"), _("受理量"), *rate_header],
        [[t["label"], t["received"], *[t["rates"][k] for k in rate_keys]] for t in report.trend],
        percent=(2, 3, 4, 5),
    )
    sheet(_("渠道"), [_("渠道"), _("受理量")], [[c["name"], c["received"]] for c in report.channels])
    sheet(
        _("类别"),
        [_("类别"), _("受理量"), *rate_header],
        [[c["name"], c["received"], *[c["rates"][k] for k in rate_keys]] for c in report.categories],
        percent=(2, 3, 4, 5),
    )
    sheet(
        _("网格排名"),
        [_("名次"), _("网格"), _("受理量"), *rate_header],
        [
            [i + 1, g["name"], g["received"], *[g["rates"][k] for k in rate_keys]]
            for i, g in enumerate(report.grids)
        ],
        percent=(3, 4, 5, 6),
    )
    sheet(
        _("吹哨报到"),
        [
            _("部门"),
            _("吹哨次数"),
            _("已报到"),
            _("迟报到"),
            _("按时报到率"),
            _("平均报到分钟"),
            _("平均评分"),
        ],
        [
            [
                d["department"],
                d["calls"],
                d["reported"],
                d["late"],
                d["on_time_rate"],
                d["avg_minutes_to_report"],
                d["avg_rating"],
            ]
            for d in report.departments
        ],
        percent=(4,),
    )
    sheet(_("党员接单"), [_("党员/志愿者"), _("认领数")], [[m["name"], m["claims"]] for m in report.members])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def pdf(report: Report) -> bytes:
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.charts.lineplots import LinePlot
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    register_cjk_font()
    h1 = ParagraphStyle("h1", fontName=CJK_FONT, fontSize=18, leading=24, spaceAfter=6)
    h2 = ParagraphStyle("h2", fontName=CJK_FONT, fontSize=13, leading=18, spaceBefore=10, spaceAfter=4)
    body = ParagraphStyle("body", fontName=CJK_FONT, fontSize=10, leading=14)
    labels = rate_labels()
    story: list[Any] = [
        Paragraph(_("%(region)s 诉求办理月报") % {"region": report.region.name}, h1),
        Paragraph(f"{report.start} — {report.end}", body),
        Spacer(1, 4 * mm),
    ]

    def table(rows: list[list[Any]], widths: list[float] | None = None) -> Table:
        t = Table(rows, colWidths=widths, hAlign="LEFT")
        t.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), CJK_FONT, 9),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f4")),
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#d0d7de")),
                ]
            )
        )
        return t

    story.append(Paragraph(_("三率与综合得分"), h2))
    story.append(
        table(
            [[str(labels[k]) for k in RATE_NAMES], [pct(report.rates.get(k)) for k in RATE_NAMES]],
        )
    )
    story.append(
        Paragraph(
            _("受理 %(r)d 件，在办 %(o)d 件，其中超期 %(l)d 件，黄牌 %(y)d 件，红牌 %(d)d 件。")
            % {
                "r": report.counters.get("received", 0),
                "o": report.open_cases,
                "l": report.overdue_cases,
                "y": report.yellow_cases,
                "d": report.red_cases,
            },
            body,
        )
    )

    # trend chart: the rates per period, in percent
    story.append(Paragraph(_("趋势"), h2))
    trend_keys = ("response", "resolution", "satisfaction", "composite")
    palette = [colors.HexColor(c) for c in ("#0b57d0", "#1a7f37", "#9a6700", "#b3261e")]
    d = Drawing(170 * mm, 70 * mm)
    if report.trend:
        lp = LinePlot()
        lp.x, lp.y, lp.width, lp.height = 12 * mm, 10 * mm, 120 * mm, 55 * mm
        data = []
        for k in trend_keys:
            pts = [(i, (t["rates"][k] or 0) * 100) for i, t in enumerate(report.trend)]
            data.append(pts or [(0, 0)])
        lp.data = data
        lp.yValueAxis.valueMin, lp.yValueAxis.valueMax = 0, 100
        lp.xValueAxis.valueMin, lp.xValueAxis.valueMax = 0, max(1, len(report.trend) - 1)
        lp.xValueAxis.valueSteps = list(range(len(report.trend)))
        lp.xValueAxis.labelTextFormat = lambda i: (
            report.trend[int(i)]["label"] if 0 <= int(i) < len(report.trend) else ""
        )
        lp.xValueAxis.labels.fontName = CJK_FONT
        lp.xValueAxis.labels.fontSize = 7
        for i, colour in enumerate(palette):
            lp.lines[i].strokeColor = colour
            lp.lines[i].strokeWidth = 1.5
        d.add(lp)
        for i, k in enumerate(trend_keys):
            d.add(
                String(
                    137 * mm,
                    (60 - i * 6) * mm,
                    str(labels[k]),
                    fontName=CJK_FONT,
                    fontSize=8,
                    fillColor=palette[i],
                )
            )
    else:
        d.add(String(10, 100, _("本时段没有数据"), fontName=CJK_FONT, fontSize=10))
    story.append(d)

    def bars(title: str, names: list[str], values: list[int]) -> None:
        story.append(Paragraph(title, h2))
        if not values:
            story.append(Paragraph(_("本时段没有数据"), body))
            return
        height = max(30, 7 * len(values) + 12) * mm
        dr = Drawing(170 * mm, height)
        bc = HorizontalBarChart()
        bc.x, bc.y, bc.width, bc.height = 40 * mm, 5 * mm, 120 * mm, height - 10 * mm
        bc.data = [list(reversed(values))]
        bc.categoryAxis.categoryNames = list(reversed(names))
        bc.categoryAxis.labels.fontName = CJK_FONT
        bc.categoryAxis.labels.fontSize = 8
        bc.valueAxis.valueMin = 0
        bc.bars[0].fillColor = colors.HexColor("#b3261e")
        dr.add(bc)
        story.append(dr)

    bars(_("各渠道受理量"), [c["name"] for c in report.channels], [c["received"] for c in report.channels])
    bars(
        _("各类别受理量"),
        [c["name"] for c in report.categories[:10]],
        [c["received"] for c in report.categories[:10]],
    )
    story.append(Paragraph(_("网格排名"), h2))
    rows: list[list[Any]] = [[_("名次"), _("网格"), _("受理量"), str(labels["composite"])]]
    rows += [
        [i + 1, g["name"], g["received"], pct(g["rates"]["composite"])]
        for i, g in enumerate(report.grids[:20])
    ]
    story.append(table(rows))
    story.append(Paragraph(_("部门吹哨报到"), h2))
    rows = [[_("部门"), _("吹哨次数"), _("已报到"), _("迟报到"), _("平均报到分钟"), _("平均评分")]]
    rows += [
        [
            d["department"],
            d["calls"],
            d["reported"],
            d["late"],
            d["avg_minutes_to_report"] or "—",
            d["avg_rating"] or "—",
        ]
        for d in report.departments
    ]
    story.append(table(rows))
    story.append(Paragraph(_("党员接单"), h2))
    rows = [[_("党员/志愿者"), _("认领数")]] + [[m["name"], m["claims"]] for m in report.members]
    story.append(table(rows))

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, title=f"Tongxin {report.region.name} {report.start:%Y-%m}")
    doc.build(story)
    return out.getvalue()
