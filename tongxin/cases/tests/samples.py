"""Rows for the route walker (tongxin/tests/test_routes.py): a resident's case of a public category in community A
(first: receipt code ``WALKERCODE``, a photo, open for claiming in grid 1), a private hotline case with a photo in
community B (last)."""

from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile

from tongxin.cases import services
from tongxin.cases.choices import Channel
from tongxin.cases.models import Case

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


def make(world: Any) -> None:
    resident = world.users["resident"]
    a = services.submit(
        actor=resident,
        channel=Channel.RESIDENT_APP,
        category="environment",
        description="小区东门垃圾桶满了，请联系139 1234 5678",
        reporter=world.residents["a1"],
        dwelling=world.dwellings["a1"],
        photos=[ContentFile(PNG, name="east-gate.png")],
    )
    Case.objects.filter(pk=a.pk).update(receipt_code="WALKERCODE")
    services.open_for_claiming(a.pk, world.users["staff_a"])
    b = services.submit(
        actor=world.users["staff_b"],
        channel=Channel.HOTLINE,
        category="repairs-leak",
        description="顶楼漏水，身份证429004 19800101 0015",
        dwelling=world.dwellings["b1"],
        contact_name="王先生",
        contact_phone="13900000003",
    )
    services.add_photo(b.pk, world.users["staff_b"], ContentFile(PNG, name="leak.png"))
