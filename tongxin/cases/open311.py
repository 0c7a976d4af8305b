"""Open311 GeoReport v2 server (https://wiki.open311.org/GeoReport_v2), mounted at ``/open311/v2/``.

Every endpoint answers in XML (``.xml``) or JSON (``.json``) by the extension of the path. XML is built with
:mod:`xml.etree.ElementTree`. Errors use the spec's format with the matching HTTP status (400, 403, 404)::

    <errors><error><code>403</code><description>api_key 无效</description></error></errors>
    [{"code": 403, "description": "api_key 无效"}]

``api_key`` (POST only) is a Tongxin API token (:class:`tongxin.core.models.ApiToken`, issued per client by an
administrator); the token's user is recorded as the submitter of the case (channel ``open311``). Reading is
public as the spec intends (unless ``OPEN311_READ_REQUIRES_KEY`` is set), but only of the categories marked
public (``Category.public``: shared spaces — environment, parking, utilities …; never a home repair, a dispute or
care for a person). The output never carries personal data: no reporter, no contact, no dwelling or building (the
address and the coordinates are the estate's unless ``OPEN311_PRECISE_LOCATION`` is set), and phones and id
numbers in free text are masked however they are written (:func:`tongxin.core.pii.mask_in_text`).

Status mapping: Tongxin's open states (submitted, accepted, dispatched, open for claiming, in progress, returned,
whistled, reopened) are ``open``; resolved, closed, rejected and merged are ``closed``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from tongxin.cases.choices import OPEN_STATES, CaseError, CaseState, Channel
from tongxin.core import pii, policy
from tongxin.core.models import ApiToken

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-23T00:00:00+08:00"
MAX_RESULTS = 1000
DEFAULT_WINDOW_DAYS = 90
CLOSED_STATES = (CaseState.RESOLVED, CaseState.CLOSED, CaseState.REJECTED, CaseState.MERGED)
FORMATS = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


# ---------------------------------------------------------------------------------------------------------
# Rendering


def _xml_value(parent: ET.Element, key: str, value: Any) -> None:
    el = ET.SubElement(parent, key)
    if isinstance(value, list):
        child_name = {
            "attributes": "attribute",
            "values": "value",
            "endpoints": "endpoint",
            "formats": "format",
        }.get(key, key.rstrip("s"))
        for item in value:
            _xml_value(el, child_name, item) if not isinstance(item, dict) else _xml_dict(
                el, child_name, item
            )
    elif isinstance(value, dict):
        for k, v in value.items():
            _xml_value(el, k, v)
    elif value is None:
        pass
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    else:
        el.text = str(value)


def _xml_dict(parent: ET.Element, name: str, data: dict[str, Any]) -> None:
    el = ET.SubElement(parent, name)
    for k, v in data.items():
        _xml_value(el, k, v)


def to_xml(root: str, item: str | None, data: Any) -> bytes:
    """``data`` is a list of dicts under ``<root><item>…`` or one dict under ``<root>``."""
    top = ET.Element(root)
    if isinstance(data, list):
        for row in data:
            _xml_dict(top, item or "item", row)
    else:
        for k, v in data.items():
            _xml_value(top, k, v)
    return ET.tostring(top, encoding="utf-8", xml_declaration=True)


def render(fmt: str, root: str, item: str | None, data: Any, status: int = 200) -> HttpResponse:
    body = to_xml(root, item, data) if fmt == "xml" else json.dumps(data, ensure_ascii=False).encode()
    return HttpResponse(body, status=status, content_type=FORMATS[fmt])


def render_error(fmt: str, status: int, description: str) -> HttpResponse:
    return render(fmt, "errors", "error", [{"code": status, "description": description}], status=status)


def _fmt(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(400, _("不支持的格式：%(fmt)s（仅 xml 或 json）") % {"fmt": fmt})
    return fmt


def handle_errors(view: Any) -> Any:
    def wrapped(request: HttpRequest, *args: Any, fmt: str = "json", **kwargs: Any) -> HttpResponse:
        out_fmt = fmt if fmt in FORMATS else "json"
        try:
            return view(request, *args, fmt=_fmt(fmt), **kwargs)
        except Open311Error as e:
            return render_error(out_fmt, e.status, e.description)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def mask_personal(text: str) -> str:
    """Phones and id numbers in published free text, masked however they are spaced or dashed."""
    return pii.mask_in_text(text or "")


def iso(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


# ---------------------------------------------------------------------------------------------------------
# Discovery and services


@require_GET
@policy.page("cases.open311_services")
@handle_errors
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    url = request.build_absolute_uri("/open311/v2/").rstrip("/")
    data = {
        "changeset": CHANGESET,
        "contact": getattr(settings, "OPEN311_CONTACT", "") or _("请联系街道接诉即办中心"),
        "key_service": getattr(settings, "OPEN311_KEY_SERVICE", "")
        or _("api_key 由系统管理员在后台签发（API令牌）"),
        "endpoints": [
            {
                "specification": SPEC_URL,
                "url": url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, "discovery", None, data)


def _categories(request: HttpRequest) -> QuerySet:
    from tongxin.cases.models import Category

    qs = Category.objects.filter(active=True).select_related("parent").order_by("service_code")
    return policy.restrict(qs, request.user, "cases.open311_services")


def _service(c: Any) -> dict[str, Any]:
    from tongxin.cases.suggest import split_keywords

    return {
        "service_code": c.service_code,
        "service_name": str(c.name),
        "description": str(c.description or ""),
        "metadata": bool(c.attributes),
        "type": "realtime",
        "keywords": ",".join(split_keywords(c.keywords)),
        "group": str(c.parent.name) if c.parent_id else str(c.name),
    }


@require_GET
@policy.page("cases.open311_services")
@handle_errors
def services(request: HttpRequest, fmt: str) -> HttpResponse:
    _check_jurisdiction(request.GET)
    return render(fmt, "services", "service", [_service(c) for c in _categories(request)])


def _attribute(a: dict[str, Any], order: int) -> dict[str, Any]:
    values = a.get("values") or []
    out: dict[str, Any] = {
        "variable": bool(a.get("variable", True)),
        "code": str(a.get("code", "")),
        "datatype": str(a.get("datatype", "string")),
        "required": bool(a.get("required", False)),
        "datatype_description": str(a.get("datatype_description", "")),
        "order": int(a.get("order", order)),
        "description": str(a.get("description", "")),
    }
    if values:
        out["values"] = [
            {"key": str(v.get("key", "")), "name": str(v.get("name", v.get("key", "")))}
            if isinstance(v, dict)
            else {"key": str(v), "name": str(v)}
            for v in values
        ]
    return out


def attributes_of(category: Any) -> list[dict[str, Any]]:
    raw = category.attributes or []
    return [_attribute(a, i + 1) for i, a in enumerate(raw) if isinstance(a, dict) and a.get("code")]


@require_GET
@policy.page("cases.open311_services", model="cases.Category", object_field="service_code")
@handle_errors
def service_definition(request: HttpRequest, service_code: str, fmt: str) -> HttpResponse:
    _check_jurisdiction(request.GET)
    category = _categories(request).filter(service_code=service_code).first()
    if category is None:
        raise Open311Error(404, _("服务类别不存在：%(code)s") % {"code": service_code})
    data = {"service_code": category.service_code, "attributes": attributes_of(category)}
    return render(fmt, "service_definition", None, data)


def _check_jurisdiction(params: Any) -> None:
    wanted = getattr(settings, "OPEN311_JURISDICTION_ID", "")
    given = params.get("jurisdiction_id", "")
    if wanted and given and given != wanted:
        raise Open311Error(404, _("jurisdiction_id 不存在：%(j)s") % {"j": given})


# ---------------------------------------------------------------------------------------------------------
# Requests


def _api_user(key: str) -> Any:
    if not key:
        raise Open311Error(403, _("缺少 api_key"))
    row = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=ApiToken.hash_key(key), revoked=False, user__is_active=True)
        .first()
    )
    if row is None:
        raise Open311Error(403, _("api_key 无效或已停用"))
    return row.user


def _float(params: Any, name: str) -> float | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise Open311Error(400, _("%(name)s 不是数字：%(v)s") % {"name": name, "v": raw[:30]}) from None


def _collect_attributes(params: Any, category: Any) -> dict[str, Any]:
    """``attribute[code]=value`` (repeated for multivaluelist), checked against the service definition."""
    given: dict[str, list[str]] = {}
    for key in params:
        m = re.fullmatch(r"attribute\[(.+?)\](?:\[\])?", key)
        if m:
            given.setdefault(m.group(1), []).extend(v for v in params.getlist(key) if v != "")
    defs = {a["code"]: a for a in attributes_of(category)}
    out: dict[str, Any] = {}
    for code, values in given.items():
        d = defs.get(code)
        if d is None:
            raise Open311Error(400, _("未知属性：%(code)s") % {"code": code})
        allowed = {v["key"] for v in d.get("values", [])}
        if allowed and any(v not in allowed for v in values):
            raise Open311Error(400, _("属性 %(code)s 的取值无效") % {"code": code})
        if d["datatype"] == "number":
            for v in values:
                try:
                    float(v)
                except ValueError:
                    raise Open311Error(400, _("属性 %(code)s 应为数字") % {"code": code}) from None
        out[code] = values if d["datatype"] == "multivaluelist" else (values[0] if values else "")
    for code, d in defs.items():
        if d["required"] and d["variable"] and not out.get(code):
            raise Open311Error(400, _("缺少必填属性：%(code)s") % {"code": code})
    return out


@csrf_exempt
@require_http_methods(["GET", "POST"])
@policy.page("cases.open311_read")  # reading; a POST is authorised by its api_key (an API token)
@handle_errors
def requests_view(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _post_request(request, fmt)
    return _get_requests(request, fmt)


def _post_request(request: HttpRequest, fmt: str) -> HttpResponse:
    from tongxin.cases import services as case_services
    from tongxin.cases.models import Category

    p = request.POST
    _check_jurisdiction(p)
    user = _api_user(p.get("api_key", ""))
    code = (p.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, _("缺少 service_code"))
    category = Category.objects.filter(service_code=code, active=True).first()
    if category is None:
        raise Open311Error(404, _("服务类别不存在：%(code)s") % {"code": code})
    lat, lon = _float(p, "lat"), _float(p, "long")
    address = (p.get("address_string") or "").strip()
    address_id = (p.get("address_id") or "").strip()
    if (lat is None) != (lon is None):
        raise Open311Error(400, _("lat 与 long 须同时提供"))
    if lat is None and not address and not address_id:
        raise Open311Error(400, _("须提供位置：lat/long、address_string 或 address_id"))
    description = p.get("description") or ""
    if len(description) > 4000:
        raise Open311Error(400, _("description 超过 4000 字"))
    dwelling = None
    if address_id:
        from tongxin.regions.models import Dwelling

        if (
            not address_id.isdigit()
            or (dwelling := Dwelling.objects.filter(pk=int(address_id)).first()) is None
        ):
            raise Open311Error(400, _("address_id 不存在：%(a)s") % {"a": address_id[:30]})
    attributes = _collect_attributes(p, category)
    contact_name = " ".join(
        x for x in ((p.get("last_name") or "").strip(), (p.get("first_name") or "").strip()) if x
    )
    media_url = (p.get("media_url") or "").strip()[:500]
    if media_url:
        if not re.match(r"^https?://", media_url):
            raise Open311Error(400, _("media_url 须为 http(s) 地址"))
        attributes["media_url"] = media_url
    try:
        case = case_services.submit(
            actor=user,
            channel=Channel.OPEN311,
            category=category,
            description=description,
            dwelling=dwelling,
            address=address,
            latitude=lat,
            longitude=lon,
            contact_name=contact_name[:50],
            contact_phone=(p.get("phone") or "").strip()[:30],
            attributes=attributes,
        )
    except (CaseError, ValidationError) as e:
        raise Open311Error(400, _message(e)) from None
    data = [
        {
            "service_request_id": str(case.pk),
            "token": case.receipt_code,
            "service_notice": _("已收到，可凭回执码查询办理结果"),
            "account_id": None,
        }
    ]
    return render(fmt, "service_requests", "request", data, status=201)


def _message(e: Exception) -> str:
    if isinstance(e, CaseError):
        return e.message
    if isinstance(e, ValidationError):
        return "; ".join(str(m) for m in e.messages)
    return str(e)


def _parse_when(raw: str, name: str) -> datetime:
    value = parse_datetime(raw)
    if value is None:
        d = parse_date(raw)
        if d is not None:
            value = datetime(d.year, d.month, d.day)
    if value is None:
        raise Open311Error(400, _("%(name)s 不是 W3C 日期时间：%(v)s") % {"name": name, "v": raw[:40]})
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _public_cases(request: HttpRequest) -> QuerySet:
    """Cases of public categories only (the ``where`` of ``cases.open311_read``)."""
    from tongxin.cases.models import Case

    qs = Case.objects.select_related("category", "estate", "building", "department", "property_company")
    return policy.restrict(qs, request.user, "cases.open311_read")


def _location(c: Any) -> tuple[str, float | None, float | None]:
    """The address and coordinates published: the estate's (or the case's point rounded to about 1 km when it
    has no estate), unless ``OPEN311_PRECISE_LOCATION`` publishes the building and the exact point."""
    if getattr(settings, "OPEN311_PRECISE_LOCATION", False):
        address = "".join(str(r.name) for r in (c.estate, c.building) if r is not None)
        lat, lon = c.latitude, c.longitude
        if lat is None and c.building is not None:
            lat, lon = c.building.latitude, c.building.longitude
        return address, lat, lon
    if c.estate is not None:
        return str(c.estate.name), c.estate.latitude, c.estate.longitude
    if c.latitude is not None and c.longitude is not None:
        return "", round(c.latitude, 2), round(c.longitude, 2)
    return "", None, None


def _request_row(c: Any) -> dict[str, Any]:
    is_open = c.state in OPEN_STATES
    address, lat, lon = _location(c)
    agency = ""
    if c.department_id:
        agency = str(c.department.name)
    elif c.property_company_id:
        agency = str(c.property_company.name)
    notes = ""
    if c.state == CaseState.REJECTED:
        notes = c.state_reason or ""
    elif c.state in (CaseState.RESOLVED, CaseState.CLOSED):
        notes = c.result or ""
    elif c.state == CaseState.MERGED:
        notes = _("已与其他工单合并办理")
    return {
        "service_request_id": str(c.pk),
        "status": "open" if is_open else "closed",
        "status_notes": mask_personal(notes),
        "service_name": str(c.category.name) if c.category_id else "",
        "service_code": c.category.service_code if c.category_id else "",
        "description": mask_personal(c.description),
        "agency_responsible": agency,
        "service_notice": "",
        "requested_datetime": iso(c.submitted_at),
        "updated_datetime": iso(c.updated_at),
        "expected_datetime": iso(c.resolve_by),
        "address": address,
        "address_id": None,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": (c.attributes or {}).get("media_url") or None,
    }


def _check_read(params: Any) -> None:
    if getattr(settings, "OPEN311_READ_REQUIRES_KEY", False):
        _api_user(params.get("api_key", ""))


def _get_requests(request: HttpRequest, fmt: str) -> HttpResponse:
    p = request.GET
    _check_jurisdiction(p)
    _check_read(p)
    qs = _public_cases(request)
    ids = [x.strip() for x in (p.get("service_request_id") or "").split(",") if x.strip()]
    if ids:
        if not all(x.isdigit() for x in ids):
            raise Open311Error(400, _("service_request_id 应为数字，逗号分隔"))
        # the spec: with service_request_id all other filters are ignored
        rows = list(qs.filter(pk__in=[int(x) for x in ids]).order_by("-pk")[:MAX_RESULTS])
        return render(fmt, "service_requests", "request", [_request_row(c) for c in rows])
    codes = [x.strip() for x in (p.get("service_code") or "").split(",") if x.strip()]
    if codes:
        qs = qs.filter(category__service_code__in=codes)
    now = timezone.now()
    start = _parse_when(p["start_date"], "start_date") if p.get("start_date") else None
    end = _parse_when(p["end_date"], "end_date") if p.get("end_date") else None
    if start is None and end is None:
        start = now - timedelta(days=DEFAULT_WINDOW_DAYS)
    if start is not None:
        qs = qs.filter(submitted_at__gte=start)
    if end is not None:
        qs = qs.filter(submitted_at__lte=end)
    statuses = {x.strip() for x in (p.get("status") or "").split(",") if x.strip()}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, _("status 只能是 open 或 closed"))
    if statuses == {"open"}:
        qs = qs.filter(state__in=list(OPEN_STATES))
    elif statuses == {"closed"}:
        qs = qs.filter(state__in=list(CLOSED_STATES))
    rows = list(qs.order_by("-submitted_at", "-pk")[:MAX_RESULTS])
    return render(fmt, "service_requests", "request", [_request_row(c) for c in rows])


@require_GET
@policy.page("cases.open311_read", model="cases.Case")
@handle_errors
def request_detail(request: HttpRequest, service_request_id: str, fmt: str) -> HttpResponse:
    _check_jurisdiction(request.GET)
    _check_read(request.GET)
    c = (
        _public_cases(request).filter(pk=int(service_request_id)).first()
        if service_request_id.isdigit()
        else None
    )
    if c is None:
        raise Open311Error(404, _("服务请求不存在：%(id)s") % {"id": service_request_id[:30]})
    return render(fmt, "service_requests", "request", [_request_row(c)])


@require_GET
@policy.page("cases.open311_read", sample={"token": "WALKERCODE"})
@handle_errors
def token_detail(request: HttpRequest, token: str, fmt: str) -> HttpResponse:
    _check_jurisdiction(request.GET)
    pk = (
        _public_cases(request).filter(receipt_code=token).values_list("pk", flat=True).first()
        if token
        else None
    )
    if pk is None:
        raise Open311Error(404, _("token 不存在"))
    return render(fmt, "service_requests", "request", [{"service_request_id": str(pk), "token": token}])
