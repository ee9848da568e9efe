"""Each visitor's latest events, purchases and learned list kept on Redis, so that a list
computed on a cache miss does not read PostgreSQL.

A cache miss read the visitor's history from PostgreSQL: one statement, but its round trip,
its rows and the server's work were about a tenth of the host's CPU per miss under load
(docs/benchmarks.md). Here the same rows are kept on Redis and read in one round trip:

- `history:<visitor>` is a snapshot: a header naming the generations it was exact under (the
  kept histories' own, bumped when events change behind their visitors' backs, such as a
  product deleted or an import; and the visitor's recommendations generation, which every
  change to the visitor's events bumps: infrastructure.cache), then the visitor's latest
  HISTORY_LENGTH events and PURCHASE_HISTORY_LENGTH purchases, newest first, each packed
  (microseconds since the epoch, primary key, product, type code).
- `history:<visitor>:log` lists what came since: the Lua script that bumps a visitor's
  generation for new events also appends them there, as one entry, in the same step (only
  to a log that exists: a snapshot is written with its log, which starts with an empty entry
  and expires with it). So the snapshot and its log are exact when the generation is the
  snapshot's plus the log's new entries: a bump that came without events (events moved or
  deleted, an event saved in the admin) breaks the count, and the history is read from
  PostgreSQL again.
- A snapshot is written only if the visitor's generation is still the one the list's lookup
  read before the rows were read (a Lua compare-and-set): rows read before an event
  committed are never kept. A long log is folded into a new snapshot the same way.
- `history:<visitor>:learned` holds the learned list, exact under the kept histories' and the
  recommendations family's generations (the nightly ranking bumps the latter).

Without Redis, or on SQLite (whose times are not the microseconds kept here), every read goes
to the database, as it does outside a cached list's computation.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
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
# A history is read from the database again a day after it was: what a visitor not seen since
# holds on Redis goes.
TIMEOUT = 24 * 60 * 60
# A log this long is folded into the snapshot by the next read.
LOG_FOLDED = 16
# An event: microseconds since the epoch, primary key, product, type code. Big-endian, so that
# records compare as the history query orders its rows.
EVENT = struct.Struct(">qqqb")
# The same records as NumPy reads them, without a Python object per event: a cache miss reads
# up to 550 of them. Sorting them sorts by their fields in order, as the tuples above do.
EVENT_RECORD = np.dtype([("micros", ">i8"), ("pk", ">i8"), ("product", ">i8"), ("code", "i1")])
# A learned list's row: product, score.
LEARNED = struct.Struct("<qd")
LEARNED_RECORD = np.dtype([("product", "<i8"), ("score", "<f8")])
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
_CODES = {kind.value: code for kind, code in EVENT_TYPE_CODES.items()}
_PURCHASE = EVENT_TYPE_CODES[EventType.PURCHASE]
# A history query's row: part, event id, product, event type, seconds, learned score.
Row = tuple[Any, ...]
# An event as kept: (microseconds, primary key, product, type code).
Record = tuple[int, int, int, int]
# Records of EVENT_RECORD (or LEARNED_RECORD).
Records = np.ndarray[Any, np.dtype[np.void]]

# KEYS: each visitor's generation and log; ARGV: the clock reading, then each visitor's new
# events packed together ('' for none), appended only to a kept history's log (RPUSHX).
_BUMPED = f"""
for i = 1, #KEYS, 2 do
  {cache.bump_lua("KEYS[i]", "ARGV[1]")}
  local added = ARGV[1 + (i + 1) / 2]
  if added ~= '' then redis.call('RPUSHX', KEYS[i + 1], added) end
end
return #KEYS / 2
"""

# KEYS: the visitor's generation, snapshot and log, the kept histories' generation; ARGV: the
# two generations the snapshot is exact under, the snapshot, the timeout. Generations are
# compared as strings: Lua's numbers cannot hold one exactly.
_SNAPSHOT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[4]) ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
redis.call('DEL', KEYS[3])
redis.call('RPUSH', KEYS[3], '')
redis.call('EXPIRE', KEYS[3], ARGV[4])
return 1
"""


def _keys(client: Any, visitor: str) -> list[str]:
    """The visitor's generation, snapshot and log, as Redis names them."""
    return [
        client.make_key(cache.generation_key(cache.RECOMMENDATIONS, visitor)),
        client.make_key(f"history:{visitor}"),
        client.make_key(f"history:{visitor}:log"),
    ]


