"""Category suggestion speed: train on a labelled set, then time ``suggest()`` per text (target ≤ 20 ms).

Trains with :func:`tongxin.cases.suggest.train` on ``--per-category`` examples of each default category (the
corpus in :mod:`tongxin.cases.routing.corpus`), stores the model like the Huey task does, loads it back from the
database and times the full entry point ``suggest(text)`` (category cache + model inference) over many texts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tongxin_bench_cases .venv/bin/python bench/bench_cases_suggest.py
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-category", type=int, default=2000)
    p.add_argument("--texts", type=int, default=2000)
    args = p.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tongxin_bench_cases")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    import django

    django.setup()
    from tongxin.cases import suggest
    from tongxin.cases.routing import corpus
    from tongxin.cases.routing.models import SuggestionModel

    pairs = corpus.texts(args.per_category)
    texts, labels = [t for t, _ in pairs], [c for _, c in pairs]
    t = time.perf_counter()
    model = suggest.train(texts, labels)
    train_s = time.perf_counter() - t
    assert model is not None
    blob = model.to_bytes()
    row = SuggestionModel.objects.create(
        blob=blob, examples=len(texts), classes=len(model.classes), features=len(model.vocabulary)
    )
    suggest.model_cache.clear()
    suggest.category_cache.clear()
    t = time.perf_counter()
    suggest.suggest("漏水", fresh=True)
    load_ms = 1000 * (time.perf_counter() - t)
    probe = [t for t, _ in corpus.texts(max(1, args.texts // len(corpus.PHRASES)), seed=7)]
    times = []
    hits = 0
    truth = dict(corpus.texts(max(1, args.texts // len(corpus.PHRASES)), seed=7))
    for text in probe:
        t = time.perf_counter()
        got = suggest.suggest(text)
        times.append(1000 * (time.perf_counter() - t))
        hits += truth[text] in [s.code for s in got]
    times.sort()
    print(
        f"suggest: trained on {len(texts):,} examples / {len(model.classes)} categories / "
        f"{len(model.vocabulary):,} n-grams in {train_s:.1f} s; model {len(blob) / 1024:.0f} KiB; "
        f"first call (load from DB) {load_ms:.1f} ms"
    )
    print(
        f"suggest: {len(times)} texts: median {times[len(times) // 2]:.2f} ms, "
        f"p95 {times[int(0.95 * len(times))]:.2f} ms, p99 {times[int(0.99 * len(times))]:.2f} ms, "
        f"max {times[-1]:.2f} ms; right category in top 3: {hits / len(times):.1%}"
    )
    SuggestionModel.objects.filter(pk=row.pk).delete()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
