"""Search relevance on the demo store, on SQLite and on PostgreSQL: the relevance set of
catalog/tests/relevance.py (the test holds every query to its first page), as MRR and the
share of complete first pages, overall and per kind of query.

Builds the default demo store (seed 42) in a scratch SQLite file and in its own PostgreSQL
database (BENCH_SEARCH_DATABASE_URL, default `shopsmart_bench_search`), then prints a table
and writes bench/results/search-relevance.json.

    python bench/search_relevance.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import RESULTS, ensure_database, manage, run_script

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/shopsmart_bench_search"

MEASURE = """
import json
from catalog.tests.relevance import QUERIES, figures, outcome
outcomes = [outcome(query) for query in QUERIES]
print(json.dumps({
    "figures": figures(outcomes),
    "missed": [o.query.text for o in outcomes if not o.complete_first_page],
}))
"""


def measured(url: str) -> dict[str, object]:
    ensure_database(url)
    manage(url, "migrate", "--no-input", "-v0")
    manage(url, "seed_demo", "--flush", "--seed", "42", "--verbosity", "0")
    finished = run_script(url, "manage.py", "shell", "--verbosity", "0", "-c", MEASURE)
    result: dict[str, object] = json.loads(finished.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        results = {
            "sqlite": measured(f"sqlite:///{Path(scratch) / 'search.sqlite3'}"),
            "postgresql": measured(os.environ.get("BENCH_SEARCH_DATABASE_URL", DEFAULT_URL)),
        }
    print(f"{'database':<12}{'queries':<12}{'n':>4}{'MRR':>8}{'complete first page':>22}")
    for database, result in results.items():
        for kind, row in result["figures"].items():  # type: ignore[attr-defined]
            print(f"{database:<12}{kind:<12}{row['queries']:>4}{row['mrr']:>8.3f}"
                  f"{row['complete_first_page']:>22.0%}")  # fmt: skip
        print(f"{database:<12}missed: {', '.join(result['missed']) or 'none'}")  # type: ignore[arg-type]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "search-relevance.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