def events_recorded(visitors: Sequence[str], events: StoredEvents) -> None:
    """The visitors' events changed: their recommendations generations are bumped, and their
    new `events` appended to their kept histories, in one step sent with the request's Redis
    writes."""
    client = redis_client()
    if client is None:
        cache.generation_bump_many(cache.RECOMMENDATIONS, visitors, with_writes=True)
        return
    added: dict[str, list[bytes]] = {visitor: [] for visitor in visitors}
    for visitor, pk, product, kind, when in zip(
        events.visitor,
        events.pk,
        events.product_id,
        events.event_type,
        events.occurred_at,
        strict=True,
    ):
        # A type is an EventType or its value (equal, and hashed alike).
        record = EVENT.pack((when - EPOCH) // MICROSECOND, pk, product, _CODES[kind])
        added.setdefault(visitor, []).append(record)
    keys: list[str] = []
    for visitor in added:
        keys += [
            client.make_key(cache.generation_key(cache.RECOMMENDATIONS, visitor)),
            client.make_key(f"history:{visitor}:log"),
        ]
    packed = [b"".join(records) for records in added.values()]
    bump: Command = ("EVAL", _BUMPED, len(keys), *keys, time.time_ns(), *packed)
    redis_write(
        [bump], on_failure=lambda: logger.warning("Generations not bumped, events not kept")
    )


def histories_forget() -> None:
    """Events changed behind their visitors' backs (a product deleted, an import): every kept
    history is read again from the database."""
    cache.generation_bump(HISTORIES)


@dataclass(frozen=True)
class Kept:
    """What a read of a visitor's kept history found: their latest events and purchases,
    newest first, if they are kept exactly (None: not kept), their learned list likewise
    (best first), and the generations to keep what is read instead under."""

    visitor: str
    events: tuple[Records, Records] | None
    learned: Records | None
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
    _, snapshot_key, log_key = _keys(client, visitor)
    events_asked = bool(length or purchase_length)
    commands: list[Command] = [
        ("GET", client.make_key(cache.generation_key(HISTORIES))),
        ("GET", snapshot_key) if events_asked else ("ECHO", ""),
        ("LRANGE", log_key, 0, -1) if events_asked else ("ECHO", ""),
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
    histories, snapshot, log, learned = replies
    histories = None if histories is None else histories.decode()
    found = Kept(
        visitor=visitor,
        events=None,
        learned=None,
        visitor_generation=visitor_generation,
        family_generation=family_generation,
        histories_generation=histories,
    )
    if histories is None:
        return found
    records = _records(snapshot, log, histories, visitor_generation) if events_asked else None
    learned_exact = f"{histories}:{family_generation}:".encode()
    if records is not None and len(log) >= LOG_FOLDED:
        _snapshot_write(client, found, records)
    return replace(
        found,
        events=(
            None
            if records is None
            else (records[:length], records[records["code"] == _PURCHASE][:purchase_length])
        ),
        learned=(
            np.frombuffer(learned, dtype=LEARNED_RECORD, offset=len(learned_exact))[:learned_length]
            if learned_length and learned is not None and learned.startswith(learned_exact)
            else None
        ),
    )


def _records(
    snapshot: bytes | None, log: list[bytes], histories: str, visitor_generation: int
) -> Records | None:
    """The kept events, newest first (then the higher id), if the snapshot and its log are
    exact under these generations; else None."""
    if snapshot is None:
        return None
    header, _, packed = snapshot.partition(b"\n")
    snapshot_histories, _, snapshot_generation = header.decode().partition(":")
    # The log's first entry is the empty one it was written with.
    log = log[1:]
    if snapshot_histories != histories or int(snapshot_generation) + len(log) != (
        visitor_generation
    ):
        return None
    records = np.frombuffer(packed, dtype=EVENT_RECORD)
    if log:
        # An event may be both in the snapshot and in the log: one read from the database
        # after it committed and before its bump was appended. unique() sorts by the fields.
        added = np.frombuffer(b"".join(log), dtype=EVENT_RECORD)
        records = _kept_only(np.unique(np.concatenate([records, added]))[::-1])
    return records


def _kept_only(records: Records) -> Records:
    """The records a snapshot keeps (sorted newest first): the latest events and purchases."""
    kept = np.zeros(len(records), dtype=np.bool_)
    kept[:HISTORY_LENGTH] = True
    kept[np.flatnonzero(records["code"] == _PURCHASE)[:PURCHASE_HISTORY_LENGTH]] = True
    return records[kept]


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
    if recent is not None:
        records = {_record(row) for row in recent} | {_record(row) for row in purchases}
        _snapshot_write(client, found, np.array(sorted(records, reverse=True), dtype=EVENT_RECORD))
    if learned is not None:
        blob = f"{found.histories_generation}:{found.family_generation}:".encode() + b"".join(
            LEARNED.pack(row[2], row[5]) for row in learned
        )
        redis_write(
            [("SET", client.make_key(f"history:{found.visitor}:learned"), blob, "EX", TIMEOUT)],
            on_failure=lambda: logger.warning("Learned list not kept"),
        )


def _snapshot_write(client: Any, found: Kept, records: Records) -> None:
    """Write the snapshot of these records (newest first) if the visitor's generation is still
    the one they are exact under."""
    generation, snapshot, log = _keys(client, found.visitor)
    header = f"{found.histories_generation}:{found.visitor_generation}\n".encode()
    command: Command = (
        "EVAL",
        _SNAPSHOT,
        4,
        generation,
        snapshot,
        log,
        client.make_key(cache.generation_key(HISTORIES)),
        found.visitor_generation,
        found.histories_generation,
        # NumPy may have made them native (unique() does): they are kept big-endian.
        header + records.astype(EVENT_RECORD, copy=False).tobytes(),
        TIMEOUT,
    )
    redis_write([command], on_failure=lambda: logger.warning("History not kept"))


def _record(row: Row) -> Record:
    _, pk, product, kind, seconds, _ = row
    return (round(seconds * 1_000_000), pk, product, _CODES[kind])
