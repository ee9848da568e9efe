from __future__ import annotations

import secrets
from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from recommender.variants import CONFIGURATIONS, SERVED


class TrendingWindow(models.TextChoices):
    DAYS_7 = "7d", "7 days"
    DAYS_30 = "30d", "30 days"


class SimilarityKind(models.TextChoices):
    # Co-interaction (item-to-item collaborative filtering) neighbours.
    BEHAVIOURAL = "behavioural", "Behavioural"
    # Text (TF-IDF) neighbours, for products nobody has interacted with yet.
    CONTENT = "content", "Content"
    # Products bought in the same baskets ("frequently bought together").
    BOUGHT_TOGETHER = "bought_together", "Bought together"


class PipelineKind(models.TextChoices):
    TRENDING = "trending", "Trending"
    SIMILARITY = "similarity", "Item similarity"
    CONTENT = "content", "Content similarity"
    BOUGHT_TOGETHER = "bought_together", "Bought together"
    RANKING = "ranking", "Learned ranking"
    SESSIONS = "sessions", "Session index"
    LIVE_RANKING = "live_ranking", "Live ranking"
    EVALUATION = "evaluation", "Evaluation"


class PipelineStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


ACTIVE_PIPELINE_STATUSES = (PipelineStatus.QUEUED, PipelineStatus.RUNNING)


class EvaluationProtocol(models.TextChoices):
    ALL_PURCHASES = "all", "All purchases"
    # Only purchases of products the visitor never interacted with before the split.
    DISCOVERY = "discovery", "Discovery"
    # The live protocol (recommender.algorithms.live): baskets filled now, three rows.
    LIVE_GUESTS = "live_guests", "Live: guests"
    LIVE_RETURNING = "live_returning", "Live: returning customers, new products"
    LIVE_RETURNING_ALL = "live_returning_all", "Live: returning customers, all products"


