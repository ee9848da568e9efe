# ShopSmart: `make run` starts the store with demo data, `make test` runs the whole test suite.
# Both work on a fresh machine with nothing but Python 3.11+; set DATABASE_URL, REDIS_URL and
# CELERY_BROKER_URL to use PostgreSQL, Redis and a real broker instead of the built-in fallbacks.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Rounds of the load benchmarks (bench-api, bench-pages): each share printed is the median of
# this many, each against its own ping run.
ROUNDS ?= 3

.PHONY: run test worker beat migrate demo lint format typecheck check bench bench-large bench-api bench-api-ab bench-miss-cost bench-live-scoring bench-live-replay bench-pages bench-search bench-merchandising bench-content-refresh bench-content-recall bench-chords bench-experiments bench-dashboard bench-real-data bench-real-data-live bench-ranking bench-load fault-db-restart fuzz-api clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

migrate: $(VENV)/.installed
	$(BIN)/python manage.py migrate --no-input

## Demo data when the store is empty (never over real data), then fresh recommendations.
demo: migrate
	@if $(BIN)/python manage.py shell -c "import sys; from tracking.demo.loader import store_is_empty; sys.exit(0 if store_is_empty() else 1)"; then \
		$(BIN)/python manage.py seed_demo; \
	else echo "The store already has data: skipping the demo data."; fi
	$(BIN)/python manage.py compute_trending --verbosity 0
	$(BIN)/python manage.py compute_similarity --verbosity 0
	$(BIN)/python manage.py compute_content_similarity --verbosity 0
	$(BIN)/python manage.py compute_bought_together --verbosity 0
	$(BIN)/python manage.py compute_sessions --verbosity 0
	$(BIN)/python manage.py compute_ranking --verbosity 0
	$(BIN)/python manage.py compute_live_ranking --verbosity 0
	$(BIN)/python manage.py evaluate --verbosity 0 > /dev/null

## The shop and its schedule: the web server, and celery beat next to it running the declared
## jobs (recommender/schedules.py) when they are due. With no broker configured, beat runs each
## job itself (Celery's eager mode: no server needed); with CELERY_BROKER_URL set it sends them
## to the broker and `make worker` runs them.
run: demo
	$(BIN)/python manage.py install_schedule
	@echo ""
	@echo "  ShopSmart is running at http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/)"
	@echo "  Create a staff account with: $(BIN)/python manage.py createsuperuser"
	@echo ""
	@$(BIN)/celery -A shopsmart beat --loglevel=INFO & beat=$$!; \
	trap 'kill $$beat 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

worker: $(VENV)/.installed
	$(BIN)/celery -A shopsmart worker --loglevel=INFO --concurrency=2

beat: migrate
	$(BIN)/python manage.py install_schedule
	$(BIN)/celery -A shopsmart beat --loglevel=INFO

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy .

## Everything CI checks besides the tests.
check: lint typecheck
	$(BIN)/python manage.py makemigrations --check --dry-run

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py

bench-large: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py --large

bench-chords: $(VENV)/.installed-dev  ## the similarity and ranking chords: 1 worker process vs 2
	$(BIN)/python bench/chords.py

bench-api: $(VENV)/.installed-dev  ## API load: gunicorn + PostgreSQL + Redis, driven by wrk
	$(BIN)/python bench/api.py --rounds $(ROUNDS)

bench-api-ab: $(VENV)/.installed-dev  ## this checkout's API beside BASELINE=<commit>'s, alternating
	$(BIN)/python bench/api_ab.py --baseline $(BASELINE)

bench-miss-cost: $(VENV)/.installed-dev  ## a cache miss's and a hit's CPU against ping's, in one process
	$(BIN)/python bench/miss_cost.py

bench-live-scoring: $(VENV)/.installed-dev  ## the live ranking's features and classifier per request
	$(BIN)/python bench/live_scoring.py

bench-live-replay: $(VENV)/.installed-dev  ## replayed orders' live query features (DATABASE_URL's store)
	$(BIN)/python bench/live_replay.py

bench-pages: $(VENV)/.installed-dev  ## shop pages under load, as bench-api
	$(BIN)/python bench/pages.py --rounds $(ROUNDS)

bench-search: $(VENV)/.installed-dev  ## search relevance (MRR) on SQLite and PostgreSQL
	$(BIN)/python bench/search_relevance.py

bench-merchandising: $(VENV)/.installed-dev  ## what 100 merchandising rules cost a recommendation
	$(BIN)/python bench/merchandising.py

bench-experiments: $(VENV)/.installed-dev  ## hundreds of simulated A/B tests: false positives and power
	$(BIN)/python bench/experiments.py

bench-content-refresh: $(VENV)/.installed-dev  ## one product's content neighbours vs the full run
	$(BIN)/python bench/content_refresh.py $(if $(LARGE),--large)

bench-content-recall: $(VENV)/.installed-dev  ## content neighbours: the top-n product vs the dense one
	$(BIN)/python bench/content_recall.py

bench-dashboard: $(VENV)/.installed-dev  ## the dashboard on the 5M-event store
	$(BIN)/python bench/dashboard_render.py

bench-load: $(VENV)/.installed-dev  ## 64 shoppers for 60 s on the 5M-event store; events and orders counted
	$(BIN)/python bench/load.py

fault-db-restart: $(VENV)/.installed-dev  ## stops and starts this machine's PostgreSQL under traffic
	$(BIN)/python bench/db_restart.py

fuzz-api: $(VENV)/.installed-dev  ## Schemathesis against the OpenAPI schema on gunicorn
	test -x .venv-fuzz/bin/st || (python3 -m venv .venv-fuzz && .venv-fuzz/bin/pip install --quiet -r requirements-fuzz.txt)
	$(BIN)/python bench/api_fuzz.py

bench-real-data: $(VENV)/.installed-dev  ## import UCI Online Retail, recommender vs baselines
	$(BIN)/pip install --quiet -r requirements-bench.txt
	$(BIN)/python bench/real_data.py

bench-real-data-live: $(VENV)/.installed-dev  ## the live protocol on UCI Online Retail
	$(BIN)/pip install --quiet -r requirements-bench.txt
	$(BIN)/python bench/real_data.py --live

bench-ranking: $(VENV)/.installed-dev  ## the learned ranking's job on UCI Online Retail vs a previous revision
	$(BIN)/python bench/ranking.py --against $(or $(AGAINST),4f20cea)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
