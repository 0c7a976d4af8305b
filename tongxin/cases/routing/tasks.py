"""Huey discovers ``tasks`` modules of installed apps: register the suggestion-model retraining tasks."""

from tongxin.cases.ml_tasks import nightly_retrain, retrain_suggestion_model

__all__ = ["nightly_retrain", "retrain_suggestion_model"]