class TrendingScore(models.Model):
    Window = TrendingWindow

    # The unique (product, window) constraint already indexes product.
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="trending_scores", db_index=False
    )
    # Copied from the product when computed, so "trending in category" is one index scan.
    category = models.ForeignKey(
        "catalog.Category",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="trending_scores",
    )
    window = models.CharField(max_length=8, choices=TrendingWindow.choices)
    score = models.FloatField()
    event_count = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["window", "-score"]
        indexes = [
            models.Index(fields=["window", "-score"], name="trending_window_score_idx"),
            models.Index(
                fields=["window", "category", "-score"], name="trending_window_cat_score_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "window"], name="trending_one_per_product_and_window"
            ),
            models.CheckConstraint(
                condition=Q(window__in=TrendingWindow.values), name="trending_window_known"
            ),
            models.CheckConstraint(condition=Q(score__gte=0), name="trending_score_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.window} {self.score:.3f}"


class ProductNeighbour(models.Model):
    """A product's neighbour of one kind, as a pipeline last computed it.

    Each kind has its own table, rebuilt from scratch by its own pipeline and swapped in by a
    rename (see infrastructure.bulk.table_rebuilt): no deleted rows to vacuum, no index to update
    row by row, and one kind's rebuild never waits for or overwrites the other's.
    """

    kind: ClassVar[SimilarityKind]

    # A derived table of millions of rows, rebuilt in one transaction from events (whose own
    # foreign keys guarantee the products exist) or the catalog. Database-level foreign keys
    # would cost one trigger check per row per rebuild (46 s of a 134 s run at 5M events), so
    # Django alone enforces them: it still cascades a product's deletion here. For the same
    # reason there are no single-column indexes: the indexes lead with product, and one on
    # similar_product would only speed up the rare deletion of a product.
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    similar_product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    score = models.FloatField()
    # Number of visitors who interacted with both products (0 for content neighbours).
    co_occurrence = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        abstract = True
        ordering = ["product", "-score"]
        indexes = [
            models.Index(fields=["product", "-score"], name="%(class)s_score_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "similar_product"], name="%(class)s_unique_pair"
            ),
            models.CheckConstraint(
                condition=~Q(product=F("similar_product")), name="%(class)s_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} ~ {self.similar_product_id} ({self.kind} {self.score:.3f})"


class ItemSimilarity(ProductNeighbour):
    """Behavioural (item-to-item collaborative filtering) neighbours."""

    kind = SimilarityKind.BEHAVIOURAL

    class Meta(ProductNeighbour.Meta):
        verbose_name_plural = "item similarities"


class ContentSimilarity(ProductNeighbour):
    """Text (TF-IDF) neighbours."""

    kind = SimilarityKind.CONTENT

    class Meta(ProductNeighbour.Meta):
        verbose_name_plural = "content similarities"


class BoughtTogether(ProductNeighbour):
    """Products bought in the same baskets; co_occurrence counts the baskets."""

    kind = SimilarityKind.BOUGHT_TOGETHER

    class Meta(ProductNeighbour.Meta):
        verbose_name = "bought together pair"


NEIGHBOUR_MODELS: dict[SimilarityKind, type[ProductNeighbour]] = {
    SimilarityKind.BEHAVIOURAL: ItemSimilarity,
    SimilarityKind.CONTENT: ContentSimilarity,
    SimilarityKind.BOUGHT_TOGETHER: BoughtTogether,
}


class LearnedRecommendation(models.Model):
    """A product the learned ranker (recommender.algorithms.ranker) picked for a returning
    buyer, as its pipeline last computed it; the served personalised list of that visitor.

    Rebuilt and swapped in whole, like the neighbour tables (and, like them, without
    database-level foreign keys, for the same reason: see ProductNeighbour).
    """

    visitor = models.ForeignKey(
        "tracking.Visitor",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # The predicted chance that the visitor buys the product within the ranker's label days.
    score = models.FloatField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["visitor", "-score"]
        indexes = [
            models.Index(fields=["visitor", "-score"], name="learnedrec_visitor_score_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["visitor", "product"], name="learnedrec_unique_pair"),
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=1), name="learnedrec_score_is_a_chance"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.visitor_id} -> {self.product_id} ({self.score:.3f})"


class SessionIndexSnapshot(models.Model):
    """The past sessions live recommendations look up (recommender.algorithms.sessions), as the
    frequent sessions pipeline last built them: the index's arrays in NumPy's npz format.

    The latest snapshot serves; the pipeline keeps the one before it too, for a worker still
    reading it, and deletes older ones.
    """

    computed_at = models.DateTimeField()
    sessions = models.PositiveIntegerField()
    products = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Session index #{self.pk} ({self.sessions} sessions, {self.computed_at:%Y-%m-%d})"


class LiveRankerSnapshot(models.Model):
    """The request-time ranking of live candidates (recommender.algorithms.live_ranker) as the
    nightly live ranking pipeline last learnt it: the fitted model, pickled.

    The latest snapshot serves; the pipeline keeps the one before it too, for a worker still
    reading it, and deletes older ones.
    """

    computed_at = models.DateTimeField()
    training_cases = models.PositiveIntegerField()
    training_rows = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return (
            f"Live ranking #{self.pk} ({self.training_cases} orders, {self.computed_at:%Y-%m-%d})"
        )


class PipelineRun(models.Model):
    Kind = PipelineKind
    Status = PipelineStatus

    kind = models.CharField(max_length=16, choices=PipelineKind.choices)
    status = models.CharField(
        max_length=16, choices=PipelineStatus.choices, default=PipelineStatus.QUEUED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    statistics = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    # The process running it holds a database session lock on it until it finishes
    # (recommender.pipelines); a distributed run, spread over many tasks, is not held.
    held = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "-created_at"], name="pipelinerun_kind_idx")]
        constraints = [
            # A pipeline cannot be started while the same pipeline is queued or running.
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(status__in=ACTIVE_PIPELINE_STATUSES),
                name="pipelinerun_one_active_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=PipelineKind.values),
                name="pipelinerun_kind_known",
            ),
            models.CheckConstraint(
                condition=Q(status__in=PipelineStatus.values),
                name="pipelinerun_status_known",
            ),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True)
                | Q(started_at__isnull=True)
                | Q(finished_at__gte=F("started_at")),
                name="pipelinerun_finishes_after_start",
            ),
        ]
        permissions = [
            ("run_pipelines", "Can run pipelines now"),
            ("flush_caches", "Can flush every cached answer"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class EvaluationRun(models.Model):
    pipeline_run = models.OneToOneField(
        PipelineRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="evaluation",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # test_days, split time, k values, protocols and algorithms compared.
    parameters = models.JSONField(default=dict, blank=True)
    visitors_evaluated = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Evaluation #{self.pk} ({self.created_at:%Y-%m-%d %H:%M})"


class EvaluationMetric(models.Model):
    """One figure of an evaluation run: e.g. item_knn / discovery / ndcg @ 20 = 0.081."""

    Protocol = EvaluationProtocol

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="metrics")
    algorithm = models.CharField(max_length=64)
    protocol = models.CharField(max_length=24, choices=EvaluationProtocol.choices)
    metric = models.CharField(max_length=32)
    # 0 for figures with no cut-off, such as the catalog coverage of a whole run.
    k = models.PositiveSmallIntegerField(default=0)
    value = models.FloatField()

    class Meta:
        ordering = ["run", "algorithm", "protocol", "metric", "k"]
        indexes = [models.Index(fields=["algorithm", "metric", "k"], name="evalmetric_lookup_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "algorithm", "protocol", "metric", "k"],
                name="evalmetric_unique_figure",
            ),
            models.CheckConstraint(
                condition=Q(protocol__in=EvaluationProtocol.values),
                name="evalmetric_protocol_known",
            ),
        ]

    def __str__(self) -> str:
        suffix = f"@{self.k}" if self.k else ""
        return f"{self.algorithm}/{self.protocol} {self.metric}{suffix} = {self.value:.4f}"


class SimilarityStagingRow(models.Model):
    """Neighbours computed by one block task of a distributed similarity run, waiting for the
    run's last block before all of them are swapped into ItemSimilarity at once."""

    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="+", db_index=False)
    # Plain ids: staged rows are copied into ItemSimilarity or dropped within the hour.
    product_id = models.BigIntegerField()
    similar_product_id = models.BigIntegerField()
    score = models.FloatField()
    co_occurrence = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["run", "product_id"], name="similaritystage_run_idx")]

    def __str__(self) -> str:
        return f"run {self.run_id}: {self.product_id} ~ {self.similar_product_id}"


