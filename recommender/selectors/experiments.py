"""Reads of the experiments for the pages that list them."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from recommender.models import Experiment, ExperimentVariant


def experiment_list() -> QuerySet[Experiment]:
    """Every experiment, the newest first, with its variants (control first) and lists."""
    variants = ExperimentVariant.objects.order_by("-is_control", "name")
    return Experiment.objects.prefetch_related(
        Prefetch("variants", queryset=variants), "surfaces"
    ).order_by("-created_at", "-id")
