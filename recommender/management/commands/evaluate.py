from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser

from infrastructure.commands import iso_date, positive_int, positive_int_list
from recommender.algorithms.evaluation import DEFAULT_KS, METRICS
from recommender.management.commands._pipeline import PipelineCommand
from recommender.models import EvaluationProtocol
from recommender.pipelines import (
    EVALUATION_TEST_DAYS,
    PipelineAlreadyRunningError,
    evaluation_compute,
)
from recommender.selectors import evaluation_figures, events_end

SHORT_NAMES = {"recall": "R", "precision": "P", "hit_rate": "HR", "ndcg": "NDCG", "map": "MAP"}


class Command(PipelineCommand):
    help = (
        "Evaluate the served recommender and the baselines on a temporal split (the weekly job, "
        "by hand): train on everything before the last --test-days (or before --split-date), "
        "score on the purchases after it (until --until, default: the last event)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        split = parser.add_mutually_exclusive_group()
        split.add_argument("--test-days", type=positive_int, default=EVALUATION_TEST_DAYS)
        split.add_argument("--split-date", type=iso_date, metavar="YYYY-MM-DD",
                           help="train before this date, test from it on")  # fmt: skip
        parser.add_argument("--until", type=iso_date, metavar="YYYY-MM-DD",
                            help="end of the test period with --split-date (default: just "
                            "after the last event)")  # fmt: skip
        parser.add_argument("--k", type=positive_int_list, default=DEFAULT_KS,
                            help="cut-offs, comma separated (default 5,10,20)")  # fmt: skip
        parser.add_argument("--json", action="store_true", help="print the figures as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        now, test_days = self._test_period(options)
        try:
            with self.progress_bar("Recommenders", "evaluated", **options) as progress:
                evaluation = evaluation_compute(
                    now=now, test_days=test_days, ks=options["k"], progress=progress
                )
        except PipelineAlreadyRunningError as error:
            raise CommandError(str(error)) from error
        figures = evaluation_figures(evaluation)
        if options["json"]:
            self.stdout.write(json.dumps(figures, indent=2))
            return
        if evaluation.pipeline_run:
            self.summarise(evaluation.pipeline_run)
        self._table(figures, options["k"])

    def _test_period(self, options: dict[str, Any]) -> tuple[datetime | None, float]:
        """The end of the test period (None: now) and its length in days."""
        split: datetime | None = options["split_date"]
        if split is None:
            if options["until"] is not None:
                raise CommandError("--until goes with --split-date.")
            return None, float(options["test_days"])
        until = options["until"] or events_end()
        if until is None or until <= split:
            raise CommandError(
                f"Nothing to test: no events from {split:%Y-%m-%d} on (or --until is not after it)."
            )
        return until, (until - split) / timedelta(days=1)

    def _table(self, figures: dict[str, Any], ks: tuple[int, ...]) -> None:
        results = figures["results"]
        algorithms = figures["parameters"].get("recommenders") or sorted(results)
        columns = [f"{metric}@{k}" for metric in METRICS for k in ks]
        header = f"{'recommender':<22}{'visitors':>9}" + "".join(
            f"{SHORT_NAMES[column.split('@')[0]] + '@' + column.split('@')[1]:>9}"
            for column in columns
        )
        # The live protocol's peers have only its rows; the monthly contenders only theirs.
        names = [*algorithms, *sorted(set(results) - set(algorithms))]
        for protocol in EvaluationProtocol:
            measured = [name for name in names if protocol.value in results[name]]
            if not measured:
                continue
            self.stdout.write(f"\n{protocol.label} (protocol {protocol.value!r})")
            self.stdout.write(header + f"{'coverage':>10}")
            for algorithm in measured:
                values = results[algorithm][protocol.value]
                row = f"{algorithm:<22}{values['visitors']:>9.0f}"
                row += "".join(f"{values[column]:>9.4f}" for column in columns)
                self.stdout.write(row + f"{values['coverage']:>10.1%}")
