"""The corpus folder watcher: a burst of writes is one reload, with a fake clock and an injected sleep."""

from __future__ import annotations

from pathlib import Path

from bot.ops.watch import CorpusWatcher, Debouncer, Snapshot, snapshot

A: Snapshot = frozenset({("a.md", 10, 1)})
AB: Snapshot = frozenset({("a.md", 10, 1), ("b.md", 20, 2)})
ABC: Snapshot = frozenset({("a.md", 10, 1), ("b.md", 20, 2), ("c.md", 30, 3)})


def test_a_change_waits_for_the_quiet_period_then_reloads_once() -> None:
    debouncer = Debouncer(A)
    assert debouncer.observe(AB, 0.0, 2.0) is False
    assert debouncer.observe(AB, 1.0, 2.0) is False
    assert debouncer.observe(AB, 2.0, 2.0) is True
    assert debouncer.observe(AB, 3.0, 2.0) is False
    assert debouncer.observe(AB, 10.0, 2.0) is False


def test_every_further_change_restarts_the_quiet_period() -> None:
    debouncer = Debouncer(A)
    assert debouncer.observe(AB, 0.0, 2.0) is False
    assert debouncer.observe(ABC, 1.5, 2.0) is False
    assert debouncer.observe(ABC, 3.0, 2.0) is False
    assert debouncer.observe(ABC, 3.5, 2.0) is True


def test_a_folder_back_to_how_it_was_at_the_last_reload_does_not_reload() -> None:
    debouncer = Debouncer(A)
    assert debouncer.observe(AB, 0.0, 1.0) is False
    assert debouncer.observe(A, 0.5, 1.0) is False
    assert debouncer.observe(A, 5.0, 1.0) is False


def test_a_folder_that_disappears_and_comes_back_is_a_change() -> None:
    debouncer = Debouncer(A)
    assert debouncer.observe(None, 0.0, 1.0) is False
    assert debouncer.observe(None, 1.0, 1.0) is True
    assert debouncer.observe(AB, 2.0, 1.0) is False
    assert debouncer.observe(AB, 3.0, 1.0) is True


class Script:
    """A scripted folder (one snapshot per poll) and a fake clock that the injected sleep moves."""

    def __init__(self, snapshots: list[Snapshot]) -> None:
        self.snapshots = snapshots
        self.polls = 0
        self.now = 0.0
        self.sleeps: list[float] = []
        self.reloads: list[float] = []
        self.watcher = CorpusWatcher(
            folder=lambda: Path("corpus"),
            quiet_seconds=lambda: 1.0,
            reload=self.reload,
            clock=lambda: self.now,
            sleep=self.sleep,
            scan=self.scan,
        )

    def scan(self, folder: Path) -> Snapshot:
        seen = self.snapshots[min(self.polls, len(self.snapshots) - 1)]
        self.polls += 1
        if self.polls > len(self.snapshots):
            self.watcher.stop()
        return seen

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def reload(self) -> None:
        self.reloads.append(self.now)


async def test_a_burst_of_writes_polled_every_half_second_is_one_reload_after_it_settles() -> None:
    # start-up scan, then a burst over three polls, then quiet
    script = Script([A, AB, ABC, ABC, ABC, ABC, ABC, ABC])
    await script.watcher.run()
    assert script.reloads == [2.0]
    assert set(script.sleeps) == {0.5}


async def test_a_failing_reload_is_logged_and_the_next_change_reloads_again() -> None:
    script = Script([A, AB, AB, AB, ABC, ABC, ABC, ABC])
    calls: list[float] = []

    async def failing() -> None:
        calls.append(script.now)
        raise RuntimeError("database is locked")

    script.watcher.reload = failing
    await script.watcher.run()
    assert calls == [1.5, 3.0]


async def test_a_moved_folder_becomes_the_new_baseline_without_a_reload() -> None:
    folders = iter([Path("old"), Path("old"), Path("new"), Path("new"), Path("new"), Path("new")])
    script = Script([A, A, AB, AB, AB, AB])
    script.watcher.folder = lambda: next(folders, Path("new"))
    await script.watcher.run()
    assert script.reloads == []


def test_the_snapshot_lists_corpus_files_only_and_none_for_a_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("x")
    (tmp_path / "b.txt").write_text("yy")
    (tmp_path / ".hidden.md").write_text("z")
    (tmp_path / "notes.json").write_text("{}")
    seen = snapshot(tmp_path)
    assert seen is not None
    assert sorted((name, size) for name, size, _ in seen) == [("a.md", 1), ("b.txt", 2)]
    assert snapshot(tmp_path / "missing") is None
