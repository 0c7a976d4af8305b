"""Pages are Chinese by default and English when the user switches language."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from tongxin.core import i18n_compile

pytestmark = pytest.mark.django_db


@pytest.fixture
def back_to_chinese():  # type: ignore[no-untyped-def]
    # The locale middleware leaves the last request's language active in this thread: restore the default.
    yield
    translation.activate("zh-hans")


def test_staff_and_resident_pages_in_english(participants, back_to_chinese):
    i18n_compile.main()  # build the .mo catalogues (git-ignored) if this checkout has not
    translation.trans_real._translations = {}  # reload catalogues built just now
    w = participants.world
    c = w.client("staff_a")
    assert "服务岗与值班" in c.get(reverse("volunteers:posts")).content.decode()
    c.cookies["django_language"] = "en"
    assert "Posts and rosters" in c.get(reverse("volunteers:posts")).content.decode()
    r = w.client("resident")
    r.cookies["django_language"] = "en"
    assert "My time bank" in r.get(reverse("volunteers:my_hours")).content.decode()
    assert "Points balance" in r.get(reverse("points:mine")).content.decode()
