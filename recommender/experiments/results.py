"""An experiment's results, per variant and against the control.

The unit is the visitor (what assignment randomises): each exposed visitor's impressions,
clicks and what the clicks led to (tracking.attribution), in the one variant they saw; a
visitor who saw two variants (a guest who then signed in) is counted and left out.

Statistics come from statsmodels and scipy, not hand-written formulas:
- each variant's rates with Wilson intervals (proportion_confint) and revenue per visitor
  with a t interval (DescrStatsW); its CTR with the interval of a Poisson rate model;
- a variant's lift against the control, for every metric, from one Poisson regression with a
  treatment indicator and heteroskedasticity-robust (HC1) errors on the visitors: exp(beta)
  is the ratio of the variant's metric to the control's (clicks per impression with the
  impressions as exposure; the share of visitors adding to cart or buying; revenue per
  visitor), with its 95% interval and p-value. The robust errors make it valid for counts,
  shares and money alike, and for visitors who saw several lists (the delta method's answer
  for a ratio metric);
- the sample-ratio check: a chi-square test (scipy) of exposed visitors per variant against
  the shares; p < 0.001 flags a mismatch (broken assignment or logging: the results are not
  to be trusted);
- the sample size the primary metric needs to detect the minimum detectable effect with power
  0.8 at alpha 0.05 (statsmodels' NormalIndPower, sized for the log ratio the lift is
  tested as), and whether every variant has reached it.

Peeking: the test is fixed-horizon. The results are "preliminary" until the sample size is
reached, and the decision is taken once, then; looking earlier is allowed but deciding on it
inflates the false-positive rate (docs/experiments.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from django.db.models import Q
from django.utils import timezone
from scipy.stats import chisquare
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from recommender.models import Experiment, ExperimentMetric
from tracking.attribution import impression_outcomes

ALPHA = 0.05
POWER = 0.8
SRM_ALPHA = 0.001
METRICS = [m.value for m in ExperimentMetric]
# Each metric as the mean of a per-visitor column (CTR: clicks, over the impressions).
OUTCOME_COLUMN = {
    ExperimentMetric.CTR: "clicks",
    ExperimentMetric.ADD_TO_CART_RATE: "added",
    ExperimentMetric.CONVERSION_RATE: "bought",
    ExperimentMetric.REVENUE_PER_VISITOR: "revenue",
}


@dataclass(frozen=True)
class Estimate:
    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Lift:
    """A variant's metric relative to the control's: +0.1 is 10% higher."""

    lift: float | None
    low: float | None
    high: float | None
    p_value: float | None

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA


@dataclass(frozen=True)
class VariantResult:
    name: str
    configuration: str
    is_control: bool
    share: int
    visitors: int
    impressions: int
    clicks: int
    add_to_carts: int
    orders: int
    revenue: float
    metrics: dict[str, Estimate]
    # Against the control (none for the control itself).
    lifts: dict[str, Lift] = field(default_factory=dict)


@dataclass(frozen=True)
class DailyPoint:
    day: date
    # Per variant: visitors exposed so far, and the share of them who bought.
    visitors: dict[str, int]
    conversion: dict[str, float | None]


@dataclass(frozen=True)
class Results:
    experiment: str
    status: str
    primary_metric: str
    minimum_detectable_effect: float
    start: datetime | None
    end: datetime
    variants: list[VariantResult]
    excluded_visitors: int
    srm_p_value: float | None
    sample_size_per_variant: dict[str, int | None]
    daily: list[DailyPoint]

    @property
    def sample_ratio_mismatch(self) -> bool:
        return self.srm_p_value is not None and self.srm_p_value < SRM_ALPHA

    @property
    def sample_reached(self) -> bool:
        needed = self.sample_size_per_variant
        return bool(self.variants) and all(
            needed.get(v.name) is not None and v.visitors >= (needed[v.name] or 0)
            for v in self.variants
        )


def experiment_results(experiment: Experiment, *, now: datetime | None = None) -> Results:
    end = experiment.ended_at or now or timezone.now()
    variants = list(experiment.variants.order_by("-is_control", "name"))
    visitors, excluded = _visitors(experiment, end)
    by_variant = {v.name: visitors[visitors["variant"] == v.name] for v in variants}
    control = next((v for v in variants if v.is_control), None)
    base = by_variant[control.name] if control else None
    results = []
    for variant in variants:
        rows = by_variant[variant.name]
        lifts = {}
        if base is not None and not variant.is_control:
            lifts = {metric: _lift(metric, base, rows) for metric in METRICS}
        results.append(
            VariantResult(
                name=variant.name,
                configuration=variant.configuration,
                is_control=variant.is_control,
                share=variant.share,
                visitors=len(rows),
                impressions=int(rows["impressions"].sum()),
                clicks=int(rows["clicks"].sum()),
                add_to_carts=int(rows["add_to_carts"].sum()),
                orders=int(rows["orders"].sum()),
                revenue=round(float(rows["revenue"].sum()), 2),
                metrics={metric: _estimate(metric, rows) for metric in METRICS},
                lifts=lifts,
            )
        )
    return Results(
        experiment=experiment.slug,
        status=experiment.status,
        primary_metric=experiment.primary_metric,
        minimum_detectable_effect=experiment.minimum_detectable_effect,
        start=experiment.started_at,
        end=end,
        variants=results,
        excluded_visitors=excluded,
        srm_p_value=_srm(results),
        sample_size_per_variant=_sample_sizes(experiment, variants, base),
        daily=_daily(visitors, [v.name for v in variants]),
    )


def _visitors(experiment: Experiment, end: datetime) -> tuple[pd.DataFrame, int]:
    """One row per exposed visitor who saw one variant: variant, first exposure, impressions,
    clicks, add_to_carts, orders, revenue, added (0/1), bought (0/1); and how many visitors
    saw more than one variant."""
    start = experiment.started_at or experiment.created_at
    shown = impression_outcomes(
        start=start, end=end, impressions=Q(experiment=experiment.slug, visitor__isnull=False)
    )
    columns = ["visitor_id", "variant", "first", "impressions", "clicks", "add_to_carts",
               "orders", "revenue", "added", "bought"]  # fmt: skip
    if shown.empty:
        return pd.DataFrame(columns=columns), 0
    variants_seen = shown.groupby("visitor_id")["variant"].nunique()
    mixed = variants_seen[variants_seen > 1].index
    kept = shown[~shown["visitor_id"].isin(mixed)]
    visitors = kept.groupby("visitor_id").agg(
        variant=("variant", "first"),
        first=("shown_at", "min"),
        impressions=("impression_id", "size"),
        clicks=("clicks", "sum"),
        add_to_carts=("add_to_carts", "sum"),
        orders=("orders", "sum"),
        revenue=("revenue", "sum"),
    )
    visitors["added"] = (visitors["add_to_carts"] > 0).astype("int64")
    visitors["bought"] = (visitors["orders"] > 0).astype("int64")
    return visitors.reset_index()[columns], len(mixed)


def _outcome(metric: str, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """The per-visitor outcome a metric is a mean of, and its exposure (CTR: impressions)."""
    outcome = rows[OUTCOME_COLUMN[ExperimentMetric(metric)]].to_numpy(float)
    if metric == ExperimentMetric.CTR:
        return outcome, rows["impressions"].to_numpy(float)
    return outcome, None


def _estimate(metric: str, rows: pd.DataFrame) -> Estimate:
    if rows.empty:
        return Estimate(None, None, None)
    y, exposure = _outcome(metric, rows)
    if metric in (ExperimentMetric.ADD_TO_CART_RATE, ExperimentMetric.CONVERSION_RATE):
        low, high = proportion_confint(int(y.sum()), len(y), alpha=ALPHA, method="wilson")
        return Estimate(float(y.mean()), float(low), float(high))
    if metric == ExperimentMetric.REVENUE_PER_VISITOR:
        if len(y) < 2:
            return Estimate(float(y.mean()), None, None)
        low, high = DescrStatsW(y).tconfint_mean(alpha=ALPHA)
        return Estimate(float(y.mean()), float(low), float(high))
    rate = float(y.sum() / exposure.sum()) if exposure is not None and exposure.sum() else None
    if rate is None or y.sum() == 0:
        return Estimate(rate, None, None)
    fit = _poisson(y, np.ones((len(y), 1)), exposure)
    low, high = np.exp(fit.conf_int(alpha=ALPHA)[0])
    return Estimate(rate, float(low), float(high))


def _lift(metric: str, control: pd.DataFrame, variant: pd.DataFrame) -> Lift:
    y0, e0 = _outcome(metric, control)
    y1, e1 = _outcome(metric, variant)
    if len(y0) < 2 or len(y1) < 2 or y0.sum() == 0 or y1.sum() == 0:
        return Lift(None, None, None, None)
    y = np.concatenate([y0, y1])
    treated = np.concatenate([np.zeros(len(y0)), np.ones(len(y1))])
    exposure = None if e0 is None or e1 is None else np.concatenate([e0, e1])
    fit = _poisson(y, sm.add_constant(treated, has_constant="add"), exposure)
    low, high = fit.conf_int(alpha=ALPHA)[1]
    return Lift(
        lift=float(np.exp(fit.params[1]) - 1),
        low=float(np.exp(low) - 1),
        high=float(np.exp(high) - 1),
        p_value=float(fit.pvalues[1]),
    )


def _poisson(y: np.ndarray, x: np.ndarray, exposure: np.ndarray | None) -> Any:
    model = sm.GLM(y, x, family=sm.families.Poisson(), exposure=exposure)
    return model.fit(cov_type="HC1")


def _srm(results: list[VariantResult]) -> float | None:
    observed = np.array([v.visitors for v in results], dtype=float)
    if len(results) < 2 or observed.sum() == 0:
        return None
    shares = np.array([v.share for v in results], dtype=float)
    expected = observed.sum() * shares / shares.sum()
    return float(chisquare(observed, expected).pvalue)


def _sample_sizes(
    experiment: Experiment, variants: list[Any], control: pd.DataFrame | None
) -> dict[str, int | None]:
    """Visitors each variant needs for the primary metric to detect the minimum detectable
    effect (relative) against the control's current figures; None until the control has
    the data to say."""
    unknown: dict[str, int | None] = {v.name: None for v in variants}
    if control is None or len(control) < 2:
        return unknown
    # The lift is tested as a log ratio of means (the Poisson model above), so the effect
    # the power analysis sizes for is log(1 + mde) in units of the per-visitor outcome's
    # coefficient of variation (its standard error on the log scale is about cv / sqrt(n)).
    # CTR: the assignment does not change how many lists a visitor is shown, so a lift in
    # clicks per impression is the same lift in clicks per visitor.
    values, _ = _outcome(experiment.primary_metric, control)
    mean, spread = float(values.mean()), float(values.std(ddof=1))
    if mean == 0 or spread == 0:
        return unknown
    effect = float(np.log1p(experiment.minimum_detectable_effect)) * mean / spread
    control_variant = next(v for v in variants if v.is_control)
    sizes: dict[str, int | None] = {}
    control_needed = 0
    for variant in variants:
        if variant.is_control:
            continue
        ratio = variant.share / control_variant.share
        n_control = NormalIndPower().solve_power(
            effect_size=effect, alpha=ALPHA, power=POWER, ratio=ratio
        )
        sizes[variant.name] = int(np.ceil(n_control * ratio))
        control_needed = max(control_needed, int(np.ceil(n_control)))
    sizes[control_variant.name] = control_needed
    return sizes


def _daily(visitors: pd.DataFrame, names: list[str]) -> list[DailyPoint]:
    """Per day of the experiment: each variant's visitors exposed by then, and the share of
    them who bought (what the cumulative conversion chart draws)."""
    if visitors.empty:
        return []
    days = pd.to_datetime(visitors["first"]).dt.tz_convert(timezone.get_current_timezone())
    frame = visitors.assign(day=days.dt.date)
    points = []
    for day in sorted(frame["day"].unique()):
        upto = frame[frame["day"] <= day]
        counts = {n: int((upto["variant"] == n).sum()) for n in names}
        bought = {n: int(upto.loc[upto["variant"] == n, "bought"].sum()) for n in names}
        points.append(
            DailyPoint(
                day=day,
                visitors=counts,
                conversion={n: (bought[n] / counts[n] if counts[n] else None) for n in names},
            )
        )
    return points


def results_data(results: Results) -> dict[str, Any]:
    """The results as JSON-ready data (the API's answer and `experiment_report --json`)."""
    data = asdict(results)
    data["start"] = results.start.isoformat() if results.start else None
    data["end"] = results.end.isoformat()
    data["daily"] = [{**point, "day": point["day"].isoformat()} for point in data["daily"]]
    for variant, result in zip(data["variants"], results.variants, strict=True):
        for metric, lift in result.lifts.items():
            variant["lifts"][metric]["significant"] = lift.significant
    data["sample_ratio_mismatch"] = results.sample_ratio_mismatch
    data["sample_reached"] = results.sample_reached
    return data
