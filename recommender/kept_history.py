"""Each visitor's latest events, purchases and learned list kept on Redis, so that a list
computed on a cache miss does not read PostgreSQL.

A cache miss read the visitor's history from PostgreSQL: one statement, but its round trip,
its rows and the server's work were about a tenth of the host's CPU per miss under load
(docs/benchmarks.md). Here the same rows are kept on Redis and read in one round trip:

- `history:<visitor>:events` and `:purchases` are sorted sets of the visitor's latest
  HISTORY_LENGTH events and PURCHASE_HISTORY_LENGTH purchases. A member is an event packed
  big-endian (microseconds since the epoch, primary key, product, type code), scored by its
  microseconds, so Redis orders members as the history query does (newest first, then the
  higher id) and trims them the same way.
- `history:<visitor>:tag` says what they are exact under: the generation of the kept
  histories (bumped when events go behind the visitors' backs: a product deleted, an import)
  and the visitor's recommendations generation, which every change to the visitor's events
  bumps (infrastructure.cache). Kept rows are read only when the tag holds the generations
  the list's lookup has just read; otherwise the history is read from PostgreSQL, as before,
  and kept with the request's other Redis writes.
- New events are added by the same Lua script that bumps their visitors' generations, and
  only to a history exact before the bump, whose tag then moves to the new generation: the
  addition and the bump are one step, so no read can see one without the other. A history
  kept from rows read before an event committed is refused (the event's bump moved the
  generation since it was read); one read after finds the event in its rows or adds it again
  (a member added twice is one member).
- `history:<visitor>:learned` holds the learned list, exact under the kept histories' and
  the recommendations family's generations (the nightly ranking bumps the latter).

Without Redis, or on SQLite (whose times are not the microseconds Redis keeps), every read
goes to the database.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from redis.exceptions import RedisError, ResponseError

from infrastructure import cache
from infrastructure.redis_client import Command, redis_client, round_trip
from infrastructure.writes import redis_write
from recommender.algorithms.arrays import HISTORY_LENGTH
from recommender.configuration import LEARNED_LENGTH, PURCHASE_HISTORY_LENGTH
from tracking.models import EVENT_TYPE_CODES, EventType
from tracking.signals import StoredEvents

logger = logging.getLogger("shopsmart.cache")

# The kept histories' own generation: bumped when events change behind their visitors' backs.
HISTORIES = "histories"
# A visitor not seen for a day has their history read again from the database.
TIMEOUT = 24 * 60 * 60
# An event: microseconds since the epoch, primary key, product, type code.
EVENT = struct.Struct(">qqqb")
# A learned list's row: product, score.
LEARNED = struct.Struct("<qd")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TYPES = {code: kind.value for kind, code in EVENT_TYPE_CODES.items()}
_PURCHASE = EVENT_TYPE_CODES[EventType.PURCHASE]
# A history query's row: part, event id, product, event type, seconds, learned score.
Row = tuple[Any, ...]
RECENT, PURCHASES, LEARNED_PART = 0, 1, 2

# KEYS: each visitor's generation, tag, events and purchases; ARGV: the clock reading, the
# timeout, how many events and purchases are kept, then for each visitor the number of its
# new events and, for each, its score, member and whether it is a purchase. A visitor with no
# new events (theirs were moved or deleted) keeps a tag that no longer holds. Generations are
# compared as strings: Lua's numbers cannot hold one exactly.
_ADDED_AND_BUMPED = f"""
local at = 5
for i = 1, #KEYS, 4 do
  local before = redis.call('GET', KEYS[i])
  {cache.bump_lua("KEYS[i]", "ARGV[1]")}
  local count = tonumber(ARGV[at])
  local tag = redis.call('GET', KEYS[i + 1])
  if count > 0 and before and tag
    and string.sub(tag, -string.len(before) - 1) == ':' .. before then
    for j = at + 1, at + 3 * count, 3 do
      redis.call('ZADD', KEYS[i + 2], ARGV[j], ARGV[j + 1])
      if ARGV[j + 2] == '1' then redis.call('ZADD', KEYS[i + 3], ARGV[j], ARGV[j + 1]) end
    end
    redis.call('ZREMRANGEBYRANK', KEYS[i + 2], 0, -1 - tonumber(ARGV[3]))
    redis.call('ZREMRANGEBYRANK', KEYS[i + 3], 0, -1 - tonumber(ARGV[4]))
    local global = string.sub(tag, 1, -string.len(before) - 1)
    redis.call('SET', KEYS[i + 1], global .. redis.call('GET', KEYS[i]), 'EX', ARGV[2])
    redis.call('EXPIRE', KEYS[i + 2], ARGV[2])
    redis.call('EXPIRE', KEYS[i + 3], ARGV[2])
  end
  at = at + 1 + 3 * count
