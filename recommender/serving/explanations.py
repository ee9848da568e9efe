"""Why each product is on a list: its reason (for API clients) and a sentence (for shoppers)."""

from __future__ import annotations

from catalog.models import Category
from catalog.selectors import ProductCard
from recommender.algorithms.tiered import Recommendations, Tier
from recommender.serving.contracts import Item, Reason, ReasonType
from recommender.serving.inputs import RecommendationInputs
from tracking.models import EVENT_WEIGHTS, EventType


def bought_before(card: ProductCard, score: float) -> Item:
    return item(card, score, {"type": ReasonType.BOUGHT_BEFORE.value}, "You bought this before")


def explained(
    chosen: Recommendations,
    cards: dict[int, ProductCard],
    requested: Category | None,
    inputs: RecommendationInputs,
) -> list[Item]:
    bought = set(inputs.repeats.product.tolist())
    learned = set(inputs.learned.product.tolist())
    history = inputs.history
    purchased = set(history.product[history.weight >= EVENT_WEIGHTS[EventType.PURCHASE]].tolist())
    basket = set(inputs.live.basket_product.tolist())
    session = set(inputs.session_products.tolist()) - purchased
    items: list[Item] = []
    for product, score, tier, because in zip(
        chosen.product.tolist(),
        chosen.score.tolist(),
        chosen.tier.tolist(),
        chosen.because,
        strict=True,
    ):
        card = cards[product]
        if tier == Tier.FEATURED:
            items.append(featured(card))
            continue
        if tier == Tier.PERSONALISED and product in bought:
            items.append(bought_before(card, score))
            continue
        if tier == Tier.PERSONALISED and product in learned and because[0] < 0:
            picked: Reason = {"type": ReasonType.PICKED_FOR_YOU.value}
            items.append(item(card, score, picked, "Picked for you from your orders"))
            continue
        if tier == Tier.PERSONALISED:
            sources = [int(source) for source in because if source >= 0]
            reason, explanation = _personal_reason(sources, cards, basket, session, purchased)
        elif tier == Tier.CATEGORY_TRENDING:
            category_id, category_name = (
                (requested.pk, requested.name)
                if requested
                else (card["category"]["id"], card["category"]["name"])
            )
            reason = {"type": ReasonType.TRENDING_IN_CATEGORY.value, "category": category_id}
            explanation = f"Trending in {category_name}"
        else:
            reason = {"type": ReasonType.POPULAR.value}
            explanation = "Popular right now"
        items.append(item(card, score, reason, explanation))
    return items


def _personal_reason(
    sources: list[int],
    cards: dict[int, ProductCard],
    basket: set[int],
    session: set[int],
    purchased: set[int],
) -> tuple[Reason, str]:
    """What the shopper is doing now names the reason first: the basket, then this session's
    views; else the history products that brought the item."""
    in_basket = [source for source in sources if source in basket]
    if in_basket:
        names = " and ".join(cards[source]["name"] for source in in_basket if source in cards)
        return (
            {"type": ReasonType.GOES_WITH_BASKET.value, "products": in_basket},
            f"Goes with {names} in your basket",
        )
    viewed = [source for source in sources if source in session]
    if viewed:
        names = " and ".join(cards[source]["name"] for source in viewed if source in cards)
        return (
            {"type": ReasonType.JUST_VIEWED.value, "products": viewed},
            f"Because you just viewed {names}",
        )
    names = " and ".join(cards[source]["name"] for source in sources if source in cards)
    verb = "bought" if sources and purchased.issuperset(sources) else "viewed"
    return {"type": ReasonType.SIMILAR_TO.value, "products": sources}, f"Because you {verb} {names}"


def featured(card: ProductCard) -> Item:
    return item(card, 0.0, {"type": ReasonType.FEATURED.value}, "Featured by the shop")


def similar_item(card: ProductCard, score: float, visitors: int) -> Item:
    if visitors:
        reason: Reason = {"type": ReasonType.INTERACTED_TOGETHER.value, "visitors": visitors}
        return item(card, score, reason, f"{visitors} shoppers who looked at this also did")
    return item(card, score, {"type": ReasonType.DESCRIBED_ALIKE.value}, "Described alike")


def trending_item(card: ProductCard, score: float, *, in_category: bool) -> Item:
    if in_category:
        category = card["category"]
        reason: Reason = {
            "type": ReasonType.TRENDING_IN_CATEGORY.value,
            "category": category["id"],
        }
        return item(card, score, reason, f"Trending in {category['name']}")
    return item(card, score, {"type": ReasonType.POPULAR.value}, "Popular right now")


def item(card: ProductCard, score: float, reason: Reason, explanation: str) -> Item:
    return {"product": card, "score": round(score, 6), "reason": reason, "explanation": explanation}
