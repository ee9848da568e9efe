"""Product search: full text over name (most weight), category and description (least), with
typos forgiven, on PostgreSQL and on the zero-configuration SQLite store alike.

The database keeps the index in step with every write path (the admin, imports, COPY bulk
loads, a category renamed) through triggers, installed by a migration and checked again after
every `migrate` (a later migration that rebuilds the product table on SQLite drops them):

- PostgreSQL: a `search_vector` tsvector column on the product table (weights A name, B the
  category with its parent and grandparent, C description; the `english` configuration, so
  plurals match), filled by a trigger and indexed with GIN; typos are found by trigram word
  similarity on the name (the `pg_trgm` GIN index of migration 0003).
- SQLite: an FTS5 table with the same three columns (`porter` stemming, bm25 weights 10 / 4 /
  1) and an unstemmed FTS5 word list of names and categories, whose vocabulary corrects a
  word that matches nothing to the closest known word (difflib, as a "did you mean").

Both rank alike: the whole phrase above all the words, above only some of them; within each,
the weighted text rank. On PostgreSQL, when no word matches (a typo), products are found and
ranked by their name's trigram likeness to the search instead.

The column and tables are kept out of the model state on purpose, like the trigram index:
Django would otherwise try to create them on both databases.
"""

from __future__ import annotations

import difflib
import re

from django.contrib.postgres.search import TrigramWordSimilarity
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Case, F, FloatField, QuerySet, Value, When
from django.db.models.expressions import RawSQL

from catalog.models import Category, Product

# How closely a misspelt word must resemble a known one to be corrected (difflib's ratio).
CORRECTION_CUTOFF = 0.75
# Words of a search beyond this many are ignored: nobody types more, and each costs a lookup.
MAX_WORDS = 8
WORD = re.compile(r"\w+")

# What orders the kinds of match before the text rank does: ts_rank stays below 1, and bm25
# scores are squashed below 1 on SQLite.
PHRASE_BONUS = 2.0
ALL_WORDS_BONUS = 1.0
CATEGORY_BONUS = 4.0

PRODUCT = Product._meta.db_table
CATEGORY = Category._meta.db_table
FTS = f"{PRODUCT}_fts"
WORDS = f"{PRODUCT}_words"
VOCABULARY = f"{PRODUCT}_words_vocab"
PG_INDEX = "product_search_vector_idx"


def search_words(search: str) -> list[str]:
    """The words of a search, lower case, without operators or punctuation."""
    return [word.lower() for word in WORD.findall(search)][:MAX_WORDS]


def products_matching(products: QuerySet[Product], search: str) -> QuerySet[Product]:
    """The products that match the search, annotated with `relevance` (higher is better)."""
    words = search_words(search)
    if not words:
        return products.none().annotate(relevance=Value(0.0, output_field=FloatField()))
    if connection.vendor == "postgresql":
        found = _postgresql_matching(products, search, words)
    else:
        found = _sqlite_matching(products, _corrected(words))
    named = categories_named(words)
    if not named:
        return found
    # A search that names a category ("toys", "home decor") means that category: its
    # products come before others that merely share a word with it ("Chew Toy", or
    # "Cloth-bound" for "clothing", which stems alike).
    bonus = Case(
        When(category_id__in=named, then=Value(CATEGORY_BONUS)),
        default=Value(0.0),
        output_field=FloatField(),
    )
    return found.annotate(relevance=F("relevance") + bonus)


def categories_named(words: list[str]) -> list[int]:
    """The categories (with their sub-categories) whose names contain every word of the
    search, a word counting when it starts a word of the name or the other way round
    ("sport" and "sports", "toys" and "Toys & Games")."""
    categories = list(Category.objects.values_list("pk", "name", "parent_id"))
    found = {
        pk
        for pk, name, _ in categories
        if all(
            any(part.startswith(word) or word.startswith(part) for part in search_words(name))
            for word in words
        )
    }
    while True:  # their sub-categories, at any depth
        children = {pk for pk, _, parent in categories if parent in found} - found
        if not children:
            return sorted(found)
        found |= children


# --- PostgreSQL ------------------------------------------------------------------------------


