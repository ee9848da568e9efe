"""What 100 active merchandising rules cost a recommendation, in-process.

Builds the demo store (seed 42) in a scratch SQLite file with its pipelines, writes 100 rules
of every kind and target (20 pins, 28 product hides, 2 category hides, 25 category boosts,
10 product boosts, 15 price-range buries), then for 300 visitors with a history assembles the
served recommender's inputs once and times, alternately and 5 times each, the list with the
rules and the same list without them (`recommend()`, the pure function that applies them),
and apart from that the reading of the rules that hold for the list (`list_rules`, inside a
cached list's computation, where serving calls it). Prints
medians (the target: the rules cost at most 1 ms at p50) and writes
bench/results/merchandising.json.

    python bench/merchandising.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import RESULTS, manage, run_script

MEASURE = """
import json, random, statistics, time
from decimal import Decimal
from dataclasses import replace
from catalog.models import Category, Product
from recommender.algorithms.merchandising import Merchandising
from recommender.models import MerchandisingRule, Surface
from recommender.selectors.merchandising import list_rules
from recommender.serving.contracts import RecommendationRequest
from recommender.serving.inputs import recommendation_inputs
from recommender.services import merchandising_rule_save
from tracking.models import Visitor
from infrastructure import cache

rng = random.Random(7)
MerchandisingRule.objects.all().delete()
products = list(Product.objects.browsable().order_by("id"))
categories = list(Category.objects.order_by("id"))
chosen = rng.sample(products, 58)
def save(**fields):
    merchandising_rule_save(changed_by=None, **fields)
for position, product in enumerate(chosen[:20], start=1):
    save(kind="pin", product=product, position=position)
for product in chosen[20:48]:
    save(kind="hide", product=product)
for product in chosen[48:58]:
    save(kind="boost", product=product, strength=round(rng.uniform(0.1, 1), 2))
leaves = [c for c in categories if not any(o.parent_id == c.pk for o in categories)]
for category in rng.sample(leaves, 2):
    save(kind="hide", category=category)
for category in [rng.choice(categories) for _ in range(25)]:
    save(kind="boost", category=category, strength=round(rng.uniform(0.1, 1), 2))
for _ in range(15):
    low = rng.uniform(1, 40)
    save(kind="bury", price_min=Decimal(f"{low:.2f}"), price_max=Decimal(f"{low + 5:.2f}"),
         strength=-round(rng.uniform(0.1, 1), 2))
assert MerchandisingRule.objects.count() == 100
visitors = list(Visitor.objects.filter(events__isnull=False).distinct().order_by("id")
                .values_list("external_id", flat=True)[:300])
rules = list_rules(Surface.RECOMMENDED)
assert len(rules.rule_ids) == 100

def measured(inputs, plain):
    # Timed inside a cached list's computation, as serving runs: the rules are read there
    # (kept in the worker process, with every product's fate under them).
    started = time.perf_counter()
    holding = list_rules(Surface.RECOMMENDED).merchandising
    read = time.perf_counter()
    listed = replace(inputs, merchandising=holding).recommend(available=None)
    ruled = time.perf_counter()
    plain.recommend(available=None)
    done = time.perf_counter()
    return read - started, ruled - read, done - ruled, len(listed.product)

with_rules, without_rules, reading, lengths = [], [], [], []
for visitor in visitors:
    inputs = recommendation_inputs(RecommendationRequest(visitor=visitor, k=10), rules)
    plain = replace(inputs, merchandising=Merchandising())
    for _ in range(5):
        read, ruled, unruled, length = cache.cached(
            cache.RECOMMENDATIONS, "bench", len(reading), timeout=1,
            compute=lambda: measured(inputs, plain), depends_on=(cache.MERCHANDISING,),
        )
        reading.append(read)
        with_rules.append(ruled)
        without_rules.append(unruled)
    lengths.append(length)
ms = lambda values: round(1000 * statistics.median(values), 3)
print(json.dumps({
    "rules": 100,
    "visitors": len(visitors),
    "recommend_with_rules_ms_p50": ms(with_rules),
    "recommend_without_rules_ms_p50": ms(without_rules),
    "applying_ms_p50": ms([a - b for a, b in zip(with_rules, without_rules)]),
    "reading_rules_ms_p50": ms(reading),
    "list_length_median": statistics.median(lengths),
}))
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'merchandising.sqlite3'}"
        manage(url, "migrate", "--no-input", "-v0")
        manage(url, "seed_demo", "--flush", "--seed", "42", "--verbosity", "0")
        for pipeline in ("compute_trending", "compute_similarity", "compute_content_similarity"):
            manage(url, pipeline, "--verbosity", "0")
        finished = run_script(url, "manage.py", "shell", "--verbosity", "0", "-c", MEASURE)
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    cost = figures["applying_ms_p50"] + figures["reading_rules_ms_p50"]
    print(f"{figures['rules']} rules, {figures['visitors']} visitors, 5 lists each (medians)")
    print(f"  recommend() without the rules   {figures['recommend_without_rules_ms_p50']:8.3f} ms")
    print(f"  recommend() with the rules      {figures['recommend_with_rules_ms_p50']:8.3f} ms")
    print(f"  applying them (paired)          {figures['applying_ms_p50']:8.3f} ms")
    print(f"  reading those that hold         {figures['reading_rules_ms_p50']:8.3f} ms")
    print(f"  cost per request                {cost:8.3f} ms (target <= 1 ms)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "merchandising.json").write_text(json.dumps(figures | {"cost_ms_p50": cost}))


if __name__ == "__main__":
    main()
