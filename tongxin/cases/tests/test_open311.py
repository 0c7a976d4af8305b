"""Open311 GeoReport v2: a client round trip in XML and in JSON, errors in the spec's format, no personal data."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from django.test import Client

from tongxin.cases import services
from tongxin.cases.choices import Channel
from tongxin.cases.models import Case, CaseEvent, Category
from tongxin.core.models import ApiToken

BASE = "/open311/v2/"
ATTRS = [
    {
        "code": "where",
        "datatype": "singlevaluelist",
        "required": True,
        "description": "漏水位置",
        "values": [{"key": "roof", "name": "屋顶"}, {"key": "pipe", "name": "水管"}],
    },
    {"code": "floors", "datatype": "number", "required": False, "description": "受影响楼层数"},
]


def setup_client(world):
    Category.objects.filter(service_code="parking").update(attributes=ATTRS)
    _, key = ApiToken.issue(world.users["staff_a"], "open311 client")
    return Client(), key


def xml(response):
    assert response["Content-Type"].startswith("text/xml"), response["Content-Type"]
    return ET.fromstring(response.content)


def snapshot():
    return Case.objects.count(), CaseEvent.objects.count()


def test_round_trip_in_xml(world):
    client, key = setup_client(world)
    # discover
    d = xml(client.get(f"{BASE}discovery.xml"))
    assert d.tag == "discovery"
    endpoint = d.find("endpoints/endpoint")
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert {f.text for f in endpoint.findall("formats/format")} == {"text/xml", "application/json"}
    # list services
    services_xml = xml(client.get(f"{BASE}services.xml"))
    leak = next(s for s in services_xml.findall("service") if s.findtext("service_code") == "parking")
    assert leak.findtext("metadata") == "true" and leak.findtext("type") == "realtime"
    assert leak.findtext("group") == "物业服务"
    # service definition with its attributes
    definition = xml(client.get(f"{BASE}services/parking.xml"))
    attrs = definition.findall("attributes/attribute")
    assert [a.findtext("code") for a in attrs] == ["where", "floors"]
    assert [v.findtext("key") for v in attrs[0].findall("values/value")] == ["roof", "pipe"]
    # post a request with attributes, by address
    r = client.post(
        f"{BASE}requests.xml",
        {
            "api_key": key,
            "service_code": "parking",
            "address_string": "锦绣江山3栋2单元501",
            "description": "楼顶漏水，联系我13912345678",
            "attribute[where]": "roof",
            "attribute[floors]": "2",
            "first_name": "六",
            "last_name": "赵",
            "phone": "13912345678",
            "email": "zhao@example.com",
            "media_url": "https://example.org/p/1.jpg",
        },
    )
    assert r.status_code == 201, r.content
    posted = xml(r).find("request")
    request_id = posted.findtext("service_request_id")
    token = posted.findtext("token")
    case = Case.objects.get(pk=int(request_id))
    assert case.channel == Channel.OPEN311
    assert case.dwelling == world.dwellings["a1"]
    assert case.attributes["where"] == "roof" and case.attributes["floors"] == "2"
    assert case.submitted_by == world.users["staff_a"]
    # the token leads to the id
    t = xml(client.get(f"{BASE}tokens/{token}.xml")).find("request")
    assert t.findtext("service_request_id") == request_id
    # fetch by id
    got = xml(client.get(f"{BASE}requests/{request_id}.xml")).find("request")
    assert got.findtext("status") == "open"
    assert got.findtext("service_code") == "parking"
    assert got.findtext("address") == "锦绣江山"  # coarsened to the estate
    assert got.findtext("media_url") == "https://example.org/p/1.jpg"
    # no personal data: no name, no phone, no dwelling number, phone digits masked in the text
    body = client.get(f"{BASE}requests/{request_id}.xml").content.decode()
    for secret in ("赵", "13912345678", "501", "zhao@example.com", world.residents["a1"].name):
        assert secret not in body, secret
    # fetch by filters
    listed = xml(client.get(f"{BASE}requests.xml", {"service_code": "parking", "status": "open"}))
    assert [x.findtext("service_request_id") for x in listed.findall("request")] == [request_id]
    assert xml(client.get(f"{BASE}requests.xml", {"status": "closed"})).findall("request") == []


def test_round_trip_in_json_and_status_mapping(world):
    client, key = setup_client(world)
    d = client.get(f"{BASE}discovery.json").json()
    assert d["endpoints"][0]["specification"].endswith("GeoReport_v2")
    codes = [s["service_code"] for s in client.get(f"{BASE}services.json").json()]
    assert "parking" in codes and "environment" in codes
    definition = client.get(f"{BASE}services/parking.json").json()
    assert definition["service_code"] == "parking"
    assert definition["attributes"][0]["required"] is True
    r = client.post(
        f"{BASE}requests.json",
        {
            "api_key": key,
            "service_code": "parking",
            "address_id": str(world.dwellings["a2"].pk),
            "description": "水管漏水",
            "attribute[where]": "pipe",
        },
    )
    assert r.status_code == 201, r.content
    request_id = r.json()[0]["service_request_id"]
    # a second request, later resolved: closed in Open311 terms
    other = services.submit(
        channel=Channel.HOTLINE, category="environment", description="垃圾", dwelling=world.dwellings["a1"]
    )
    services.accept(other.pk, world.users["staff_a"])
    services.resolve(other.pk, world.users["staff_a"], "已清运")
    got = client.get(f"{BASE}requests/{request_id}.json").json()[0]
    assert got["status"] == "open" and got["lat"] is None
    closed = client.get(f"{BASE}requests.json", {"status": "closed"}).json()
    assert [x["service_request_id"] for x in closed] == [str(other.pk)]
    assert closed[0]["status_notes"] == "已清运"
    both = client.get(f"{BASE}requests.json", {"service_request_id": f"{request_id},{other.pk}"}).json()
    assert {x["service_request_id"] for x in both} == {request_id, str(other.pk)}
    # date filters
    assert client.get(f"{BASE}requests.json", {"start_date": "2000-01-01T00:00:00Z"}).json()
    assert client.get(f"{BASE}requests.json", {"end_date": "2000-01-01T00:00:00Z"}).json() == []
    by_code = client.get(f"{BASE}requests.json", {"service_code": "environment"}).json()
    assert [x["service_request_id"] for x in by_code] == [str(other.pk)]


def test_bad_api_key_is_403_in_the_spec_format(world):
    client, _ = setup_client(world)
    before = snapshot()
    form = {
        "api_key": "wrong",
        "service_code": "parking",
        "address_string": "锦绣江山3栋",
        "description": "x",
    }
    # XML
    r = client.post(f"{BASE}requests.xml", {**form, "attribute[where]": "roof"})
    assert r.status_code == 403
    err = xml(r)
    assert err.tag == "errors"
    assert err.findtext("error/code") == "403"
    assert err.findtext("error/description")
    # JSON
    r = client.post(f"{BASE}requests.json", form)
    assert r.status_code == 403
    assert r.json()[0]["code"] == 403 and r.json()[0]["description"]
    # a revoked key is refused as well
    token, key = ApiToken.issue(world.users["staff_a"], "old")
    ApiToken.objects.filter(pk=token.pk).update(revoked=True)
    assert client.post(f"{BASE}requests.json", {**form, "api_key": key}).status_code == 403
    assert snapshot() == before


def test_bad_input_errors_400_404(world):
    client, key = setup_client(world)
    before = snapshot()
    base = {
        "api_key": key,
        "service_code": "parking",
        "address_string": "锦绣江山3栋",
        "description": "漏水",
    }
    cases = [
        ({**base, "service_code": "nope"}, 404),
        ({**base, "attribute[where]": "basement"}, 400),  # not one of the values
        (base, 400),  # required attribute missing
        ({**base, "attribute[where]": "roof", "attribute[color]": "red"}, 400),  # unknown attribute
        ({**base, "attribute[where]": "roof", "address_string": ""}, 400),  # no location
        ({**base, "attribute[where]": "roof", "address_string": "火星小区1栋"}, 400),  # resolves nowhere
        ({**base, "attribute[where]": "roof", "description": "x" * 4001}, 400),
        ({**base, "attribute[where]": "roof", "lat": "abc", "long": "1"}, 400),
        ({**base, "attribute[where]": "roof", "address_id": "999999"}, 400),
    ]
    for form, status in cases:
        r = client.post(f"{BASE}requests.json", form)
        assert r.status_code == status, (form, r.content)
        assert r.json()[0]["code"] == status and r.json()[0]["description"]
    assert snapshot() == before
    assert client.get(f"{BASE}services/nope.json").status_code == 404
    assert client.get(f"{BASE}requests/99999.json").status_code == 404
    assert xml(client.get(f"{BASE}requests/99999.xml")).findtext("error/code") == "404"
    assert client.get(f"{BASE}tokens/NOPE.json").status_code == 404
    assert client.get(f"{BASE}requests.json", {"status": "pending"}).status_code == 400
    assert client.get(f"{BASE}requests.json", {"start_date": "yesterday"}).status_code == 400
    assert client.get(f"{BASE}services.yaml").status_code == 400


def test_get_requests_query_count_is_constant(world, django_assert_max_num_queries):
    client, _ = setup_client(world)
    for i in range(3):
        services.submit(
            channel=Channel.HOTLINE,
            category="environment",
            description=f"垃圾{i}",
            dwelling=world.dwellings["a1"],
        )
    with django_assert_max_num_queries(2):
        assert len(json.loads(client.get(f"{BASE}requests.json").content)) == 3


def test_reads_show_only_public_categories_masked_and_at_the_estate(world, settings):
    """Issue 10: given a care request (private category) and a rubbish report (public) whose description carries a
    phone and an id number written with spaces, when anyone reads Open311, then only the public one is listed, at
    the estate's address and coordinates, with the numbers masked; the private one is 404 by id."""
    from tongxin.regions.models import Region

    Region.objects.filter(pk=world.estate_a.pk).update(latitude=30.1234, longitude=114.5678)
    care = services.submit(
        channel=Channel.HOTLINE,
        category="convenience",
        description="独居老人需要代买药品",
        dwelling=world.dwellings["a1"],
    )
    public = services.submit(
        channel=Channel.HOTLINE,
        category="environment",
        description="3栋门口垃圾没清运，电话139 1234 5678，身份证429004 19800101 0015",
        dwelling=world.dwellings["a1"],
        latitude=30.123456,
        longitude=114.567891,
    )
    client = Client()
    rows = client.get(f"{BASE}requests.json").json()
    assert [r["service_request_id"] for r in rows] == [str(public.pk)]
    row = rows[0]
    assert row["address"] == "锦绣江山" and (row["lat"], row["long"]) == (30.1234, 114.5678)
    text = json.dumps(rows, ensure_ascii=False)
    for secret in ("139 1234 5678", "1234 5678", "19800101", "独居老人", "3栋2单元"):
        assert secret not in text, secret
    assert client.get(f"{BASE}requests/{care.pk}.json").status_code == 404
    codes = {s["service_code"] for s in client.get(f"{BASE}services.json").json()}
    assert "environment" in codes and "convenience" not in codes and "repairs-leak" not in codes
    assert client.get(f"{BASE}services/convenience.json").status_code == 404
    # a deployment that wants the exact point says so
    settings.OPEN311_PRECISE_LOCATION = True
    row = client.get(f"{BASE}requests/{public.pk}.json").json()[0]
    assert (row["lat"], row["long"]) == (30.123456, 114.567891)
