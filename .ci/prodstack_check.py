"""The checks of .ci/prodstack, run against the started stack (standard library only: it runs with the system
Python, outside the app's virtualenv). Each check prints one line; the first failure stops with exit 1."""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import ssl
import sys
import urllib.error
import urllib.request
import uuid
from typing import Any

# 1x1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005"
    "0001ff0a2d48f50000000049454e44ae426082"
)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """A cookie-keeping client that does not follow redirects and accepts the self-signed certificate."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar),
            urllib.request.HTTPSHandler(context=context),
            NoRedirect(),
        )

    def request(
        self, path: str, data: bytes | None = None, headers: dict[str, str] | None = None, method: str = ""
    ) -> tuple[int, dict[str, str], bytes]:
        url = path if path.startswith("http") else self.base + path
        req = urllib.request.Request(url, data=data, headers=headers or {}, method=method or None)
        try:
            with self.opener.open(req, timeout=30) as resp:
                return resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers.items()), err.read()

    def cookie(self, name: str) -> str:
        return next((c.value for c in self.jar if c.name == name), "")


PASSED = [0]


def check(condition: bool, label: str, detail: Any = "") -> None:
    if not condition:
        print(f"FAIL {label} {detail}")
        print(f"prodstack: {PASSED[0]} passed, 1 failed")
        sys.exit(1)
    PASSED[0] += 1
    print(f"ok   {label}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--https", required=True)
    ap.add_argument("--http", required=True)
    ap.add_argument("--app", required=True, help="gunicorn directly (loopback)")
    ap.add_argument("--media-root", required=True)
    ap.add_argument("--dwelling", type=int, required=True, help="a dwelling to report from")
    ap.add_argument(
        "--photo-view", action="store_true", help="the app has a view that authorises /media/ files"
    )
    args = ap.parse_args()
    password = os.environ["OPS_PASSWORD"]
    origin = args.https
    anonymous = Browser(args.https)

    status, headers, body = anonymous.request("/healthz")
    check(
        status == 200 and json.loads(body)["status"] == "ok",
        "/healthz through nginx: database, queue, worker",
        body,
    )

    status, headers, _ = Browser(args.http).request("/login/")
    check(
        status == 301 and headers.get("Location", "").startswith("https://"), "plain HTTP redirects to HTTPS"
    )

    status, headers, body = anonymous.request("/login/")
    page = body.decode()
    check(status == 200 and "同心" in page, "sign-in page through nginx (Chinese)")
    check("max-age=" in headers.get("Strict-Transport-Security", ""), "HSTS header", headers)
    csp = headers.get("Content-Security-Policy", "")
    check(
        "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0],
        "CSP header",
    )
    check(bool(headers.get("X-Request-ID")), "request id returned")
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', page)
    check(stylesheet is not None, "page links its stylesheet")
    assert stylesheet
    status, headers, body = anonymous.request(stylesheet.group(1))
    check(
        status == 200 and headers.get("Content-Type", "").startswith("text/css") and len(body) > 100,
        f"static file served by nginx ({stylesheet.group(1)})",
        status,
    )
    status, headers, _ = Browser(args.app).request(
        stylesheet.group(1), headers={"X-Forwarded-Proto": "https"}
    )
    check(
        status == 200 and "max-age" in headers.get("Cache-Control", ""),
        "static file from gunicorn alone (WhiteNoise)",
    )
    status, _, _ = anonymous.request("/static/vendor/htmx.org/dist/htmx.min.js")
    check(status == 200, "npm package from the wheel (htmx)", status)

    status, headers, body = anonymous.request("/no-such-page/")
    check(status == 404 and "页面不存在" in body.decode(), "Chinese 404 page", status)

    # sign in
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    check(token is not None, "sign-in form has a CSRF token")
    assert token
    staff = anonymous  # the same browser signs in
    form = (
        f"username=ops_admin&password={urllib.request.quote(password)}&csrfmiddlewaretoken={token.group(1)}"
    )
    status, headers, body = staff.request(
        "/login/",
        form.encode(),
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": origin + "/login/",
            "Origin": origin,
        },
    )
    check(
        status == 302 and staff.cookie("sessionid"),
        "sign-in through the TLS proxy (CSRF origin check)",
        status,
    )
    status, _, body = staff.request("/")
    check(status == 200 and "ops_admin" in body.decode(), "home page after sign-in", status)

    # a case intake over the API, through nginx
    csrf = staff.cookie("csrftoken")
    api_headers = {"X-CSRFToken": csrf, "Referer": origin + "/", "Origin": origin}
    payload = {
        "category": "repairs-leak",
        "description": "三栋二单元楼顶漏水（生产环境检查）",
        "dwelling_id": args.dwelling,
    }
    status, _, body = staff.request(
        "/api/v1/cases/",
        json.dumps(payload).encode(),
        {**api_headers, "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex},
    )
    check(status == 201, "case intake through nginx (POST /api/v1/cases/)", body[:300])
    case = json.loads(body)

    # a photo on it: multipart upload, then the protected download
    boundary = uuid.uuid4().hex
    multipart = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="leak.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + PNG
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, _, body = staff.request(
        f"/api/v1/cases/{case['id']}/photos",
        multipart,
        {**api_headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    check(status == 201, "photo upload through nginx", body[:300])
    photo_url = json.loads(body)["photos"][0]
    stored = [os.path.join(d, f) for d, _s, fs in os.walk(args.media_root) for f in fs if f.endswith(".png")]
    check(len(stored) == 1, "photo stored under MEDIA_ROOT", stored)
    relative = os.path.relpath(stored[0], args.media_root)
    status, _, _ = Browser(args.https).request(f"/protected/{relative}")
    check(status == 404, "nginx's internal /protected/ location is not reachable from outside", status)
    status, _, body = Browser(args.https).request(photo_url)
    check(status in (302, 401, 403, 404) and body != PNG, "photo denied without a session", status)
    status, headers, body = staff.request(photo_url)
    if args.photo_view:
        check(status == 200 and body == PNG, "protected photo served with a session", status)
        check("X-Accel-Redirect" not in headers, "nginx consumed X-Accel-Redirect (served the file itself)")
        check("private" in headers.get("Cache-Control", ""), "photo not kept by shared caches", headers)
    else:
        # this build has no view that authorises uploads: nothing is served at all, which leaks nothing
        check(status == 404, "photo refused even with a session (no media view in this build)", status)
        print(
            "NOTE this build has no view authorising uploads (/media/ resolves to none): served-with-session skipped"
        )

    # metrics: refused through nginx, served to loopback
    status, _, _ = Browser(args.https).request("/metrics")
    check(status == 404, "/metrics not served through nginx", status)
    status, _, body = Browser(args.app).request("/metrics")
    text = body.decode()
    check(
        status == 200 and 'tongxin_cases_intake_total{channel="api"} 1.0' in text,
        "/metrics on loopback",
        text[-500:],
    )
    check(
        "tongxin_http_request_duration_seconds_bucket" in text, "request latency summed over gunicorn workers"
    )
    check("tongxin_worker_heartbeat_timestamp_seconds" in text, "worker heartbeat in metrics")


if __name__ == "__main__":
    main()
    print(f"prodstack: {PASSED[0]} passed, 0 failed")
