"""Repeated failed logins in a real browser: a stranger guessing from one address cannot lock the real user out
at theirs; after a few failures the login page asks for the captcha, a wrong answer is refused in plain Chinese,
the right one lets the user in.

The live server sits behind a "proxy" here: 127.0.0.1 is a trusted proxy, and each browser sends the
``X-Forwarded-For`` that nginx would set, so the app sees the stranger and the user at two different addresses
(tongxin.core.middleware.client_ip), as it does in production.
"""

from __future__ import annotations

from importlib import import_module

import pytest
from django.conf import settings as django_settings

from tongxin.conftest import DESKTOP, PASSWORD, PHONE, make_user
from tongxin.core import captcha

pytestmark = pytest.mark.browser

CAPTCHA_MESSAGE = "请正确填写图中算式的结果"
LOCKED_MESSAGE = "登录失败次数过多，请稍后再试；如需立即登录，请联系管理员。"
SIGNED_IN = "a[href='/logout/'], form[action='/logout/']"


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1", "::1"]
    settings.LOGIN_MAX_FAILURES = 5
    settings.LOGIN_CAPTCHA_AFTER = 3
    settings.LOGIN_NAME_CAPTCHA_AFTER = 10
    # The counters are fixed windows of this length (tongxin.core.throttle): a browser test takes long enough to
    # cross a 15-minute boundary now and then, which would start the counts afresh mid-test. Nothing crosses one
    # of 10**9 seconds before 2033.
    settings.LOGIN_LOCKOUT_SECONDS = 10**9


def _browser_at(new_page, address: str, viewport=DESKTOP):
    page = new_page(viewport)
    page.context.set_extra_http_headers({"X-Forwarded-For": address})
    return page


def _submit(page, username: str, password: str, answer: str | None = None) -> None:
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    if answer is not None:
        page.fill("#id_captcha", answer)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _alert(page) -> str:
    alert = page.locator("div.error[role=alert]")
    return alert.inner_text() if alert.count() else ""


def _captcha_answer(page) -> str:
    """What a person reads off the image: the sum the server drew, recovered from the keyed hash it keeps in this
    browser's session (the test knows the server's secret; a bot does not)."""
    page.wait_for_function(
        "() => { const i = document.querySelector('.captcha img'); return i && i.complete && i.naturalWidth > 0 }"
    )
    cookie = next(c for c in page.context.cookies() if c["name"] == django_settings.SESSION_COOKIE_NAME)
    session = import_module(django_settings.SESSION_ENGINE).SessionStore(session_key=cookie["value"]).load()
    state = session[captcha.SESSION_KEY]
    (answer,) = [str(n) for n in range(2, 19) if captcha._digest(state["nonce"], str(n)) == state["digest"]]
    return answer


def _signed_in(page) -> bool:
    return page.locator(SIGNED_IN).count() > 0 and "/login/" not in page.url


def test_a_stranger_guessing_from_one_address_does_not_lock_out_the_user_at_another(
    live_server, transactional_db, behind_proxy, new_page
):
    # given a community worker's account, and a stranger at 198.51.100.66 guessing its password
    make_user("clerk", is_staff=True)
    stranger = _browser_at(new_page, "198.51.100.66")
    stranger.goto("/login/")
    assert stranger.locator("#id_captcha").count() == 0
    # when the stranger fails three times, then the page asks for the captcha from then on
    for _ in range(3):
        _submit(stranger, "clerk", "guess-123")
    assert stranger.locator("#id_captcha").is_visible() and stranger.locator(".captcha img").is_visible()
    # when the stranger answers the captcha (a human helping the guesser) and fails twice more
    for _ in range(2):
        _submit(stranger, "clerk", "guess-456", _captcha_answer(stranger))
    # then from the stranger's address even the right password is refused, with the lockout message, which is the
    # same whether or not the account exists
    _submit(stranger, "clerk", PASSWORD, _captcha_answer(stranger))
    assert _alert(stranger) == LOCKED_MESSAGE and not _signed_in(stranger)
    # when the real user, at 192.0.2.20 on their phone, signs in with their password
    user = _browser_at(new_page, "192.0.2.20", PHONE)
    user.goto("/login/")
    # then no captcha is asked (their address has no failures, the name fewer than LOGIN_NAME_CAPTCHA_AFTER)
    assert user.locator("#id_captcha").count() == 0
    _submit(user, "clerk", PASSWORD)
    # and they are in
    assert _signed_in(user), (user.url, _alert(user))
    assert user.outside_requests == [] and stranger.outside_requests == []


def test_after_repeated_failures_the_captcha_is_asked_and_checked(
    live_server, transactional_db, behind_proxy, new_page
):
    # given a user at their desk who mistyped their password three times
    make_user("clerk", is_staff=True)
    page = _browser_at(new_page, "192.0.2.30")
    page.goto("/login/")
    for _ in range(3):
        _submit(page, "clerk", "typo-typo")
    assert _alert(page).startswith("请输入一个正确的用户名和密码"), _alert(page)
    # then the login page shows the captcha: a label in Chinese, an image drawn by the server, a field
    assert page.locator("label[for=id_captcha]").inner_text().startswith("验证码")
    assert page.locator(".captcha img").evaluate("i => i.naturalWidth") == 180
    # when they give the right password with a wrong answer
    right = _captcha_answer(page)
    _submit(page, "clerk", PASSWORD, str(int(right) + 1))
    # then they are refused with a clear Chinese message, and a new captcha is shown
    assert _alert(page) == CAPTCHA_MESSAGE and not _signed_in(page)
    assert page.locator("#id_captcha").is_visible()
    # when they leave the answer out, then the browser does not even send the form
    page.fill("#id_username", "clerk")
    page.fill("#id_password", PASSWORD)
    page.fill("#id_captcha", "")
    page.click("button[type=submit]")
    assert page.evaluate("document.querySelector('#id_captcha').validity.valueMissing")
    # when they answer the new captcha right
    _submit(page, "clerk", PASSWORD, _captcha_answer(page))
    # then they are signed in
    assert _signed_in(page), (page.url, _alert(page))
    assert page.outside_requests == []
