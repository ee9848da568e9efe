"""Starting and stopping experiments. Starting checks the design (two variants or more, one
control, shares adding up to 100, a list to run on) and marks its lists running in the same
transaction: the database refuses a second running experiment on a list."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from recommender.models import Experiment, ExperimentStatus, ExperimentSurface


class ExperimentError(ValueError):
    """An experiment that cannot start (or stop) as asked, with the reasons."""


def experiment_problems(experiment: Experiment) -> list[str]:
    """What keeps the experiment's design from running (empty: nothing)."""
    variants = list(experiment.variants.all())
    problems = []
    if len(variants) < 2:
        problems.append("It needs at least two variants.")
    if sum(v.is_control for v in variants) != 1:
        problems.append("Exactly one variant is the control.")
    if sum(v.share for v in variants) != 100:
        problems.append("The variants' shares add up to 100.")
    if not experiment.surfaces.exists():
        problems.append("Choose the list it runs on.")
    return problems


@transaction.atomic
def experiment_start(*, experiment: Experiment) -> Experiment:
    """Run a draft experiment from now on (assignment starts on the next request)."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.status != ExperimentStatus.DRAFT:
        raise ExperimentError(["Only a draft starts (a stopped experiment stays stopped)."])
    problems = experiment_problems(experiment)
    if problems:
        raise ExperimentError(problems)
    try:
        with transaction.atomic():
            ExperimentSurface.objects.filter(experiment=experiment).update(running=True)
    except IntegrityError as error:
        raise ExperimentError(
            ["Another experiment is running on the same list: stop it first."]
        ) from error
    experiment.status = ExperimentStatus.RUNNING
    experiment.started_at = timezone.now()
    experiment.save(update_fields=["status", "started_at", "updated_at"])
    return experiment


@transaction.atomic
def experiment_stop(*, experiment: Experiment) -> Experiment:
    """Stop a running experiment: every visitor gets the served list again; its results stay."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.status != ExperimentStatus.RUNNING:
        raise ExperimentError(["Only a running experiment stops."])
    ExperimentSurface.objects.filter(experiment=experiment).update(running=False)
    experiment.status = ExperimentStatus.STOPPED
    experiment.ended_at = timezone.now()
    experiment.save(update_fields=["status", "ended_at", "updated_at"])
    return experiment
