"""The demo shop's configuration and the shape of what the generator draws (plain arrays)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class DemoConfig:
    categories: int = 10
    products: int = 1_000
    visitors: int = 500
    events: int = 50_000
    days: int = 90
    seed: int = 42
    anonymous_share: float = 0.7
    preferred_category_share: float = 0.9
    event_mix: tuple[float, float, float] = (0.80, 0.15, 0.05)
    complement_share: float = 0.4
    mean_views_per_session: float = 4.0
    session_style_share: float = 0.75
    review_share: float = 0.25
    popularity_exponent: float = 0.9

    def __post_init__(self) -> None:
        positive = {
            "categories": self.categories,
            "products": self.products,
            "visitors": self.visitors,
            "days": self.days,
        }
        for name, value in positive.items():
            if value < 1:
                raise ValueError(f"{name} must be at least 1 (got {value}).")
        if self.events < 0:
            raise ValueError(f"events cannot be negative (got {self.events}).")
        if self.products < self.categories:
            raise ValueError(
                f"products ({self.products}) must be at least categories ({self.categories}): "
                "every category needs a product."
            )
        if not np.isclose(sum(self.event_mix), 1.0) or min(self.event_mix) <= 0:
            raise ValueError("event_mix must be three positive shares that add up to 1.")


@dataclass(frozen=True)
class DemoCategory:
    name: str
    slug: str
    description: str
    theme: int
    parent: int | None  # index into the category list


@dataclass(frozen=True)
class DemoProducts:
    category: IntArray  # index into DemoData.categories (always a leaf)
    style: IntArray
    popularity: FloatArray
    quality: FloatArray
    complements: IntArray  # (n, 3) product indices
    price_pence: IntArray
    stock: IntArray
    is_active: BoolArray
    names: list[str]
    descriptions: list[str]

    def __len__(self) -> int:
        return len(self.category)


@dataclass(frozen=True)
class DemoVisitors:
    is_anonymous: BoolArray
    preferred: IntArray  # (n, 2) leaf-category indices, -1 where a shopper has only one
    taste: FloatArray  # (n, styles), rows sum to 1
    activity: FloatArray

    def __len__(self) -> int:
        return len(self.is_anonymous)


@dataclass(frozen=True)
class DemoEvents:
    """Events in session order, each session's events in time order."""

    visitor: IntArray
    product: IntArray
    event_type: npt.NDArray[np.int8]
    seconds_before_end: FloatArray
    session: IntArray

    def __len__(self) -> int:
        return len(self.visitor)


@dataclass(frozen=True)
class DemoReviews:
    visitor: IntArray
    product: IntArray
    rating: IntArray
    seconds_before_end: FloatArray
    comments: list[str]

    def __len__(self) -> int:
        return len(self.visitor)


@dataclass(frozen=True)
class DemoData:
    config: DemoConfig
    categories: list[DemoCategory]
    products: DemoProducts
    visitors: DemoVisitors
    events: DemoEvents
    reviews: DemoReviews
    funnel: dict[str, float] = field(default_factory=dict)

    @property
    def leaf_categories(self) -> list[int]:
        parents = {category.parent for category in self.categories}
        return [i for i in range(len(self.categories)) if i not in parents]