class RankingStagingRow(models.Model):
    """Learned lists ranked by one block task of a distributed ranking run, waiting for the
    run's last block before all of them are swapped into LearnedRecommendation at once."""

    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="+", db_index=False)
    # Plain ids: staged rows are copied into LearnedRecommendation or dropped within the hour.
    visitor_id = models.BigIntegerField()
    product_id = models.BigIntegerField()
    score = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["run", "visitor_id"], name="rankingstage_run_idx")]

    def __str__(self) -> str:
        return f"run {self.run_id}: {self.visitor_id} -> {self.product_id}"


class StagedRanker(models.Model):
    """The ranker a distributed ranking run learnt once, pickled, for its block tasks (on any
    worker) to rank their buyers with; dropped when the run ends."""

    run = models.OneToOneField(PipelineRun, on_delete=models.CASCADE, related_name="+")
    data = models.BinaryField()

    def __str__(self) -> str:
        return f"ranker of run {self.run_id}"


class Surface(models.TextChoices):
    """The lists a merchandising rule can steer; each is one list on the pages and in the API."""

    RECOMMENDED = "recommended", "Recommended for you (home page, GET /api/recommendations)"
    BUY_AGAIN = "buy_again", "Buy again (GET /api/recommendations?scenario=buy_again)"
    SIMILAR = "similar", "Also viewed (product page, GET /api/products/{id}/similar)"
    BOUGHT_TOGETHER = "bought_together", "Bought together (product page)"
    TRENDING = "trending", "Trending (home and category pages, GET /api/trending)"


class RuleKind(models.TextChoices):
    PIN = "pin", "Pin a product at a position"
    BOOST = "boost", "Boost (strength 0 to 1: higher)"
    BURY = "bury", "Bury (strength -1 to 0: lower)"
    HIDE = "hide", "Hide (never shown)"


class MerchandisingRuleQuerySet(models.QuerySet["MerchandisingRule"]):
    def in_force(self, at: datetime) -> MerchandisingRuleQuerySet:
        """Rules whose schedule holds at the time (no start: from ever; no end: for ever)."""
        return self.filter(
            Q(starts_at__isnull=True) | Q(starts_at__lte=at),
            Q(ends_at__isnull=True) | Q(ends_at__gt=at),
        )


