"""Browser test on a 375 px phone: the resident's 我要反映 page has no horizontal overflow, 提交 is tappable, six
photos go up at once, and the map picker (leaflet from npm, no tiles from outside) places the case with the
phone's own position through 定位."""

from __future__ import annotations

import io

import pytest

from tongxin.cases.models import Case
from tongxin.conftest import PASSWORD, PHONE, login, measure

pytestmark = [pytest.mark.browser]

HERE = {"latitude": 30.36123, "longitude": 113.43211}


def png(i: int) -> dict:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30 + i * 20, 30)).save(buf, format="PNG")
    return {"name": f"leak-{i}.png", "mimeType": "image/png", "buffer": buf.getvalue()}


def no_horizontal_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{page.url} lays out {width} px wide"


def test_resident_reports_with_six_photos_and_locate_me_on_a_phone(
    live_server, world, default_categories, new_page, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    # given the resident on a 375 px phone that shares its position
    page = new_page(PHONE)
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation(HERE)
    login(page, "resident_1", PASSWORD)
    # when they open 我要反映
    page.goto("/cases/m/new/")
    # then nothing lays out wider than the phone
    no_horizontal_scroll(page)
    measure(page, "cases_resident_submit_phone")
    # and they choose a category, then the map, and press 定位
    page.click("#cats label:first-of-type span")
    page.click("text=地图选点")
    page.wait_for_selector("#pick-map.leaflet-container")
    page.click("#locate-me")
    page.wait_for_selector("#pick-status:has-text('已定位')")
    assert float(page.input_value("#id_latitude")) == pytest.approx(HERE["latitude"], abs=1e-5)
    assert float(page.input_value("#id_longitude")) == pytest.approx(HERE["longitude"], abs=1e-5)
    no_horizontal_scroll(page)
    # and add six photos and a description
    page.set_input_files("#id_photos", [png(i) for i in range(6)])
    page.wait_for_selector("#photo-count:has-text('6')")
    page.fill("#id_description", "楼道顶上漏水，地面积水很滑")
    # then 提交 is on the screen, big enough to tap, and not covered by anything
    button = page.locator("#submit-case")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375 and box["height"] >= 44
    hit = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.closest('#submit-case') !== null",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert hit, "something covers 提交"
    measure(page, "cases_resident_submit_filled_phone")
    button.click()
    page.wait_for_url("**/cases/m/*/")
    # and the case carries the six photos and the phone's position
    case = Case.objects.get(channel="resident_app")
    assert case.photos.count() == 6
    assert case.latitude == pytest.approx(HERE["latitude"], abs=1e-5)
    assert case.reporter == world.residents["a1"]
    no_horizontal_scroll(page)
    measure(page, "cases_resident_case_phone")


def test_locate_me_refused_says_so(live_server, world, default_categories, new_page):
    # given a phone whose owner refuses to share the position
    page = new_page(PHONE)
    login(page, "resident_1", PASSWORD)
    page.goto("/cases/m/new/")
    page.click("text=地图选点")
    page.wait_for_selector("#pick-map.leaflet-container")
    # when 定位 is pressed
    page.click("#locate-me")
    # then the page says to pick on the map, and nothing is filled in
    page.wait_for_selector("#pick-status:has-text('无法定位')")
    assert page.input_value("#id_latitude") == ""
    no_horizontal_scroll(page)
