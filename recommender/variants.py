"""The variants of the served list an experiment can compare (recommender.experiments)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServingConfiguration:
    """A variant of the served recommendation list that an experiment can try on live
    traffic: the same recommend() with a part left out or a rule changed."""

    name: str
    label: str
    # The returning buyer's nightly learned list (compute_ranking).
    learned: bool = True
    # The current session's candidates (V-SKNN and the session's neighbours).
    live: bool = True
    # The category cap when the request names none (None: the shop's own setting).
    max_per_category: int | None = None


SERVED = "served"
CONFIGURATIONS: dict[str, ServingConfiguration] = {
    c.name: c
    for c in (
        ServingConfiguration(SERVED, "As served: learned ranking and live session candidates"),
        ServingConfiguration(
            "without_learned", "Without the nightly learned ranking", learned=False
        ),
        ServingConfiguration("without_live", "Without live session candidates", live=False),
        ServingConfiguration("diverse", "At most 2 products of one category", max_per_category=2),
    )
}
