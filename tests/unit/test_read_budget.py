"""Every read runs under a time budget enforced inside SQLite: an endless query is interrupted, and the
same connection serves the next query at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.store.db import Database, QueryBudgetExceeded

ENDLESS = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"


async def test_a_query_past_its_budget_is_interrupted_and_the_connection_serves_the_next(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "budget.sqlite3", readers=1)
    try:
        with pytest.raises(QueryBudgetExceeded):
            async with db.read(0.05) as conn:
                await conn.execute_fetchall(ENDLESS)
        async with db.read(0.05) as conn:
            rows = await conn.execute_fetchall("SELECT count(*) FROM articles")
        assert list(rows) == [(0,)]
        assert await db.get_state("nothing") is None
    finally:
        await db.close()


async def test_other_errors_are_not_mistaken_for_a_spent_budget(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "budget.sqlite3", readers=1)
    try:
        with pytest.raises(Exception, match="no such table") as raised:
            async with db.read(5) as conn:
                await conn.execute_fetchall("SELECT * FROM no_such_table")
        assert not isinstance(raised.value, QueryBudgetExceeded)
    finally:
        await db.close()
