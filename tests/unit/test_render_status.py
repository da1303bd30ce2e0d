"""`/admin status`'s shard field: one line per shard of this process, bounded, this server's shard marked;
and the one line `digestbot run` prints when Discord closes the gateway for good."""

from __future__ import annotations

from bot.discord.runtime import gateway_closed_reason
from bot.render.message import message, message_problems
from bot.render.status import ShardStatus, StatusData, shards_field, status_embed
from bot.render.text import FIELD_VALUE_LIMIT


def status(shards: list[ShardStatus], count: int, guild_shard: int | None) -> StatusData:
    return StatusData(
        version="1.0", uptime_seconds=61, latency_seconds=0.04, articles=10, last_load_seq=None,
        last_load_at=None, last_load_rejected=0, database_bytes=None, digests=(), watching=False,
        shards=shards, shard_count=count, guild_shard=guild_shard,
    )


def test_each_shard_shows_latency_and_servers_and_this_servers_shard_is_marked() -> None:
    shards = [ShardStatus(4, 0.0415, 1200), ShardStatus(5, None, 0)]
    field = shards_field(status(shards, 8, 5))
    assert field["name"] == "Shards (shards 4-5 of 8)"
    assert field["value"].splitlines() == [
        "#4: 42 ms · 1,200 server(s)", "#5: unknown · 0 server(s) · this server",
    ]


def test_a_process_with_many_shards_stays_within_discords_field_limit() -> None:
    shards = [ShardStatus(shard, 0.1, 2400) for shard in range(400)]
    data = status(shards, 400, 399)
    field = shards_field(data)
    assert len(field["value"]) <= FIELD_VALUE_LIMIT
    assert field["value"].splitlines()[-1].startswith("… and ")
    assert field["name"] == "Shards (all 400 shards)"
    assert message_problems(message([status_embed(data)])) == []


def test_gateway_closes_for_good_become_one_line_with_what_to_do() -> None:
    assert "discord.shard_count" in gateway_closed_reason(4011, "")
    assert "shard_ids" in gateway_closed_reason(4010, None)
    assert gateway_closed_reason(4999, "odd") == "Discord closed the gateway connection (code 4999: odd)"
