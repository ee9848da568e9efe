"""Cached answers of the recommender, invalidated by generation rather than by key patterns.

Each family (rec / sim / trending) has a generation number, and so may a scope within it (one
visitor's recommendations). A cached answer is stored with the generations it was computed
under: the family's, those of the families it is computed from, its scope's and the catalog's
(every answer shows products). A pipeline run bumps its family's generation, an event its
visitor's, a change to what a shelf shows of a product (price, name, image, category, whether
it can be bought) the catalog's, so every older answer stops matching at once (it is
overwritten by the next computation or expires by TTL), on any cache backend, without
scanning Redis for keys.

A lookup is one round trip on Redis: the generations, the stored answer and the lookup
counter in one pipeline. The cache only speeds answers up: with Redis down every lookup misses
(the error is logged), the caller computes the answer from the database and nothing is raised.
Lookups and misses are counted per family, so the dashboard can show hit rates.

Answers that many computations share (each product's neighbours, the trending fills) can also
be kept in the worker process (`local=True`). Such a copy is used only inside the computation
of another cached answer whose lookup has just read, from Redis, the generations the copy
depends on, and only if it was stored under those generations: it is never older than what
Redis would have answered, and with Redis down it is not used at all. Reads that are cheaper
from the database than from Redis (the products' cards) are kept in the process only, on the
same terms (`kept_many`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from itertools import repeat
from typing import Any, TypeVar

from django.core.cache import cache
from redis.exceptions import RedisError, ResponseError

from infrastructure.redis_client import Command, redis_client, round_trip
from infrastructure.writes import redis_write

TRENDING = "trending"
SIMILARITY = "sim"
RECOMMENDATIONS = "rec"
# Pages of product listings and searches (catalog.pagination).
SEARCH = "search"
# The merchandising rules and settings, and the lists they steer depend on it.
MERCHANDISING = "merch"
# The running experiments (recommender.experiments): which variant a visitor gets.
EXPERIMENTS = "exp"
FAMILIES = (RECOMMENDATIONS, SIMILARITY, TRENDING, SEARCH, MERCHANDISING, EXPERIMENTS)
# Not a family of answers: the generation of what every answer shows of the products.
CATALOG = "catalog"

LOOKUPS = "lookups"
MISSES = "misses"

logger = logging.getLogger("shopsmart.cache")

T = TypeVar("T")

# How many answers a worker process keeps (at most about 2 KB each: one product's neighbours).
LOCAL_ENTRIES = 20_000

# Key -> (generations it was stored under, answer), least recently used first; the lock keeps
# a threaded server's requests from evicting a key between another's read and its reordering.
_local: OrderedDict[str, tuple[tuple[int, ...], Any]] = OrderedDict()
_local_lock = threading.Lock()
# Lookups answered in the process, counted on Redis with the next round trip.
_local_lookups: Counter[str] = Counter()
# kept_many's answers: name -> (the generations they were computed under, id -> answer).
_kept: dict[str, tuple[tuple[int, ...], dict[int, Any]]] = {}
_MISSING: Any = object()
# The generations the enclosing computation's lookup read from Redis.
_generations_read: ContextVar[dict[str, int] | None] = ContextVar("generations_read", default=None)


def generation_key(family: str, scope: object = None) -> str:
    """The cache key (before the cache's own prefix) holding the generation."""
    return f"generation:{family}" if scope is None else f"generation:{family}:{scope}"


def generation_read(family: str, scope: object = None) -> int | None:
    """The generation the enclosing computation's lookup read (None outside one, or when it
    read none): what an answer computed now is stored under."""
    read = _generations_read.get()
    return None if read is None else read.get(generation_key(family, scope))


def generation(family: str) -> int:
    return _generations([generation_key(family)])[0]


def generation_bump(family: str, scope: object = None) -> None:
    """Invalidate every answer of the family (or only those of one scope, such as a visitor)."""
    generation_bump_many(family, [scope])


def bump_lua(key: str, clock: str) -> str:
    """Lua that bumps the generation under `key` (an expression) with `clock` (the clock
    reading in nanoseconds): for scripts that change what a generation guards in the same
    step as they bump it."""
    return f"redis.call('SET', {key}, {clock}, 'NX')\n  redis.call('INCR', {key})"


# Each key set to the clock reading unless it holds a generation, then incremented: one
# command for any number of keys (a pipeline of two commands per visitor cost a batch of 500
# events 29 ms of encoding and parsing replies).
_BUMP = f"""
for _, key in ipairs(KEYS) do
  {bump_lua("key", "ARGV[1]")}
end
return #KEYS
"""


_NOT_BUMPED = "Generations not bumped: answers stay until they expire"


def generation_bump_many(
    family: str, scopes: Iterable[object], *, with_writes: bool = False
) -> None:
    """generation_bump for each scope (None: the whole family), in one round trip on Redis (a
    batch of events from hundreds of visitors would otherwise wait for hundreds).

    A generation that was never set, or was evicted, starts again from a fresh clock reading:
    larger than any earlier generation (those were clock readings plus a few increments), so
    no old answer matches again.

    `with_writes`: sent with the request's other Redis writes, before its response leaves
    (infrastructure.writes), instead of waiting for Redis now. For a bump that only what
    follows the answer must see, such as new events' (their request then waits for no Redis
    reply once they are stored); not for a bump a change makes before it commits."""
    names = [generation_key(family, scope) for scope in scopes]
    client = redis_client()
    if client is None:
        for name in names:
            try:
                bumped = cache.incr(name)
            except ValueError:
                bumped = None
            if bumped is None:
                cache.set(name, time.time_ns(), timeout=None)
        return
    keys = [client.make_key(name) for name in names]
    # EVAL with the script's text: redis-py's Script object (a SHA-1 and a retry wrapper per
    # call, then EVALSHA) cost more Python than the few bytes it saves.
    bump: Command = ("EVAL", _BUMP, len(keys), *keys, time.time_ns())
    if with_writes:
        # infrastructure.writes logs why it failed.
        redis_write([bump], on_failure=lambda: logger.warning(_NOT_BUMPED))
        return
    try:
        (bumped,) = round_trip(client.get_client(write=True), [bump])
        if isinstance(bumped, ResponseError):
            raise bumped
    except (RedisError, OSError):
        logger.warning(_NOT_BUMPED, exc_info=True)


def cached(
    family: str,
    *parts: object,
    timeout: int,
    compute: Callable[[], T],
    depends_on: Sequence[str] = (),
    scope: object = None,
    local: bool = False,
    stale: Callable[[T], bool] | None = None,
) -> T:
    """The answer stored under family[:scope]:parts if it was computed under the current
    generations (and `stale` does not call it stale), else compute it, store it for
    `timeout` s and return it.

    e.g. cached(REC, 10, "-", depends_on=[TRENDING], scope="v1", ...) is stored under
    "rec:v1:10:-" with the generations of rec, trending and rec:v1. With `local`, the answer
    is also kept in the process (see the module's documentation); callers share it, so they
    must not change it.
    """
    head = [family] if scope is None else [family, str(scope)]
    key = ":".join([*head, *(str(part) for part in parts)])
    names = [generation_key(f) for f in (family, *depends_on, CATALOG)]
    if scope is not None:
        names.append(generation_key(family, scope))
    answers = _cached(
        family, [key], names, timeout, lambda _missing: [compute()], local=local, stale=stale
    )
    return answers[key]


def cached_many(
    family: str,
    name: str,
    ids: Sequence[int],
    *,
    timeout: int,
    compute: Callable[[list[int]], list[T]],
    depends_on: Sequence[str] = (),
    local: bool = False,
) -> list[T]:
    """One answer per id, stored under family:name:id, read in one round trip; the ids
    missing or stale are computed together (`compute` answers for each id it is given, in
    order) and stored. Answers come in the order of `ids`. With `local`, the answers are also
    kept in the process (see the module's documentation)."""
    if not ids:
        return []
    keys = [f"{family}:{name}:{i}" for i in ids]
    by_key = dict(zip(keys, ids, strict=True))
    names = [generation_key(f) for f in (family, *depends_on, CATALOG)]
    answers = _cached(
        family,
        keys,
        names,
        timeout,
        lambda missing: compute([by_key[key] for key in missing]),
        local=local,
    )
    return [answers[key] for key in keys]


def kept_many(
    name: str,
    ids: Sequence[int],
    *,
    compute: Callable[[list[int]], list[T]],
    depends_on: Sequence[str] = (CATALOG,),
) -> list[T]:
    """One answer per id, kept in the worker process only (never stored on Redis) under the
    generations of `depends_on`: inside the computation of a cached answer whose lookup read
    them, an id kept under those same generations is answered from the process, and the
    others are computed together and kept; anywhere else (or with the cache down) every id
    is computed. For reads cheap enough that a round trip to Redis would cost as much as the
    database, but that every computation of a list makes (its candidates' cards)."""
    if not ids:
        return []
    names = [generation_key(f) for f in depends_on]
    read = _generations_read.get()
    if read is None or any(n not in read for n in names):
        return compute(list(ids))
    table = _kept_table(name, tuple(read[n] for n in names))
    # map() over the table's own get: this runs for every id of every list computed.
    answers: list[Any] = list(map(table.get, ids, repeat(_MISSING, len(ids))))
    if _MISSING not in answers:
        return answers
    missing = list(dict.fromkeys(i for i, a in zip(ids, answers, strict=True) if a is _MISSING))
    computed = dict(zip(missing, compute(missing), strict=True))
    with _local_lock:
        table.update(computed)
        while len(table) > LOCAL_ENTRIES:
            del table[next(iter(table))]  # the longest kept
    return [computed[i] if a is _MISSING else a for i, a in zip(ids, answers, strict=True)]


def _kept_table(name: str, generations: tuple[int, ...]) -> dict[int, Any]:
    """The answers kept for `name` under these generations: a table is only ever read under
    the generations it was filled under, so one that moved on is dropped whole."""
    with _local_lock:
        kept = _kept.get(name)
        if kept is None or kept[0] != generations:
            kept = (generations, {})
            _kept[name] = kept
        return kept[1]


def flush() -> None:
    """Invalidate every family at once (the staff's "flush caches")."""
    for family in FAMILIES:
        generation_bump(family)
    generation_bump(CATALOG)


def statistics() -> dict[str, dict[str, int]]:
    """Hits and misses of each family since the counters were first written."""
    names = [_counter_key(family, event) for family in FAMILIES for event in (LOOKUPS, MISSES)]
    found = cache.get_many(names) or {}
    figures = {}
    for family in FAMILIES:
        lookups = int(found.get(_counter_key(family, LOOKUPS), 0))
        misses = int(found.get(_counter_key(family, MISSES), 0))
        # A miss is counted just after its lookup: never report more misses than lookups.
        figures[family] = {"hits": max(lookups - misses, 0), "misses": min(misses, lookups)}
    return figures


def _cached(
    family: str,
    keys: list[str],
    generation_names: list[str],
    timeout: int,
    compute: Callable[[list[str]], list[T]],
    *,
    local: bool = False,
    stale: Callable[[T], bool] | None = None,
) -> dict[str, T]:
    answers: dict[str, T] = _local_answers(keys, generation_names, family) if local else {}
    wanted = [key for key in keys if key not in answers]
    if not wanted:
        return answers
    found = _lookup([*generation_names, *wanted], family=family, lookups=len(wanted))
    if found is None:  # the cache is down: do not wait for it again in this request
        return answers | dict(zip(wanted, compute(wanted), strict=True))
    generations = tuple(found.get(name) for name in generation_names)
    missing = []
    for key in wanted:
        stored = found.get(key)
        if (
            stored is not None
            and None not in generations
            and stored[0] == generations
            and not (stale is not None and stale(stored[1]))
        ):
            answers[key] = stored[1]
        else:
            missing.append(key)
    if missing:
        if None in generations:
            generations = tuple(_generations(generation_names))
        read = {n: g for n, g in zip(generation_names, generations, strict=True) if g is not None}
        with _computing_under(read):
            computed = dict(zip(missing, compute(missing), strict=True))
        stored = {key: (generations, answer) for key, answer in computed.items()}
        _store(stored, timeout=timeout, family=family, misses=len(missing))
        answers |= computed
    if local:
        _keep_locally(wanted, answers, generations)
    return answers


@contextmanager
def generations_held(*families: str) -> Iterator[None]:
    """Inside, as inside the computation of a cached answer, the answers kept in the process
    (`local=True`, `kept_many`) are read and kept under the current generations of the
    families and the catalog (read in one round trip): for filling a fresh process with what
    its first computations would otherwise each fetch while a shopper waits."""
    names = [generation_key(f) for f in (*families, CATALOG)]
    with _computing_under(dict(zip(names, _generations(names), strict=True))):
        yield


@contextmanager
def _computing_under(generations: dict[str, int]) -> Iterator[None]:
    """Lets the lookups made while computing an answer trust process-local copies stored
    under these generations."""
    token = _generations_read.set((_generations_read.get() or {}) | generations)
    try:
        yield
    finally:
        _generations_read.reset(token)


def _local_answers(keys: list[str], generation_names: list[str], family: str) -> dict[str, Any]:
    read = _generations_read.get()
    if read is None or any(name not in read for name in generation_names):
        return {}
    current = tuple(read[name] for name in generation_names)
    answers = {}
    with _local_lock:
        for key in keys:
            kept = _local.get(key)
            if kept is not None and kept[0] == current:
                _local.move_to_end(key)
                answers[key] = kept[1]
        _local_lookups[family] += len(answers)
    return answers


def _keep_locally(keys: list[str], answers: dict[str, Any], generations: tuple[Any, ...]) -> None:
    if None in generations:
        return
    with _local_lock:
        for key in keys:
            _local[key] = (generations, answers[key])
            _local.move_to_end(key)
        while len(_local) > LOCAL_ENTRIES:
            _local.popitem(last=False)


def _counter_key(family: str, event: str) -> str:
    return f"stats:{family}:{event}"


def _count(family: str, event: str, amount: int = 1) -> None:
    name = _counter_key(family, event)
    try:
        cache.incr(name, amount)
    except ValueError:
        cache.add(name, 0, timeout=None)
        with suppress(ValueError):  # evicted again at once: lost counts
            cache.incr(name, amount)


def _lookup(names: list[str], *, family: str, lookups: int) -> dict[str, Any] | None:
    """The values found under the names, with the family's lookups counted; None if the
    cache is unreachable."""
    client = redis_client()
    # This lookup's and the process-local ones counted since the last round trip.
    counted = _local_lookups + Counter({family: lookups})
    if client is None:
        found = cache.get_many(names)
        for counted_family, amount in counted.items():
            _count(counted_family, LOOKUPS, amount)
        _local_lookups.clear()
        return found
    commands: list[Command] = [("MGET", *(client.make_key(name) for name in names))]
    commands += [
        ("INCRBY", client.make_key(_counter_key(counted_family, LOOKUPS)), amount)
        for counted_family, amount in counted.items()
    ]
    try:
        values = round_trip(client.get_client(write=True), commands)[0]
        if isinstance(values, ResponseError):
            raise values
    except (RedisError, OSError):
        logger.warning("Cache lookup failed: answering without the cache", exc_info=True)
        return None
    _local_lookups.clear()
    return {
        name: client.decode(value)
        for name, value in zip(names, values, strict=True)
        if value is not None
    }


def _store(values: dict[str, Any], *, timeout: int, family: str, misses: int) -> None:
    """Store the values and count the family's misses: one round trip on Redis, shared with
    the request's other writes (infrastructure.writes)."""
    client = redis_client()
    if client is None:
        cache.set_many(values, timeout)
        _count(family, MISSES, misses)
        return
    commands: list[Command] = [
        ("SET", client.make_key(name), client.encode(value), "EX", timeout)
        for name, value in values.items()
    ]
    commands.append(("INCRBY", client.make_key(_counter_key(family, MISSES)), misses))
    redis_write(
        commands,
        on_failure=lambda: logger.warning("Cache store failed: the answer is served uncached"),
    )


def _generations(names: list[str]) -> list[int]:
    found = cache.get_many(names) or {}
    missing = [name for name in names if name not in found]
    for name in missing:
        # Start at a clock reading (see generation_bump); add() keeps a concurrent writer's.
        cache.add(name, time.time_ns(), timeout=None)
    if missing:
        found |= cache.get_many(missing) or {}
    # With the cache down nothing is stored and nothing is read: generation 0.
    return [int(found.get(name, 0)) for name in names]
