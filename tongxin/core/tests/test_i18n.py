from django.conf import settings
from django.test import Client

from tongxin.core import i18n_check


def test_every_user_facing_string_has_an_english_translation():
    # given every Chinese msgid used in code and templates, then each has an English translation
    assert i18n_check.missing() == {}


def test_chinese_is_the_default_and_english_is_one_switch_away(db):
    # given a visitor with no language preference
    client = Client()
    # when they open the login page, then it speaks Simplified Chinese
    page = client.get("/login/").content.decode()
    assert "登录同心" in page and 'lang="zh-hans"' in page
    # when they switch to English, then the same page speaks English
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    page = client.get("/login/").content.decode()
    assert "Sign in to Tongxin" in page and 'lang="en"' in page
    assert settings.LANGUAGE_CODE == "zh-hans"
