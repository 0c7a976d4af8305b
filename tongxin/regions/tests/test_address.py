import pytest

from tongxin.regions.address import resolve_address, split_address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("锦绣江山3栋2单元501", ("锦绣江山", "3", "2", "501")),
        ("满庭春小区 5号楼", ("满庭春", "5", None, None)),
        ("富丰新城12幢1单元1203室", ("富丰新城", "12", "1", "1203")),
        ("锦绣江山3-2-501", ("锦绣江山", "3", "2", "501")),
    ],
)
def test_address_text_splits_into_estate_building_entrance_dwelling(text, expected):
    parsed = split_address(text, ["锦绣江山", "满庭春", "富丰新城"])
    assert parsed is not None
    assert (parsed.estate_text, parsed.building, parsed.entrance, parsed.dwelling) == expected


def test_unknown_estate_resolves_nowhere(world):
    assert not resolve_address("火星小区1栋").found


def test_a_flat_resolves_in_three_queries(world, django_assert_num_queries):
    # given 锦绣江山3栋2单元501 in the registry
    # when staff type the full address, then the dwelling is found with at most three small queries
    with django_assert_num_queries(3):
        place = resolve_address("锦绣江山3栋2单元501")
    assert place.dwelling == world.dwellings["a1"]
    assert place.level == "dwelling" and place.building.number == "3"
    # and a building alone, or a building that does not exist, stops at the most precise known place
    assert resolve_address("锦绣江山5栋").level == "building"
    assert resolve_address("锦绣江山9栋2单元501").level == "estate"
