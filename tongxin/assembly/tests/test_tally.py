"""The arithmetic of 民法典 第二百七十八条 at its boundaries, on exact numbers.

Given rows (person, area, choice) of an electorate, when they are counted, then the quorum (两个三分之二以上), the
three-quarters majority of items (六)–(八) and the more-than-half of the other items hold exactly at the numbers the
law names ("以上" includes the number, "过半数" does not include half)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from tongxin.assembly.choices import Choice, Electorate, OwnersItem
from tongxin.assembly.tally import count

A, X, N = Choice.AGREE, Choice.AGAINST, None
H = Decimal("100.00")


def owners(rows, item=OwnersItem.USE_FUND):
    return count(rows, Electorate.OWNERS, item)


def test_exactly_two_thirds_of_area_and_of_owners_meets_the_quorum():
    """Given 6 owners of 100 m² and 4 of them (400 of 600 m²) voting, then the quorum is met exactly."""
    t = owners([("a", H, A), ("b", H, A), ("c", H, A), ("d", H, X), ("e", H, N), ("f", H, N)])
    assert (t.participating_area, t.total_area) == (Decimal("400.00"), Decimal("600.00"))
    assert (t.participating_heads, t.total_heads) == (4, 6)
    assert t.quorum_area_met and t.quorum_heads_met and t.quorum_met


def test_one_square_metre_less_misses_the_quorum():
    """Given the same owners but one voter's flat 1 m² smaller (and a non-voter's 1 m² larger), then 399 of 600 m²
    is less than two thirds: no quorum, though two thirds of the owners took part."""
    t = owners(
        [
            ("a", Decimal("99.00"), A),
            ("b", H, A),
            ("c", H, A),
            ("d", H, X),
            ("e", Decimal("101"), N),
            ("f", H, N),
        ]
    )
    assert t.quorum_heads_met
    assert not t.quorum_area_met
    assert not t.passed


def test_two_thirds_of_area_with_one_owner_too_few_misses_the_quorum():
    """Given 2/3 of the area voting but only 3 of 6 owners (one big flat), then the headcount test fails."""
    t = owners(
        [
            ("a", Decimal("200"), A),
            ("b", H, A),
            ("c", H, A),
            ("d", H, N),
            ("e", Decimal("50"), N),
            ("f", Decimal("50"), N),
        ]
    )
    assert t.quorum_area_met and not t.quorum_heads_met


def test_exactly_three_quarters_passes_items_six_to_eight():
    """Given 4 participants and 3 agreeing (3/4 of area and of heads), then an item (六)–(八) passes; one agreeing
    owner fewer (by area) fails it."""
    rows = [("a", H, A), ("b", H, A), ("c", H, A), ("d", H, X), ("e", H, N), ("f", H, N)]
    for item in (OwnersItem.RAISE_FUND, OwnersItem.REBUILD, OwnersItem.COMMON_PARTS):
        t = owners(rows, item)
        assert t.supermajority and t.passed, item
    short = [("a", Decimal("99.99"), A), *rows[1:3], ("d", Decimal("100.01"), X), *rows[4:]]
    t = owners(short, OwnersItem.REBUILD)
    assert t.quorum_met and t.agree_heads_met and not t.agree_area_met and not t.passed


def test_exactly_half_fails_an_ordinary_item_and_more_than_half_passes():
    """Given 4 participants and 2 agreeing, then exactly half is not 过半数: fails; 3 agreeing passes."""
    half = owners(
        [("a", H, A), ("b", H, A), ("c", H, X), ("d", H, X), ("e", H, N), ("f", H, N)], OwnersItem.COMMITTEE
    )
    assert half.quorum_met and not half.agree_area_met and not half.agree_heads_met and not half.passed
    more = owners(
        [("a", H, A), ("b", H, A), ("c", H, A), ("d", H, X), ("e", H, N), ("f", H, N)], OwnersItem.COMMITTEE
    )
    assert more.passed and not more.supermajority


def test_abstentions_take_part_but_do_not_agree():
    t = owners(
        [
            ("a", H, A),
            ("b", H, A),
            ("c", H, Choice.ABSTAIN),
            ("d", H, Choice.ABSTAIN),
            ("e", H, N),
            ("f", H, N),
        ]
    )
    assert t.quorum_met and not t.passed


def test_one_owner_with_three_flats_counts_once():
    """Given one buyer owning three flats who votes all three, then the area counts three times and the head once."""
    t = owners([("r1", H, A), ("r1", H, A), ("r1", H, A), ("r2", H, X), ("r3", H, N)])
    assert t.total_heads == 3 and t.participating_heads == 2
    assert t.heads[A] == 1 and t.area[A] == Decimal("300.00")


def test_an_owner_voting_his_flats_differently_splits_his_head_exactly():
    t = owners([("r1", H, A), ("r1", H, A), ("r1", H, X), ("r2", H, X)])
    assert t.heads[A] == Fraction(2, 3) and t.heads[X] == Fraction(4, 3)
    assert sum(t.heads.values()) == t.participating_heads == 2


def test_the_developers_unsold_flats_count_as_one_owner():
    t = owners([("developer", H, N)] * 10 + [("r1", H, A), ("r2", H, A)])
    assert t.total_heads == 3 and t.total_area == Decimal("1200.00")
    assert not t.quorum_area_met  # the developer's area still counts in the total


def test_households_vote_more_than_half_take_part_and_more_than_half_agree():
    t = count([("d1", 0, A), ("d2", 0, A), ("d3", 0, X), ("d4", 0, N)], Electorate.HOUSEHOLDS)
    assert t.quorum_met and t.passed  # 3 of 4 took part, 2 of 3 agree
    t = count([("d1", 0, A), ("d2", 0, N), ("d3", 0, N), ("d4", 0, N)], Electorate.HOUSEHOLDS)
    assert not t.quorum_met  # 1 of 4 is not more than half


def test_the_result_sheet_is_json_with_exact_numbers():
    t = owners([("r1", H, A), ("r1", H, X), ("r2", H, A)])
    d = t.as_dict()
    assert d["heads"]["agree"] == "3/2" and d["area"]["agree"] == "200.00"
    assert "第二百七十八条" in d["rule"]