class MerchandisingRule(models.Model):
    """Staff's say over the shelves (recommender.algorithms.merchandising applies them)."""

    Kind = RuleKind
    # What staff set (the admin's form, the API, the service); the rest is bookkeeping.
    EDITABLE: ClassVar[tuple[str, ...]] = (
        "kind",
        "product",
        "category",
        "price_min",
        "price_max",
        "strength",
        "position",
        "surfaces",
        "on_category",
        "on_product",
        "starts_at",
        "ends_at",
        "note",
    )

    kind = models.CharField(max_length=8, choices=RuleKind.choices)
    # The target: exactly one of a product, a category (with its sub-categories) or a price range.
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    category = models.ForeignKey(
        "catalog.Category",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="With its sub-categories.",
    )
    price_min = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    price_max = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    strength = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(-1.0), MaxValueValidator(1.0)],
        help_text="Boost: above 0 up to 1. Bury: below 0 down to -1. 1 lifts a product above "
        "every product not boosted; 0.25 past about a quarter of its list.",
    )
    position = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Pin: 1 is the first place of the list.",
    )
    # The scope: the named lists (none named: every list), optionally only one page's.
    surfaces = models.JSONField(
        default=list,
        blank=True,
        help_text="Empty: every list. Else any of: " + ", ".join(Surface.values) + ".",
    )
    on_category = models.ForeignKey(
        "catalog.Category",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Only on this category's lists (its page, category= requests; with its "
        "sub-categories) and its products' pages.",
    )
    on_product = models.ForeignKey(
        "catalog.Product",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Only on this product's page (also viewed, bought together).",
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MerchandisingRuleQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=RuleKind.values), name="merchrule_kind_known"
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        product__isnull=False,
                        category__isnull=True,
                        price_min__isnull=True,
                        price_max__isnull=True,
                    )
                    | Q(
                        product__isnull=True,
                        category__isnull=False,
                        price_min__isnull=True,
                        price_max__isnull=True,
                    )
                    | (
                        Q(product__isnull=True, category__isnull=True)
                        & (Q(price_min__isnull=False) | Q(price_max__isnull=False))
                    )
                ),
                name="merchrule_one_target",
            ),
            models.CheckConstraint(
                condition=Q(price_min__isnull=True)
                | Q(price_max__isnull=True)
                | Q(price_max__gte=F("price_min")),
                name="merchrule_price_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(price_min__isnull=True) | Q(price_min__gte=0),
                name="merchrule_price_min_not_negative",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        kind=RuleKind.PIN,
                        product__isnull=False,
                        position__gte=1,
                        strength__isnull=True,
                    )
                    | Q(kind=RuleKind.BOOST, strength__gt=0, strength__lte=1, position__isnull=True)
                    | Q(kind=RuleKind.BURY, strength__gte=-1, strength__lt=0, position__isnull=True)
                    | Q(kind=RuleKind.HIDE, strength__isnull=True, position__isnull=True)
                ),
                name="merchrule_kind_fields",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=F("starts_at")),
                name="merchrule_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display().split(' (')[0]} #{self.pk}"

    def clean(self) -> None:
        """The database's invariants as field errors (a form or the API says what to fix)."""
        errors: dict[str, str] = {}
        targets = [
            self.product_id is not None,
            self.category_id is not None,
            self.price_min is not None or self.price_max is not None,
        ]
        if sum(targets) != 1:
            errors["product"] = "Choose exactly one target: a product, a category or a price range."
        if (
            self.price_min is not None
            and self.price_max is not None
            and self.price_max < self.price_min
        ):
            errors["price_max"] = "The highest price is below the lowest."
        if self.price_min is not None and self.price_min < 0:
            errors["price_min"] = "A price cannot be negative."
        strength = self.strength
        if strength is not None and not -1 <= strength <= 1:
            errors["strength"] = "The strength is between -1 and 1."
        elif self.kind == RuleKind.BOOST and (strength is None or strength <= 0):
            errors["strength"] = "A boost's strength is above 0, at most 1."
        elif self.kind == RuleKind.BURY and (strength is None or strength >= 0):
            errors["strength"] = "A bury's strength is below 0, at least -1."
        elif self.kind in (RuleKind.PIN, RuleKind.HIDE) and strength is not None:
            errors["strength"] = "Only boosts and buries have a strength."
        if self.kind == RuleKind.PIN:
            if self.position is None or self.position < 1:
                errors["position"] = "A pin's position is 1 (the first place) or more."
            if self.product_id is None:
                errors["product"] = "A pin places one product: choose it."
        elif self.position is not None:
            errors["position"] = "Only pins have a position."
        unknown = [s for s in (self.surfaces or []) if s not in Surface.values]
        if not isinstance(self.surfaces, list) or unknown:
            errors["surfaces"] = f"Unknown surfaces {unknown}; choose from {Surface.values}."
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "The end is not after the start."
        if errors:
            raise ValidationError(errors)


