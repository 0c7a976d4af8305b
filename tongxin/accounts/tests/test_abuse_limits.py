"""SMS codes are limited per number, per client address (with a captcha first) and for the whole site."""

from __future__ import annotations

from django.test import Client

URL = "/m/login/"


def test_one_address_cannot_send_codes_to_many_numbers(world, sms, settings, monkeypatch):
    # given the limits: a captcha from the 2nd code of the hour, at most 4 codes per address
    settings.OTP_CAPTCHA_AFTER = 2
    settings.OTP_MAX_PER_IP_HOUR = 4
    c = Client(REMOTE_ADDR="198.51.100.30")
    # when one client asks codes for different numbers
    c.post(URL, {"phone": "13712340001"})
    c.post(URL, {"phone": "13712340002", "again": "1"})
    assert len(sms) == 2
    # then the third needs the captcha: without it nothing is sent
    page = c.post(URL, {"phone": "13712340003"}).content.decode()
    assert len(sms) == 2 and "算式" in page
    assert 'name="captcha"' in c.get(URL, {"again": "1"}).content.decode()
    # and with the right answer it goes out
    from tongxin.core import captcha

    monkeypatch.setattr(captcha.secrets, "randbelow", lambda n: 1)  # 2 + 2
    c.get("/captcha.png")
    c.post(URL, {"phone": "13712340003", "captcha": "4"})
    assert len(sms) == 3
    c.get("/captcha.png")
    c.post(URL, {"phone": "13712340004", "captcha": "4"})
    assert len(sms) == 4
    # and past the address's budget nothing more is sent, captcha or not
    c.get("/captcha.png")
    page = c.post(URL, {"phone": "13712340005", "captcha": "4"}).content.decode()
    assert len(sms) == 4 and "过于频繁" in page
    # while another address is not affected
    other = Client(REMOTE_ADDR="192.0.2.31")
    other.post(URL, {"phone": "13712340006"})
    assert len(sms) == 5


def test_forged_forwarded_for_does_not_reset_the_address_budget(world, sms, settings):
    # given no trusted proxies and a budget of 2 codes per address (captcha out of the way)
    settings.OTP_CAPTCHA_AFTER = 100
    settings.OTP_MAX_PER_IP_HOUR = 2
    for n in range(4):
        # when each request claims another X-Forwarded-For
        Client(REMOTE_ADDR="198.51.100.32", HTTP_X_FORWARDED_FOR=f"6.6.6.{n}").post(
            URL, {"phone": f"1371234010{n}"}
        )
    # then the real address's budget holds
    assert len(sms) == 2


def test_the_site_has_a_global_budget_of_codes(world, sms, settings):
    # given a global budget of 3 codes per hour
    settings.OTP_GLOBAL_PER_HOUR = 3
    settings.OTP_CAPTCHA_AFTER = 100
    # when clients at different addresses ask codes for different numbers
    pages = [
        Client(REMOTE_ADDR=f"192.0.2.{40 + n}").post(URL, {"phone": f"1371234020{n}"}).content.decode()
        for n in range(5)
    ]
    # then only three are sent and the others are told to wait
    assert len(sms) == 3
    assert "短信发送繁忙" in pages[3] and "短信发送繁忙" in pages[4]
