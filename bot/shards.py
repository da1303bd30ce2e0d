"""Which shard a server is on, which shards this process runs, and so which digests it owns.

Discord sends a server's events (and its members' interactions) to shard `(guild_id >> 22) % shard_count`
and direct messages to shard 0. A cluster splits the shards between processes; each process schedules and
delivers only the digests whose server is on one of its shards, so every digest has exactly one owner.
A digest whose server is not known (its channel could not be resolved) belongs to shard 0's process, like
a direct message: exactly one process tries it and reports the problem.

Pure functions over plain values: the client, the scheduler and the tests share them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: Discord's own bound on a shard count (larger bots are "very large bot sharding" with Discord's help).
MAX_SHARD_COUNT = 4096
_RANGE = re.compile(r"(\d+)(?:-(\d+))?")


def shard_of(guild_id: int | None, shard_count: int) -> int:
    """The shard Discord routes a server's events to; no server (a direct message) is shard 0."""
    if shard_count < 1:
        raise ValueError(f"shard count must be at least 1, got {shard_count}")
    if guild_id is None:
        return 0
    return (guild_id >> 22) % shard_count


@dataclass(frozen=True)
class ShardSlice:
    """The shards one process runs (`ids`, sorted) out of the cluster's `count`."""

    ids: tuple[int, ...]
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_SHARD_COUNT:
            raise ValueError(f"shard count must be 1-{MAX_SHARD_COUNT}, got {self.count}")
        if not self.ids:
            raise ValueError("a process must run at least one shard")
        outside = [shard for shard in self.ids if not 0 <= shard < self.count]
        if outside:
            raise ValueError(
                f"shard id {outside[0]} is outside 0-{self.count - 1} (shard count {self.count})"
            )

    @classmethod
    def whole(cls, count: int) -> ShardSlice:
        """Every shard of a `count`-shard bot in one process."""
        return cls(tuple(range(count)), count)

    def owns_guild(self, guild_id: int | None) -> bool:
        """Whether this process receives the server's events (None: a server not known, see module doc)."""
        return shard_of(guild_id, self.count) in self.ids

    def describe(self) -> str:
        """For people: `shards 0-3 of 8`, `shard 2 of 4`, `all 8 shards`."""
        if len(self.ids) == self.count:
            return "1 shard" if self.count == 1 else f"all {self.count} shards"
        noun = "shard" if len(self.ids) == 1 else "shards"
        return f"{noun} {format_shard_ids(self.ids)} of {self.count}"


def owned_names(digests: Iterable[tuple[str, int | None]], shards: ShardSlice) -> list[str]:
    """The names (or keys), among `(name, guild_id)` pairs, of the digests this process schedules and
    delivers."""
    return [name for name, guild_id in digests if shards.owns_guild(guild_id)]


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """`0-3` or `0,2,5-7` → sorted distinct ids; ValueError with one sentence on anything else."""
    ids: set[int] = set()
    for part in text.split(","):
        match = _RANGE.fullmatch(part.strip())
        if match is None:
            raise ValueError(f"{part.strip()!r} is not a shard id or range (use e.g. 0-3 or 0,2,5-7)")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise ValueError(f"shard range {part.strip()!r} ends before it starts")
        if last >= MAX_SHARD_COUNT:
            raise ValueError(f"shard id {last} is too large (at most {MAX_SHARD_COUNT - 1})")
        ids.update(range(first, last + 1))
    return tuple(sorted(ids))


def format_shard_ids(ids: Iterable[int]) -> str:
    """Sorted ids as compact ranges: (0, 1, 2, 3, 6) → "0-3,6"."""
    parts: list[str] = []
    run: list[int] = []
    for shard in sorted(set(ids)):
        if run and shard != run[-1] + 1:
            parts.append(_span(run))
            run = []
        run.append(shard)
    if run:
        parts.append(_span(run))
    return ",".join(parts)


def _span(run: list[int]) -> str:
    return str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}"


class IdentifyPacer:
    """Discord lets each of `max_concurrency` buckets (`shard_id % max_concurrency`) identify once per
    `window` seconds; `delay` says how long a shard must wait, and books its turn."""

    def __init__(self, max_concurrency: int, window: float = 5.0) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self.window = window
        self._next: dict[int, float] = {}

    def delay(self, shard_id: int, now: float) -> float:
        bucket = shard_id % self.max_concurrency
        turn = max(now, self._next.get(bucket, now))
        self._next[bucket] = turn + self.window
        return turn - now
