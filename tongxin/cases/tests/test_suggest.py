"""Category suggestion: keyword rules without data, a learned model after training, staff corrections."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from tongxin.cases import suggest
from tongxin.cases.choices import CaseState, Channel
from tongxin.cases.ml_tasks import retrain_suggestion_model
from tongxin.cases.models import Case, Category
from tongxin.cases.routing import corpus
from tongxin.cases.routing.models import CategoryFeedback, SuggestionModel


@pytest.fixture(autouse=True)
def _fresh_caches():
    suggest.model_cache.clear()
    suggest.category_cache.clear()
    yield
    suggest.model_cache.clear()
    suggest.category_cache.clear()


def decided_cases(world, pairs, state=CaseState.CLOSED):
    """Cases the community already decided (closed with their final category): the training data."""
    cats = {c.service_code: c for c in Category.objects.all()}
    d = world.dwellings["a1"]
    now = timezone.now()
    Case.objects.bulk_create(
        Case(
            number=f"T{i:012d}",
            receipt_code=f"R{i:09d}",
            channel=Channel.HOTLINE,
            category=cats[code],
            description=text,
            state=state,
            dwelling=d,
            building_id=d.building_id,
            estate_id=d.estate_id,
            community_id=d.community_id,
            subdistrict_id=d.subdistrict_id,
            grid_id=d.grid_id,
            submitted_at=now,
        )
        for i, (text, code) in enumerate(pairs)
    )


def test_keywords_answer_while_there_is_no_model(db):
    # given the default categories and no trained model
    assert not SuggestionModel.objects.exists()
    # when a resident writes about a leaking roof
    got = suggest.suggest("楼顶漏水，天花板一直滴水")
    # then the keyword rules put 房屋漏水 first, with a confidence, at most three
    assert got[0].code == "repairs-leak"
    assert got[0].source == "keywords"
    assert 0 < got[0].confidence <= 1
    assert len(got) <= 3
    assert abs(sum(s.confidence for s in got) - 1) < 1e-6 or len(got) == 3


def test_too_little_data_trains_nothing(world):
    # given only a handful of decided cases
    decided_cases(world, corpus.texts(1)[:5])
    # when the background task runs
    assert retrain_suggestion_model.call_local() is None
    # then no model is stored and keywords still answer
    assert not SuggestionModel.objects.exists()
    assert suggest.suggest("垃圾没人清运", fresh=True)[0].source == "keywords"


TYPICAL = [
    ("我家卫生间漏水到楼下了", "repairs-leak"),
    ("垃圾桶满了没人清理", "environment"),
    ("楼上半夜噪音很大", "public-order"),
    ("整个单元停电了", "utilities"),
    ("想咨询一下医保政策", "policy-question"),
]


def test_model_trained_on_past_decisions_suggests_top3(world):
    # given closed cases whose final category the community decided (a small labelled set)
    decided_cases(world, corpus.texts(8))
    # when the Huey task retrains
    version = retrain_suggestion_model.call_local()
    assert version is not None
    for text, expected in TYPICAL:
        # then typical texts get the right category first, from the model, with ranked confidences in 0..1
        got = suggest.suggest(text, fresh=True)
        assert [s.source for s in got] == ["model"] * 3, text
        assert got[0].code == expected, (text, got)
        assert all(0 <= s.confidence <= 1 for s in got)
        assert got[0].confidence >= got[1].confidence >= got[2].confidence


def test_model_ignores_open_cases_and_learns_from_corrections(world, django_user_model):
    # given open cases only (not decisions yet) → too little data
    decided_cases(world, corpus.texts(8), state=CaseState.SUBMITTED)
    assert suggest.retrain() is None
    # when staff correct suggestions often enough: "电动车乱停" is parking, not public order
    staff = world.users["staff_a"]
    parking = Category.objects.get(service_code="parking")
    for text, code in corpus.texts(4):
        fb = suggest.record_feedback(
            text=text, suggested=["public-order"], chosen=Category.objects.get(service_code=code), user=staff
        )
    fb = suggest.record_feedback(text="电动车乱停放", suggested=["public-order"], chosen=parking, user=staff)
    # then corrections are recorded (and audited) as training data and the model learns from them
    assert fb.corrected is True
    assert CategoryFeedback.objects.filter(corrected=True).count() >= 40
    row = suggest.retrain()
    assert row is not None and row.examples == CategoryFeedback.objects.count()
    assert suggest.suggest("电动车在楼下乱停放", fresh=True)[0].code == "parking"


def test_confirmation_is_not_a_correction(world):
    staff = world.users["staff_a"]
    leak = Category.objects.get(service_code="repairs-leak")
    fb = suggest.record_feedback(text="漏水", suggested=["repairs-leak", "repairs"], chosen=leak, user=staff)
    assert fb.corrected is False


def test_stored_model_round_trips_without_pickle_and_is_fast(world):
    # given a trained model stored in the database
    decided_cases(world, corpus.texts(8))
    row = suggest.retrain()
    # when another app server loads it (bytes only, allow_pickle=False)
    loaded = suggest.TrainedModel.from_bytes(SuggestionModel.objects.get(pk=row.pk).blob)
    # then it predicts the same as the freshly trained one, well within 20 ms per suggestion
    texts, labels = zip(*corpus.texts(8), strict=True)
    again = suggest.train(list(texts), list(labels))
    assert loaded.predict("天花板漏水")[0][0] == again.predict("天花板漏水")[0][0]
    suggest.suggest("暖", fresh=True)
    started = time.perf_counter()
    for _ in range(50):
        suggest.suggest("楼道灯坏了好几天")
    assert (time.perf_counter() - started) / 50 < 0.02


def test_blank_text_suggests_nothing(db):
    assert suggest.suggest("   ") == []


def test_keywords_still_vote_for_a_category_the_model_has_not_seen(world):
    # given a model trained on decisions that never included 水电气暖 (utilities)
    decided_cases(world, [(t, c) for t, c in corpus.texts(6) if c != "utilities"])
    assert suggest.retrain() is not None
    # when a resident reports a power cut
    got = suggest.suggest("整栋楼停电了", fresh=True)
    # then the keyword rules still bring utilities into the top 3
    assert "utilities" in [s.code for s in got]
    assert got[0].source == "model"