def _postgresql_matching(
    products: QuerySet[Product], search: str, words: list[str]
) -> QuerySet[Product]:
    vector = f"{PRODUCT}.search_vector"
    any_word = " | ".join(f"'{word}'" for word in words)  # words are \w+: nothing to escape
    text = " ".join(words)
    matched = RawSQL(
        f"{vector} @@ to_tsquery('english', %s)", [any_word], output_field=BooleanField()
    )
    rank = RawSQL(
        f"ts_rank({vector}, to_tsquery('english', %s))"
        f" + CASE WHEN {vector} @@ plainto_tsquery('english', %s) THEN {ALL_WORDS_BONUS} ELSE 0 END"
        f" + CASE WHEN {vector} @@ phraseto_tsquery('english', %s) THEN {PHRASE_BONUS} ELSE 0 END",
        [any_word, text, text],
        output_field=FloatField(),
    )
    found = products.annotate(text_match=matched).filter(text_match=True)
    if found.exists():  # one read of the GIN index
        return found.annotate(relevance=rank)
    # No word matches: a typo. Names like the search, by likeness (the %> operator uses the
    # trigram index, with the threshold the settings set). Asked only now, as comparing
    # every name with the search costs far more than the text match.
    return products.filter(name__trigram_word_similar=search).annotate(
        relevance=TrigramWordSimilarity(search, "name")
    )


# --- SQLite ----------------------------------------------------------------------------------


def _sqlite_matching(products: QuerySet[Product], words: list[str]) -> QuerySet[Product]:
    quoted = [f'"{word}"' for word in words]
    any_word, all_words, phrase = " OR ".join(quoted), " AND ".join(quoted), f'"{" ".join(words)}"'
    hits = f"SELECT rowid FROM {FTS} WHERE {FTS} MATCH %s"
    # bm25 is negative, more so for better matches: -s / (1 - s) maps it into [0, 1).
    rank = RawSQL(
        f"(SELECT -bm25({FTS}, 10.0, 4.0, 1.0) / (1.0 - bm25({FTS}, 10.0, 4.0, 1.0))"
        f" FROM {FTS} WHERE {FTS} MATCH %s AND rowid = {PRODUCT}.id)"
        f" + CASE WHEN {PRODUCT}.id IN ({hits}) THEN {ALL_WORDS_BONUS} ELSE 0 END"
        f" + CASE WHEN {PRODUCT}.id IN ({hits}) THEN {PHRASE_BONUS} ELSE 0 END",
        [any_word, all_words, phrase],
        output_field=FloatField(),
    )
    return products.filter(pk__in=RawSQL(hits, [any_word])).annotate(relevance=rank)


def _corrected(words: list[str]) -> list[str]:
    """Each word that matches no product replaced by the closest word of the catalog's names
    and categories, if one is close enough ("hedphones" -> "headphones")."""
    corrected = []
    vocabulary: list[str] | None = None
    with connection.cursor() as cursor:
        for word in words:
            cursor.execute(f"SELECT 1 FROM {FTS} WHERE {FTS} MATCH %s LIMIT 1", [f'"{word}"'])
            if cursor.fetchone() is None:
                if vocabulary is None:
                    cursor.execute(f"SELECT term FROM {VOCABULARY}")
                    vocabulary = [term for (term,) in cursor.fetchall()]
                close = difflib.get_close_matches(word, vocabulary, n=1, cutoff=CORRECTION_CUTOFF)
                word = close[0] if close else word
            corrected.append(word)
    return corrected


# --- The index, kept by the database ---------------------------------------------------------

# The category text of a product: its category, parent and grandparent names.
_CATEGORY_TEXT = (
    f"(SELECT c.name || ' ' || coalesce(p.name, '') || ' ' || coalesce(g.name, '')"
    f" FROM {CATEGORY} c LEFT JOIN {CATEGORY} p ON p.id = c.parent_id"
    f" LEFT JOIN {CATEGORY} g ON g.id = p.parent_id WHERE c.id = NEW.category_id)"
)
# The products of a category and of its children and grandchildren (a renamed one's).
_IN_SUBTREE = (
    f"category_id IN (SELECT c.id FROM {CATEGORY} c LEFT JOIN {CATEGORY} p ON p.id = c.parent_id"
    " WHERE c.id = NEW.id OR c.parent_id = NEW.id OR p.parent_id = NEW.id)"
)

POSTGRESQL_INSTALL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"ALTER TABLE {PRODUCT} ADD COLUMN IF NOT EXISTS search_vector tsvector",
    f"""CREATE OR REPLACE FUNCTION {PRODUCT}_search_vector() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_vector :=
            setweight(to_tsvector('english', coalesce(NEW.name, '')), 'A')
            || setweight(to_tsvector('english', coalesce({_CATEGORY_TEXT}, '')), 'B')
            || setweight(to_tsvector('english', coalesce(NEW.description, '')), 'C');
        RETURN NEW;
    END $$""",
    f"DROP TRIGGER IF EXISTS {PRODUCT}_search_vector ON {PRODUCT}",
    f"""CREATE TRIGGER {PRODUCT}_search_vector
    BEFORE INSERT OR UPDATE OF name, description, category_id ON {PRODUCT}
    FOR EACH ROW EXECUTE FUNCTION {PRODUCT}_search_vector()""",
    f"""CREATE OR REPLACE FUNCTION {CATEGORY}_search_vectors() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE {PRODUCT} SET name = name WHERE {_IN_SUBTREE};
        RETURN NULL;
    END $$""",
    f"DROP TRIGGER IF EXISTS {CATEGORY}_search_vectors ON {CATEGORY}",
    f"""CREATE TRIGGER {CATEGORY}_search_vectors
    AFTER UPDATE OF name, parent_id ON {CATEGORY} FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.parent_id IS DISTINCT FROM NEW.parent_id)
    EXECUTE FUNCTION {CATEGORY}_search_vectors()""",
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON {PRODUCT} USING gin (search_vector)",
]
POSTGRESQL_FILL = f"UPDATE {PRODUCT} SET name = name WHERE search_vector IS NULL"

