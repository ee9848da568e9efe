"""Which variant of a running experiment a visitor gets: a hash of the experiment's salt and
the visitor id (recommender.algorithms.experiments), over the running experiments read once
per change (the EXPERIMENTS generation) and kept in the worker, so assigning costs no query.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from infrastructure import cache
from recommender.algorithms.experiments import variant_index
from recommender.models import ExperimentStatus, ExperimentSurface, ExperimentVariant


@dataclass(frozen=True)
class Assignment:
    experiment: str
    variant: str
    configuration: str


@dataclass(frozen=True)
class RunningExperiment:
    slug: str
    salt: str
    # (name, configuration), in the order their shares are laid out.
    variants: tuple[tuple[str, str], ...]
    shares: tuple[int, ...]


def assignment(surface: str, visitor: str) -> Assignment | None:
    """The visitor's variant of the experiment running on the surface, if one is."""
    experiment = _running().get(surface)
    if experiment is None:
        return None
    name, configuration = experiment.variants[
        variant_index(experiment.salt, visitor, experiment.shares)
    ]
    return Assignment(experiment.slug, name, configuration)


def _running() -> dict[str, RunningExperiment]:
    return cache.cached(
        cache.EXPERIMENTS,
        "running",
        timeout=settings.CACHE_TTL_SIMILAR,
        compute=_read_running,
        local=True,
    )


def _read_running() -> dict[str, RunningExperiment]:
    running: dict[str, RunningExperiment] = {}
    surfaces = ExperimentSurface.objects.filter(
        running=True, experiment__status=ExperimentStatus.RUNNING
    ).select_related("experiment")
    for entry in surfaces:
        experiment = entry.experiment
        variants = list(ExperimentVariant.objects.filter(experiment=experiment).order_by("id"))
        running[entry.surface] = RunningExperiment(
            slug=experiment.slug,
            salt=experiment.salt,
            variants=tuple((v.name, v.configuration) for v in variants),
            shares=tuple(v.share for v in variants),
        )
    return running