end
return #KEYS / 4
"""

# KEYS: the visitor's generation, tag, events and purchases, the kept histories' generation;
# ARGV: the two generations the rows were read under, the timeout, the number of events, then
# each event's score and member, then each purchase's.
_KEPT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[5]) ~= ARGV[2] then
  return 0
end
redis.call('DEL', KEYS[3], KEYS[4])
local events = 4 + 2 * tonumber(ARGV[4])
if events > 4 then redis.call('ZADD', KEYS[3], unpack(ARGV, 5, events)) end
if #ARGV > events then redis.call('ZADD', KEYS[4], unpack(ARGV, events + 1, #ARGV)) end
redis.call('SET', KEYS[2], ARGV[2] .. ':' .. ARGV[1], 'EX', ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[3])
redis.call('EXPIRE', KEYS[4], ARGV[3])
return 1
"""


def _keys(client: Any, visitor: str) -> list[str]:
    """The visitor's generation, tag, events and purchases, as Redis names them."""
    return [
        client.make_key(cache.generation_key(cache.RECOMMENDATIONS, visitor)),
        *(client.make_key(f"history:{visitor}:{part}") for part in ("tag", "events", "purchases")),
    ]


def events_recorded(visitors: Sequence[str], events: StoredEvents) -> None:
    """The visitors' events changed: their recommendations generations are bumped, and their
    new `events` added to their kept histories, in one step sent with the request's Redis
    writes."""
    client = redis_client()
    if client is None:
        cache.generation_bump_many(cache.RECOMMENDATIONS, visitors, with_writes=True)
        return
    added: dict[str, list[str | bytes]] = {visitor: [] for visitor in visitors}
    for visitor, pk, product, kind, when in zip(
        events.visitor,
        events.pk,
        events.product_id,
        events.event_type,
        events.occurred_at,
        strict=True,
    ):
        code = EVENT_TYPE_CODES[EventType(kind)]
        micros = (when - EPOCH) // timedelta(microseconds=1)
        member = EVENT.pack(micros, pk, product, code)
        added.setdefault(visitor, []).extend(
            (str(micros), member, "1" if code == _PURCHASE else "0")
        )
    keys: list[str] = []
    arguments: list[Any] = [time.time_ns(), TIMEOUT, HISTORY_LENGTH, PURCHASE_HISTORY_LENGTH]
    for visitor, rows in added.items():
        keys += _keys(client, visitor)
        arguments += [len(rows) // 3, *rows]
    bump: Command = ("EVAL", _ADDED_AND_BUMPED, len(keys), *keys, *arguments)
    redis_write(
        [bump], on_failure=lambda: logger.warning("Generations not bumped, events not kept")
    )


def histories_forget() -> None:
    """Events changed behind their visitors' backs (a product deleted, an import): every kept
    history is read again from the database."""
    cache.generation_bump(HISTORIES)


@dataclass(frozen=True)
class Kept:
    """What a read of a visitor's kept history found: the rows of the parts asked for that
    are kept exactly (None: not kept), and the generations to keep what is read instead."""

    visitor: str
    events: tuple[list[Row], list[Row]] | None
    learned: list[Row] | None
    visitor_generation: int
    family_generation: int
    histories_generation: str | None


def kept(visitor: str, *, length: int, purchase_length: int, learned_length: int) -> Kept | None:
    """The visitor's kept history (None where none can be kept: outside a cached list's
    computation, without Redis, on SQLite, or when more is asked for than is kept)."""
    client = redis_client()
    visitor_generation = cache.generation_read(cache.RECOMMENDATIONS, visitor)
    family_generation = cache.generation_read(cache.RECOMMENDATIONS)
    if (
        client is None
        or connection.vendor != "postgresql"
        or visitor_generation is None
        or family_generation is None
        or length > HISTORY_LENGTH
        or purchase_length > PURCHASE_HISTORY_LENGTH
        or learned_length > LEARNED_LENGTH
    ):
        return None
    _, tag, events, purchases = _keys(client, visitor)
    # Only the parts asked for: ZREVRANGE 0 -1 would be the whole set.
    commands: list[Command] = [
        ("GET", client.make_key(cache.generation_key(HISTORIES))),
        ("GET", tag),
        ("ZREVRANGE", events, 0, length - 1) if length else ("ECHO", ""),
        ("ZREVRANGE", purchases, 0, purchase_length - 1) if purchase_length else ("ECHO", ""),
        ("GET", client.make_key(f"history:{visitor}:learned")) if learned_length else ("ECHO", ""),
    ]
    try:
        replies = round_trip(client.get_client(write=True), commands)
        failed = [reply for reply in replies if isinstance(reply, ResponseError)]
        if failed:
            raise failed[0]
    except (RedisError, OSError):
        logger.warning("Kept history not read: reading the database", exc_info=True)
        return None
    histories, tag_found, recent, purchased, learned = replies
    histories = None if histories is None else histories.decode()
    exact = f"{histories}:{visitor_generation}".encode()
    learned_exact = f"{histories}:{family_generation}:".encode()
    return Kept(
        visitor=visitor,
        events=(
            (
                _event_rows(RECENT, recent if length else []),
                _event_rows(PURCHASES, purchased if purchase_length else []),
            )
            if histories is not None and tag_found == exact
            else None
        ),
        learned=(
            _learned_rows(learned[len(learned_exact) :])[:learned_length]
            if histories is not None
            and learned_length
            and learned is not None
            and learned.startswith(learned_exact)
            else None
        ),
        visitor_generation=visitor_generation,
        family_generation=family_generation,
        histories_generation=histories,
    )


def keep(
    found: Kept, recent: list[Row] | None, purchases: list[Row], learned: list[Row] | None
) -> None:
    """Keep what was read from the database for `found`'s visitor (rows of up to
    HISTORY_LENGTH events and PURCHASE_HISTORY_LENGTH purchases, and LEARNED_LENGTH of the
    learned list; None: not read), with the request's other Redis writes."""
    client = redis_client()
    if client is None:
        return
    if found.histories_generation is None:
        # Never bumped (or evicted): once per Redis, two round trips set it and read it.
        cache.generation_bump(HISTORIES)
        found = replace(found, histories_generation=str(cache.generation(HISTORIES)))
    commands: list[Command] = []
    if recent is not None:
        generation, tag, events, purchased = _keys(client, found.visitor)
        members = [*_members(recent), *_members(purchases)]
        commands.append(
            (
                "EVAL",
                _KEPT,
                5,
                generation,
                tag,
                events,
                purchased,
                client.make_key(cache.generation_key(HISTORIES)),
                found.visitor_generation,
                found.histories_generation,
                TIMEOUT,
                len(recent),
                *members,
            )
        )
    if learned is not None:
        blob = f"{found.histories_generation}:{found.family_generation}:".encode() + b"".join(
            LEARNED.pack(row[2], row[5]) for row in learned
        )
        commands.append(
            ("SET", client.make_key(f"history:{found.visitor}:learned"), blob, "EX", TIMEOUT)
        )
    if commands:
        redis_write(commands, on_failure=lambda: logger.warning("History not kept"))


def _members(rows: list[Row]) -> list[str | bytes]:
    """Each event row's score and member, as the sorted sets hold them."""
    members: list[str | bytes] = []
    for _, pk, product, kind, seconds, _ in rows:
        micros = round(seconds * 1_000_000)
        members += [str(micros), EVENT.pack(micros, pk, product, EVENT_TYPE_CODES[kind])]
    return members


def _event_rows(part: int, members: list[bytes]) -> list[Row]:
    return [
        (part, pk, product, _TYPES[code], micros / 1_000_000, None)
        for micros, pk, product, code in EVENT.iter_unpack(b"".join(members))
    ]


def _learned_rows(packed: bytes) -> list[Row]:
    return [
        (LEARNED_PART, None, product, None, None, score)
        for product, score in LEARNED.iter_unpack(packed)
    ]
