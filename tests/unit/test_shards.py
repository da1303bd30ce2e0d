"""Shard routing, slices, ownership of digests and identify pacing: the pure rules in bot/shards.py."""

from __future__ import annotations

import pytest

from bot.shards import IdentifyPacer, ShardSlice, format_shard_ids, owned_names, parse_shard_ids, shard_of


def guild_on(shard_id: int, count: int, millis: int = 1_000_000) -> int:
    return (millis + (shard_id - millis) % count) << 22


def test_shard_of_is_discords_rule_and_a_direct_message_is_shard_zero() -> None:
    assert shard_of(guild_on(3, 8), 8) == 3
    assert shard_of(81384788765712384, 1) == 0
    assert shard_of(81384788765712384, 4) == (81384788765712384 >> 22) % 4
    assert shard_of(None, 8) == 0
    with pytest.raises(ValueError):
        shard_of(1, 0)


def test_every_digest_has_exactly_one_owner_across_a_cluster() -> None:
    count = 8
    digests = [(f"d{shard}", guild_on(shard, count)) for shard in range(count)] + [("unknown", None)]
    slices = [ShardSlice((0, 1, 2, 3), count), ShardSlice((4, 5), count), ShardSlice((6, 7), count)]
    owners = [owned_names(digests, part) for part in slices]
    assert owners == [["d0", "d1", "d2", "d3", "unknown"], ["d4", "d5"], ["d6", "d7"]]
    assert owned_names(digests, ShardSlice.whole(count)) == [name for name, _ in digests]


def test_a_slice_outside_its_count_or_empty_is_refused() -> None:
    with pytest.raises(ValueError, match="outside 0-7"):
        ShardSlice((8,), 8)
    with pytest.raises(ValueError, match="at least one shard"):
        ShardSlice((), 8)
    with pytest.raises(ValueError, match="1-4096"):
        ShardSlice((0,), 0)


@pytest.mark.parametrize(
    ("text", "ids"),
    [("0-3", (0, 1, 2, 3)), ("0,2,5-7", (0, 2, 5, 6, 7)), ("3", (3,)), (" 1 , 1-2 ", (1, 2))],
)
def test_shard_ids_parse_from_ranges_and_lists(text: str, ids: tuple[int, ...]) -> None:
    assert parse_shard_ids(text) == ids


@pytest.mark.parametrize(("text", "message"), [
    ("3-1", "ends before it starts"), ("a", "not a shard id"), ("", "not a shard id"),
    ("-1", "not a shard id"), ("0-5000", "too large"),
])
def test_bad_shard_ids_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_shard_ids(text)


def test_slices_describe_themselves() -> None:
    assert format_shard_ids([6, 0, 1, 2, 3]) == "0-3,6"
    assert ShardSlice((0, 1, 2, 3), 8).describe() == "shards 0-3 of 8"
    assert ShardSlice((2,), 4).describe() == "shard 2 of 4"
    assert ShardSlice.whole(8).describe() == "all 8 shards"
    assert ShardSlice.whole(1).describe() == "1 shard"


def test_identify_pacing_allows_one_identify_per_bucket_per_window() -> None:
    pacer = IdentifyPacer(max_concurrency=2, window=5.0)
    assert [pacer.delay(shard, now=100.0) for shard in range(4)] == [0.0, 0.0, 5.0, 5.0]
    assert pacer.delay(4, now=101.0) == 9.0  # bucket 0: after shard 2's turn at 105
    single = IdentifyPacer(max_concurrency=1)
    assert [single.delay(shard, now=0.0) for shard in range(3)] == [0.0, 5.0, 10.0]
    assert single.delay(0, now=100.0) == 0.0