class MerchandisingSettings(models.Model):
    """The shop-wide merchandising defaults (one row, pk 1)."""

    preferred_category_boost = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Boost of the visitor's preferred categories on their recommendations (0 to "
        "1; 0: off).",
    )
    preferred_categories = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="How many of the visitor's top categories (by recent events).",
    )
    max_per_category = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="At most this many products of one category on a recommendation list, when "
        "the request names no cap (empty: no cap).",
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "merchandising settings"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="merchsettings_one_row"),
            models.CheckConstraint(
                condition=Q(preferred_category_boost__gte=0, preferred_category_boost__lte=1),
                name="merchsettings_boost_in_range",
            ),
            models.CheckConstraint(
                condition=Q(preferred_categories__gte=1, preferred_categories__lte=10),
                name="merchsettings_categories_in_range",
            ),
            models.CheckConstraint(
                condition=Q(max_per_category__isnull=True) | Q(max_per_category__gte=1),
                name="merchsettings_cap_positive",
            ),
        ]

    def __str__(self) -> str:
        return "Merchandising settings"


class ExperimentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"


class ExperimentMetric(models.TextChoices):
    CTR = "ctr", "Click-through rate (clicks per impression)"
    ADD_TO_CART_RATE = "add_to_cart_rate", "Add-to-cart rate (exposed visitors who added one)"
    CONVERSION_RATE = "conversion_rate", "Conversion rate (exposed visitors who bought one)"
    REVENUE_PER_VISITOR = "revenue_per_visitor", "Revenue per exposed visitor"


def new_experiment_salt() -> str:
    return secrets.token_hex(8)


class Experiment(models.Model):
    """An A/B test of recommender configurations on live traffic (recommender.experiments).

    Visitors are assigned a variant by a hash of the salt and their visitor id, so the same
    visitor sees the same variant on every request (and every device once signed in).
    """

    slug = models.SlugField(max_length=64, unique=True)
    hypothesis = models.TextField(help_text="What the change should do, and why.")
    primary_metric = models.CharField(
        max_length=24, choices=ExperimentMetric.choices, default=ExperimentMetric.CTR
    )
    minimum_detectable_effect = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.005), MaxValueValidator(1.0)],
        help_text="The smallest relative lift of the primary metric worth detecting (0.1: "
        "10%); it sets the sample size the experiment runs to.",
    )
    status = models.CharField(
        max_length=16, choices=ExperimentStatus.choices, default=ExperimentStatus.DRAFT
    )
    salt = models.CharField(max_length=32, default=new_experiment_salt, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ExperimentStatus.values), name="experiment_status_known"
            ),
            models.CheckConstraint(
                condition=Q(primary_metric__in=ExperimentMetric.values),
                name="experiment_metric_known",
            ),
            models.CheckConstraint(
                condition=Q(minimum_detectable_effect__gte=0.005)
                & Q(minimum_detectable_effect__lte=1.0),
                name="experiment_mde_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.slug


class ExperimentVariant(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    name = models.SlugField(max_length=40)
    configuration = models.CharField(
        max_length=40,
        choices=[(name, c.label) for name, c in CONFIGURATIONS.items()],
        default=SERVED,
    )
    share = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Percent of the experiment's visitors (the variants' shares add up to 100).",
    )
    is_control = models.BooleanField(default=False)

    class Meta:
        ordering = ["experiment", "-is_control", "name"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "name"], name="variant_unique_name"),
            models.UniqueConstraint(
                fields=["experiment"], condition=Q(is_control=True), name="variant_one_control"
            ),
            models.CheckConstraint(
                condition=Q(share__gte=1) & Q(share__lte=100), name="variant_share_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.experiment.slug}/{self.name}"


# The lists an experiment can vary: the configurations change the personal list.
EXPERIMENT_SURFACES = [(Surface.RECOMMENDED.value, Surface.RECOMMENDED.label)]


class ExperimentSurface(models.Model):
    """A list an experiment runs on. `running` follows the experiment's status (set by the
    services that start and stop it), so the database refuses a second running experiment on
    the same list."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="surfaces")
    surface = models.CharField(max_length=24, choices=EXPERIMENT_SURFACES)
    running = models.BooleanField(default=False, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "surface"], name="experiment_surface_once"
            ),
            models.UniqueConstraint(
                fields=["surface"],
                condition=Q(running=True),
                name="experiment_one_running_per_surface",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.experiment.slug} on {self.surface}"
