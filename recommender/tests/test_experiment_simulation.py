"""The simulated experiment runs through the real services, finds a planted lift, finds
none where none is planted, and leaves nothing behind."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recommender.experiments.simulation import Simulation, experiment_simulate
from recommender.models import Experiment, ExperimentStatus, ExperimentSurface
from tracking.models import Event, Impression, Visitor

pytestmark = pytest.mark.django_db


def test_a_planted_lift_is_found_and_the_simulation_leaves_nothing_behind():
    outcome = experiment_simulate(Simulation(visitors=600, ctr=0.3, lift=1.0, seed=3))
    control, treatment = outcome.results.variants
    assert control.visitors + treatment.visitors == 600
    control_ctr, treatment_ctr = control.metrics["ctr"].value, treatment.metrics["ctr"].value
    assert control_ctr is not None
    assert treatment_ctr is not None
    assert treatment_ctr > 1.5 * control_ctr
    assert outcome.significant
    assert treatment.orders > 0
    assert (outcome.results.srm_p_value or 0) > 0.001
    assert not Experiment.objects.exists()
    assert not Visitor.objects.exists()
    assert not Impression.objects.exists()
    assert not Event.objects.exists()


def test_an_aa_test_finds_nothing_and_repeats_exactly():
    aa = Simulation(visitors=600, ctr=0.3, lift=0.0, seed=11)
    first, again = experiment_simulate(aa), experiment_simulate(aa)
    assert not first.significant
    assert first.p_value == again.p_value


def test_the_command_prints_the_verdict_and_refuses_beside_a_running_experiment(capsys):
    call_command("simulate_experiment", "--visitors", "300", "--lift", "1.0", "--seed", "5")
    printed = capsys.readouterr().out
    assert "significant" in printed
    assert "lift +" in printed
    running = Experiment.objects.create(
        slug="live", hypothesis="-", status=ExperimentStatus.RUNNING
    )
    ExperimentSurface.objects.create(experiment=running, surface="recommended")
    ExperimentSurface.objects.filter(experiment=running).update(running=True)
    with pytest.raises(CommandError, match="stop it before simulating"):
        call_command("simulate_experiment", "--visitors", "300")
    with pytest.raises(CommandError, match="--visitors"):
        call_command("simulate_experiment", "--visitors", "1")


def test_what_an_interrupted_simulation_left_is_forgotten_on_request():
    from recommender.experiments.simulation import simulations_forget

    kept = experiment_simulate(Simulation(visitors=50, seed=2), keep=True)
    assert Experiment.objects.filter(slug=kept.results.experiment).exists()
    assert Visitor.objects.exists()
    assert simulations_forget() >= 1
    assert not Experiment.objects.exists()
    assert not Visitor.objects.exists()