_SQLITE_ROW = (
    f"INSERT INTO {FTS} (rowid, name, category, description)"
    f" VALUES (NEW.id, NEW.name, {_CATEGORY_TEXT}, NEW.description);"
    f" INSERT INTO {WORDS} (rowid, words) VALUES (NEW.id, NEW.name || ' ' || {_CATEGORY_TEXT});"
)
_SQLITE_FORGET = (
    f"DELETE FROM {FTS} WHERE rowid = OLD.id; DELETE FROM {WORDS} WHERE rowid = OLD.id;"
)
SQLITE_TRIGGERS = {
    f"{PRODUCT}_search_insert": f"AFTER INSERT ON {PRODUCT} BEGIN {_SQLITE_ROW} END",
    f"{PRODUCT}_search_update": (
        f"AFTER UPDATE OF name, description, category_id ON {PRODUCT}"
        f" BEGIN {_SQLITE_FORGET} {_SQLITE_ROW} END"
    ),
    f"{PRODUCT}_search_delete": f"AFTER DELETE ON {PRODUCT} BEGIN {_SQLITE_FORGET} END",
    f"{CATEGORY}_search_update": (
        f"AFTER UPDATE OF name, parent_id ON {CATEGORY}"
        f" BEGIN UPDATE {PRODUCT} SET name = name WHERE {_IN_SUBTREE}; END"
    ),
}
SQLITE_TABLES = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5("
    "name, category, description, tokenize = 'porter unicode61 remove_diacritics 2')",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {WORDS} USING fts5("
    "words, tokenize = 'unicode61 remove_diacritics 2')",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {VOCABULARY} USING fts5vocab({WORDS}, 'row')",
]


def search_index_install(database: BaseDatabaseWrapper) -> None:
    """Create what keeps the search index (idempotent); fill it if it was missing or out of
    step (SQLite: a trigger was missing, as after a table rebuild)."""
    with database.cursor() as cursor:
        if database.vendor == "postgresql":
            if database.in_atomic_block:
                # Deferred foreign-key checks of rows written earlier in this transaction
                # would make PostgreSQL refuse to alter the table: check them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for statement in POSTGRESQL_INSTALL:
                cursor.execute(statement)
            cursor.execute(POSTGRESQL_FILL)
            return
        if database.vendor != "sqlite":
            return
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN ("
            + ", ".join(["%s"] * len(SQLITE_TRIGGERS))
            + ")",
            list(SQLITE_TRIGGERS),
        )
        if len(cursor.fetchall()) == len(SQLITE_TRIGGERS):
            return
        for statement in SQLITE_TABLES:
            cursor.execute(statement)
        for name, body in SQLITE_TRIGGERS.items():
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(f"CREATE TRIGGER {name} {body}")
        # Everything again from the products: the triggers may have missed writes.
        cursor.execute(f"DELETE FROM {FTS}")
        cursor.execute(f"DELETE FROM {WORDS}")
        cursor.execute(f"UPDATE {PRODUCT} SET name = name")


def search_index_remove(database: BaseDatabaseWrapper) -> None:
    with database.cursor() as cursor:
        if database.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS {PRODUCT}_search_vector ON {PRODUCT}")
            cursor.execute(f"DROP TRIGGER IF EXISTS {CATEGORY}_search_vectors ON {CATEGORY}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {PRODUCT}_search_vector()")
            cursor.execute(f"DROP FUNCTION IF EXISTS {CATEGORY}_search_vectors()")
            cursor.execute(f"ALTER TABLE {PRODUCT} DROP COLUMN IF EXISTS search_vector")
        elif database.vendor == "sqlite":
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            for table in (VOCABULARY, WORDS, FTS):
                cursor.execute(f"DROP TABLE IF EXISTS {table}")


def search_index_after_migrate(
    sender: object, *, using: str, plan: object = None, **kwargs: object
) -> None:
    """post_migrate: the index is there whenever the product table is (not before its
    migration has run: a migrate to an earlier state, or of another app first)."""
    from django.db import connections

    database = connections[using]
    if PRODUCT in database.introspection.table_names():
        search_index_install(database)
