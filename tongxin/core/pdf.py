"""The Chinese font every PDF of the project embeds: WenQuanYi Micro Hei, a TrueType collection shipped by the PyPI
package ``paperang-p2-fonts-cjk``. reportlab embeds the subset of glyphs a document uses, so a report renders the
same on a machine without any Chinese font ("·" and "—" included), unlike a CID font that the viewer must supply.
"""

from __future__ import annotations

CJK_FONT = "TongxinCJK"


def cjk_font_path() -> str:
    """The font file (from the installed package, never from the system's font folders)."""
    from importlib.resources import files

    return str(files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc")


def cjk_font() -> str:
    """Register :data:`CJK_FONT` with reportlab once and return its name (use it as ``fontName``)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(CJK_FONT, cjk_font_path(), subfontIndex=0))
    return CJK_FONT
