"""Category suggestion at intake: keyword rules first, then a model learned from the community's own decisions.

How it works
- **Keywords.** Every category carries keywords (``Category.keywords``); a text scores one point per keyword it
  contains, longer keywords weigh a little more. Used when no model has been trained yet (too little data).
- **Learned model.** Character 1–3-grams (no word segmentation needed, no dictionary to ship) weighted by TF-IDF,
  and a multinomial logistic regression (scikit-learn) trained on the *final* category of resolved/closed cases
  (what the community actually decided) plus every staff correction (:class:`CategoryFeedback`, weighted double).
  Training runs in a Huey task (:mod:`tongxin.cases.ml_tasks`). Once a model exists the keyword rules keep 30 % of
  the vote, so a category the model has seen little of is still found by its keywords.
- **Storage.** The trained model is stored in the database (:class:`SuggestionModel`) as a NumPy ``.npz`` blob
  (vocabulary, idf, coefficients; loaded with ``allow_pickle=False`` — no pickle, so a row in the database can
  never execute code). Every app server picks up a new model by version number; inference is plain NumPy
  (a few dozen array lookups), well under a millisecond.
"""

from __future__ import annotations

import io
import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

NGRAM_RANGE = (1, 3)
# Below this many labelled examples (or fewer than two categories) the keyword rules answer.
MIN_TRAINING_EXAMPLES = 30
MAX_TRAINING_EXAMPLES = 200_000
CORRECTION_WEIGHT = 2.0
MODEL_RECHECK_SECONDS = 30.0
# Share of the keyword rules in the final confidence once a model exists.
KEYWORD_WEIGHT = 0.3


@dataclass(frozen=True)
class Suggestion:
    code: str
    name: str
    confidence: float  # 0..1
    source: str  # "model" or "keywords"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "confidence": round(self.confidence, 3),
            "source": self.source,
        }


def normalise(text: str) -> str:
    """Lower-case, drop whitespace and punctuation that carry no meaning for the category."""
    out = []
    for ch in (text or "").lower():
        if ch.isalnum():
            out.append(ch)
        elif out and out[-1] != " ":
            out.append(" ")
    return "".join(out).strip()


def char_ngrams(text: str, lo: int = NGRAM_RANGE[0], hi: int = NGRAM_RANGE[1]) -> list[str]:
    """Character n-grams within each run of letters/digits (the same analyzer for training and inference)."""
    grams: list[str] = []
    for word in normalise(text).split(" "):
        n_chars = len(word)
        for n in range(lo, hi + 1):
            for i in range(n_chars - n + 1):
                grams.append(word[i : i + n])
    return grams


# ---------------------------------------------------------------------------------------------------------
# Keyword rules


