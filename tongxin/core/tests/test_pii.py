import datetime as dt

import pytest

from tongxin.core import pii


def test_valid_id_number_gives_birth_date_and_gender():
    # given a synthetic id number with a valid checksum
    number = pii.generate_id_number("429004", dt.date(1985, 7, 9), 17, female=True)
    # when it is parsed
    info = pii.parse_id_number(number)
    # then birth date and gender come from it
    assert info.birth_date == dt.date(1985, 7, 9)
    assert info.gender == "F"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("42900419850709", "18位"),
        ("99900419850709123X", "地区码"),
        ("429004198513091234", "出生日期"),
    ],
)
def test_invalid_id_numbers_say_what_is_wrong(bad, reason):
    with pytest.raises(pii.PIIError) as err:
        pii.parse_id_number(bad)
    assert reason in str(err.value)


def test_checksum_is_checked():
    number = pii.generate_id_number("110101", dt.date(1990, 1, 1), 5, female=False)
    wrong = number[:17] + ("1" if number[17] != "1" else "2")
    with pytest.raises(pii.PIIError, match="校验位"):
        pii.parse_id_number(wrong)


def test_mask_keeps_first_three_and_last_four():
    assert pii.mask("110101199001011234") == "110***********1234"
    assert pii.mask("13912345678") == "139****5678"


def test_encryption_round_trips_and_is_not_clear_text(settings):
    token = pii.encrypt("13912345678")
    assert "13912345678" not in token
    assert pii.decrypt(token) == "13912345678"
    assert pii.lookup_hash("13912345678") == pii.lookup_hash(" 13912345678 ")
