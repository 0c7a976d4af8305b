"""Case intake is rate limited for residents and the public, not for staff."""

from __future__ import annotations

import json

URL = "/api/v1/cases/"


def _post(client, n: int, dwelling_id: int | None = None):
    body: dict = {"category": "repairs-leak", "description": f"楼道灯坏了 {n}"}
    if dwelling_id:
        body["dwelling_id"] = dwelling_id
    return client.post(URL, data=json.dumps(body), content_type="application/json")


def test_a_resident_cannot_flood_intake(world, settings):
    # given a limit of 3 cases per hour
    settings.CASES_INTAKE_PER_HOUR = 3
    client = world.client("resident")
    # when a resident submits four
    answers = [_post(client, n) for n in range(4)]
    # then the fourth is refused with 429 and the one error body, and nothing is stored for it
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    body = answers[3].json()
    assert body["code"] == "rate_limited" and set(body) >= {"code", "message", "field"}
    from tongxin.cases.models import Case

    assert Case.objects.count() == 3


def test_staff_intake_is_not_limited(world, settings):
    settings.CASES_INTAKE_PER_HOUR = 1
    client = world.client("staff_a")
    answers = [_post(client, n, world.dwellings["a1"].pk) for n in range(3)]
    assert all(a.status_code == 201 for a in answers), [a.content for a in answers]