def keyword_scores(text: str, keywords: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Score per category code: each keyword found counts 1 + 0.25 per character beyond the second."""
    cleaned = normalise(text).replace(" ", "")
    scores: dict[str, float] = {}
    for code, words in keywords.items():
        score = 0.0
        for w in words:
            w = normalise(w).replace(" ", "")
            if w and w in cleaned:
                score += 1.0 + 0.25 * max(0, len(w) - 2)
        if score:
            scores[code] = score
    return scores


def keyword_suggestions(
    text: str, keywords: Mapping[str, Sequence[str]], names: dict[str, str], k: int = 3
) -> list[Suggestion]:
    scores = keyword_scores(text, keywords)
    total = sum(scores.values())
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return [Suggestion(code, names.get(code, code), s / total, "keywords") for code, s in ranked]


# ---------------------------------------------------------------------------------------------------------
# The learned model


@dataclass
class TrainedModel:
    vocabulary: dict[str, int]
    idf: np.ndarray  # (n_features,)
    coef: np.ndarray  # (n_classes, n_features), float32
    intercept: np.ndarray  # (n_classes,)
    classes: list[str]

    def predict(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        counts: dict[int, int] = {}
        vocab = self.vocabulary
        for g in char_ngrams(text):
            j = vocab.get(g)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if counts:
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            # sublinear tf, as in training
            tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
            w = tf * self.idf[idx]
            norm = math.sqrt(float(w @ w)) or 1.0
            logits = self.coef[:, idx] @ (w / norm) + self.intercept
        else:
            logits = self.intercept.astype(np.float64)
        logits = logits - logits.max()
        p = np.exp(logits)
        p /= p.sum()
        order = np.argsort(-p)[:k]
        return [(self.classes[i], float(p[i])) for i in order]

    def to_bytes(self) -> bytes:
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            terms=np.array(terms, dtype=str),
            idf=self.idf.astype(np.float32),
            coef=self.coef.astype(np.float32),
            intercept=self.intercept.astype(np.float32),
            classes=np.array(self.classes, dtype=str),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes | memoryview) -> TrainedModel:
        with np.load(io.BytesIO(bytes(blob)), allow_pickle=False) as z:
            terms = [str(t) for t in z["terms"]]
            return cls(
                vocabulary={t: i for i, t in enumerate(terms)},
                idf=z["idf"].astype(np.float64),
                coef=z["coef"].astype(np.float32),
                intercept=z["intercept"].astype(np.float64),
                classes=[str(c) for c in z["classes"]],
            )


def train(
    texts: Sequence[str], labels: Sequence[str], weights: Sequence[float] | None = None
) -> TrainedModel | None:
    """Fit TF-IDF character n-grams + multinomial logistic regression; None when there is too little data."""
    if len(texts) < MIN_TRAINING_EXAMPLES or len(set(labels)) < 2:
        return None
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer=char_ngrams, sublinear_tf=True, min_df=1, max_features=50_000)
    x = vectorizer.fit_transform(texts)
    clf = LogisticRegression(C=10.0, max_iter=300)
    clf.fit(x, list(labels), sample_weight=None if weights is None else np.asarray(weights, dtype=float))
    return TrainedModel(
        vocabulary={str(t): int(i) for t, i in vectorizer.vocabulary_.items()},
        idf=vectorizer.idf_.astype(np.float64),
        coef=clf.coef_.astype(np.float32),
        intercept=clf.intercept_.astype(np.float64),
        classes=[str(c) for c in clf.classes_],
    )


# ---------------------------------------------------------------------------------------------------------
# Database side: training data, the stored model, the suggestion entry point


def training_examples(limit: int = MAX_TRAINING_EXAMPLES) -> tuple[list[str], list[str], list[float]]:
    """Past decisions: the final category of resolved/closed cases, and staff corrections (weighted double)."""
    from tongxin.cases.choices import CaseState
    from tongxin.cases.models import Case
    from tongxin.cases.routing.models import CategoryFeedback

    texts: list[str] = []
    labels: list[str] = []
    weights: list[float] = []
    decided = (
        Case.objects.filter(
            state__in=[CaseState.RESOLVED, CaseState.CLOSED], category__isnull=False, category__active=True
        )
        .order_by("-pk")
        .values_list("description", "category__service_code")[:limit]
    )
    for text, code in decided:
        texts.append(text)
        labels.append(code)
        weights.append(1.0)
    corrections = (
        CategoryFeedback.objects.filter(chosen__active=True)
        .exclude(text="")
        .order_by("-pk")
        .values_list("text", "chosen__service_code", "corrected")[: limit // 4]
    )
    for text, code, corrected in corrections:
        texts.append(text)
        labels.append(code)
        weights.append(CORRECTION_WEIGHT if corrected else 1.0)
    return texts, labels, weights


def retrain() -> Any:
    """Train on the community's past decisions and store a new model version; returns the row or None."""
    from tongxin.cases.routing.models import SuggestionModel

    texts, labels, weights = training_examples()
    started = time.perf_counter()
    model = train(texts, labels, weights)
    if model is None:
        return None
    row = SuggestionModel.objects.create(
        blob=model.to_bytes(),
        examples=len(texts),
        classes=len(model.classes),
        features=len(model.vocabulary),
        train_seconds=round(time.perf_counter() - started, 3),
    )
    # keep the last few versions only
    old = SuggestionModel.objects.order_by("-pk").values_list("pk", flat=True)[5:]
    SuggestionModel.objects.filter(pk__in=list(old)).delete()
    return row


class _ModelCache:
    """One loaded model per process, refreshed when a newer version appears (checked every 30 s)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.version: int | None = None
        self.model: TrainedModel | None = None
        self.checked_at = 0.0

    def get(self, force: bool = False) -> TrainedModel | None:
        from tongxin.cases.routing.models import SuggestionModel

        now = time.monotonic()
        if not force and now - self.checked_at < MODEL_RECHECK_SECONDS:
            return self.model
        latest = SuggestionModel.objects.order_by("-pk").values_list("pk", flat=True).first()
        with self.lock:
            self.checked_at = now
            if latest is None:
                self.version, self.model = None, None
            elif latest != self.version:
                blob = SuggestionModel.objects.filter(pk=latest).values_list("blob", flat=True).first()
                self.model = TrainedModel.from_bytes(blob) if blob is not None else None
                self.version = latest
            return self.model

    def clear(self) -> None:
        with self.lock:
            self.version, self.model, self.checked_at = None, None, 0.0


model_cache = _ModelCache()


class _CategoryCache:
    """Active categories (code → name, keywords), reloaded every 30 s; categories change rarely."""

    def __init__(self) -> None:
        self.loaded_at = -1e9
        self.names: dict[str, str] = {}
        self.keywords: dict[str, list[str]] = {}

    def get(self, force: bool = False) -> tuple[dict[str, str], dict[str, list[str]]]:
        from tongxin.cases.models import Category

        if force or time.monotonic() - self.loaded_at > MODEL_RECHECK_SECONDS:
            names: dict[str, str] = {}
            keywords: dict[str, list[str]] = {}
            for code, name, kw in Category.objects.filter(active=True).values_list(
                "service_code", "name", "keywords"
            ):
                names[code] = name
                keywords[code] = split_keywords(kw)
            self.names, self.keywords, self.loaded_at = names, keywords, time.monotonic()
        return self.names, self.keywords

    def clear(self) -> None:
        self.loaded_at = -1e9


category_cache = _CategoryCache()


def split_keywords(value: Any) -> list[str]:
    """Category keywords may be a list or a string separated by commas, spaces or 、."""
    if not value:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    import re

    return [w for w in re.split(r"[\s,，、;；|]+", str(value)) if w]


def suggest(text: str, k: int = 3, *, fresh: bool = False) -> list[Suggestion]:
    """Top ``k`` categories for ``text`` with a confidence in 0..1 (the learned model, else the keywords)."""
    if not (text or "").strip():
        return []
    names, keywords = category_cache.get(force=fresh)
    model = model_cache.get(force=fresh)
    if model is not None:
        probs = {c: p for c, p in model.predict(text, k=len(model.classes)) if c in names}
        kw = keyword_scores(text, keywords)
        if kw and probs:
            # the rules still vote (weight KEYWORD_WEIGHT): a young model has not seen every category yet
            total = sum(kw.values())
            probs = {
                c: (1 - KEYWORD_WEIGHT) * probs.get(c, 0.0) + KEYWORD_WEIGHT * kw.get(c, 0.0) / total
                for c in set(probs) | set(kw)
                if c in names
            }
        ranked = sorted(probs.items(), key=lambda cp: (-cp[1], cp[0]))[:k]
        if ranked:
            return [Suggestion(c, names[c], p, "model") for c, p in ranked]
    return keyword_suggestions(text, keywords, names, k)


def record_feedback(*, text: str, suggested: Iterable[str], chosen: Any, user: Any, case: Any = None) -> Any:
    """Record what staff chose after seeing suggestions; a choice other than the top one is a correction."""
    from tongxin.cases.routing.models import CategoryFeedback
    from tongxin.core import audit

    suggested = [s for s in suggested if s][:3]
    fb = CategoryFeedback.objects.create(
        case=case,
        text=(text or "")[:4000],
        suggested=suggested,
        chosen=chosen,
        corrected=bool(suggested) and suggested[0] != chosen.service_code,
        user=user if getattr(user, "is_authenticated", False) else None,
    )
    audit.record("create", fb, actor=user, after={"chosen": chosen.service_code, "suggested": suggested})
    return fb
