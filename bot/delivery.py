"""Digest delivery: claim a slot with its plan, send the plan exactly once, record every step.

`DigestRunner.reconcile(key)` is the one idempotent entry point (the scheduler's alarm, start-up and the
minute sweep all call it): it finishes runs a crash left unfinished, records missed slots as skipped, and
claims and delivers the due slot. Exactly once rests on three things: the ledger (a slot is claimed once,
each message is recorded as soon as Discord confirms it), a deterministic nonce per message with
`enforce_nonce` (Discord returns the message it already created for a repeat within a few minutes), and,
for a message whose outcome is unknown after longer than that (resumed after a crash, or retried after a
timeout or a dropped connection), a look through the channel's messages since the claim for the message
itself (`render.digest.same_message`: its header line and embeds).

Each digest is reconciled by its own task, so one slow channel never holds the others; a digest is never
reconciled twice at once (a request during a run makes it run once more afterwards). A delivery holds the
bot's corpus gate (bot/gate.py) shared from composing its plan to its last message, so a corpus reload
waits for it and a delivery starting during a reload waits for the reload. The plan is composed outside the
write lock and the claim only records it (see `runs.claim_run`), so no writer ever waits for a compose.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord
from discord.http import Route

from bot.announce import digest_subject, log_channel, post, server_of
from bot.compose import compose_next
from bot.delivery_calls import (
    ADOPT_CLOCK_MARGIN,
    ADOPT_PAGE_SIZE,
    ChannelUnusable,
    GaveUp,
    call_with_retries,
    find_posted,
)
from bot.delivery_targets import Target, forum_post_body, look_at_channel, open_forum_post, publish_due
from bot.delivery_targets import publish as publish_message
from bot.digest import reconcile as decisions
from bot.digest.model import REFUSED, RunOutcome
from bot.digest.schedule import Slot, manual_slot_key, parse_cron, zone
from bot.render.announcements import digest_warning, pause_announcement
from bot.render.digest import link_summary, parse_header, role_ping, thread_name
from bot.store import digests as store
from bot.store import runs
from bot.store.articles import current_load_seq
from bot.store.db import QueryBudgetExceeded
from bot.store.publishing import PendingPublish

if TYPE_CHECKING:
    from bot.host import BotHost

log = logging.getLogger(__name__)

#: Discord honours a nonce for a few minutes; a message first attempted more recently than this is safely
#: re-sent with its nonce, an older one is first looked for among the channel's messages since the claim.
NONCE_TRUST = timedelta(minutes=2)
THREAD_ARCHIVE_MINUTES = 1440
#: A plan found stale at its claim (a corpus load or a delivery came in between) is composed again, at
#: most this many times in all; then the reconcile fails and the next sweep tries the slot again.
COMPOSE_ATTEMPTS = 3
#: At most this many digests compose at once: a fan-out to hundreds of channels claims its first slots and
#: starts sending while the rest compose, and lookups always find a database reader free.
COMPOSE_CONCURRENCY = 2
#: `limits.manual_runs_per_hour` counts the manual runs claimed within this window.
MANUAL_RUN_WINDOW = timedelta(hours=1)
@dataclass
class DeliveryPolicy:
    """How hard delivery tries: the waits between attempts after transient failures, the sleep used for
    them (tests pass one that returns at once), how long one request may take, and how many digest
    messages per second all channels together may send (below Discord's global 50/s, leaving room for
    commands, so a fan-out to many channels is paced instead of running into global 429s)."""

    retry_delays: tuple[float, ...] = decisions.RETRY_DELAYS
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
    request_timeout: float = 120.0
    messages_per_second: float = 45.0


class _Pacer:
    """Spaces requests evenly at a rate shared by every delivery task (each waits for its own turn)."""

    def __init__(self) -> None:
        self._next_turn = 0.0

    async def turn(self, rate: float) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        turn = max(now, self._next_turn)
        self._next_turn = turn + 1.0 / rate
        if turn > now:
            await asyncio.sleep(turn - now)


@dataclass
class _Delivery:
    """One run being delivered: the digest as stored and the message ids Discord has confirmed so far.

    `uncertain` is the part whose outcome is unknown: the first unsent one of a run resumed after an
    interruption (parts go out in order, so only it may have reached Discord unrecorded)."""

    record: store.DigestRecord
    run: runs.RunRecord
    message_ids: list[int | None]
    thread_id: int | None
    uncertain: int | None
    target: Target | None = None
    publish_held: bool = False

    @property
    def sent(self) -> list[bool]:
        return [message_id is not None for message_id in self.message_ids]

    @property
    def log_prefix(self) -> str:
        return f"digest {self.record.key!r} slot {self.run.slot_key}"


class DigestRunner:
    """Reconciles and delivers the bot's digests (one task per digest at a time)."""

    def __init__(self, bot: BotHost, policy: DeliveryPolicy | None = None) -> None:
        self.bot = bot
        self.policy = policy or DeliveryPolicy()
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._again: set[str] = set()
        self._pacer = _Pacer()
        self._pausing = asyncio.Lock()
        self._composing = asyncio.Semaphore(COMPOSE_CONCURRENCY)

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    # --- entry points ------------------------------------------------------------------------------

    def request(self, key: str) -> asyncio.Task[Any]:
        """Reconcile `key` in the background; while one is running, it runs once more when done."""
        task = self._tasks.get(key)
        if task is not None and not task.done():
            self._again.add(key)
            return task
        task = self.bot.spawn(self._reconcile_until_settled(key), name=f"digest-reconcile-{key}")
        self._tasks[key] = task
        return task

    async def _reconcile_until_settled(self, key: str) -> None:
        while True:
            self._again.discard(key)
            try:
                await self.reconcile(key)
            except QueryBudgetExceeded:
                log.warning("digest %r: composing its run took longer than the database allows a read; the "
                            "next sweep tries again (narrow its keywords or filters)", key)
            except Exception:
                log.exception("digest %r: reconcile failed; the next sweep tries again", key)
            if key not in self._again:
                return

    async def wait_idle(self) -> None:
        """Wait for every background reconcile started so far (used at shutdown and by tests)."""
        while pending := [task for task in self._tasks.values() if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def reconcile(self, key: str) -> list[RunOutcome]:
        """Bring digest `key` up to date with the clock: resume runs a crash interrupted, record missed
        slots as skipped, claim and deliver the due slot. Calling it again changes nothing."""
        async with self._lock(key):
            return await self._reconcile(key)

    async def run_now(self, key: str, *, actor: int | None) -> RunOutcome:
        """A manual run: its own slot (`manual-<UTC>`) claimed and delivered through the same path.
        Refused, saying why, while another run of the digest is in progress, beyond the hourly budget of
        `limits.manual_runs_per_hour`, and for a paused digest."""
        if self._lock(key).locked():
            record = await store.get_digest(self.bot.db, key)
            name = key if record is None else record.name
            detail = f"a run of digest {name!r} is in progress; wait for it to finish"
            return RunOutcome(name, None, REFUSED, detail=detail)
        async with self._lock(key):
            record = await store.get_digest(self.bot.db, key)
            if record is None:
                return RunOutcome(key, None, REFUSED, detail=f"there is no digest {key!r}")
            if record.paused_reason is not None:
                detail = f"digest {record.name!r} is paused: {record.paused_reason}"
                return RunOutcome(record.name, None, REFUSED, detail=detail)
            over_budget = await self._manual_budget_spent(record)
            if over_budget is not None:
                return RunOutcome(record.name, None, REFUSED, detail=over_budget)
            await self._resume_unfinished(record)
            now = self.bot.now()
            log.info("digest %r: manual run started by %s", key, actor)
            slot = Slot(manual_slot_key(now), now)
            try:
                outcome = await self._claim_and_deliver(record, slot, kind="manual")
            except QueryBudgetExceeded:
                detail = (f"composing digest {record.name!r} took longer than the database allows a read; "
                          "narrow its keywords or filters")
                return RunOutcome(record.name, slot.key, REFUSED, detail=detail)
            if outcome is None:
                detail = "a manual run was already started this second"
                return RunOutcome(record.name, slot.key, REFUSED, detail=detail)
            return outcome

    async def _manual_budget_spent(self, record: store.DigestRecord) -> str | None:
        """Why another manual run would exceed the hourly budget (and when one is possible again), or None."""
        allowed = self.bot.config.limits.manual_runs_per_hour
        now = self.bot.now()
        recent = await runs.manual_runs_since(self.bot.db, record.key, now - MANUAL_RUN_WINDOW)
        if len(recent) < allowed:
            return None
        if allowed == 0:
            return "manual runs are turned off (limits.manual_runs_per_hour is 0)"
        again = recent[-allowed] + MANUAL_RUN_WINDOW
        minutes = max(1, -(-int((again - now).total_seconds()) // 60))
        return (
            f"digest {record.name!r} already ran {len(recent)} time{'s' if len(recent) != 1 else ''} by hand "
            f"in the last hour, the most allowed ({allowed}); the next manual run is possible in {minutes} "
            f"minute{'s' if minutes != 1 else ''}"
        )

    async def pause(self, key: str, reason: str) -> bool:
        """Pause the digest with `reason` and announce it in its log channel (once: a failed announcement
        is logged, never retried). A digest already paused keeps its first reason and is not announced
        again (a deleted channel is reported both by its CHANNEL_DELETE and by a delivery's 404); False
        then."""
        async with self._pausing:
            current = await store.get_digest(self.bot.db, key)
            if current is not None and current.paused_reason is not None:
                log.info("digest %r is already paused (%s); not pausing again for: %s", key,
                         current.paused_reason, reason)
                return False
            record = await store.set_paused(self.bot.db, key, reason, now=self.bot.now())
        log.warning("digest %r paused: %s", key, reason)
        await self._announce(record, reason)
        return True

    # --- reconcile ---------------------------------------------------------------------------------

    async def _reconcile(self, key: str) -> list[RunOutcome]:
        db = self.bot.db
        record = await store.get_digest(db, key)
        if record is None:
            return []
        outcomes = await self._resume_unfinished(record)
        record = await store.get_digest(db, key) or record
        await publish_due(self.bot, record.key, timeout=self.policy.request_timeout,
                          announce=self._warn(record))
        settings = record.settings
        now = self.bot.now()
        decision = decisions.decide(
            parse_cron(settings.schedule),
            zone(settings.timezone),
            schedule_from=record.schedule_from,
            last_checked=record.last_checked,
            paused=record.paused_reason is not None,
            now=now,
        )
        if decision.skipped is not None:
            skipped = decision.skipped
            await runs.record_skipped(
                db, key, first=skipped.first, last=skipped.last, count=skipped.count, reason=skipped.reason,
                now=now,
            )
        outcome = None
        if decision.claim is not None:
            outcome = await self._claim_and_deliver(record, decision.claim, kind="scheduled")
        if decision.checked_until != record.last_checked:
            await store.set_last_checked(db, key, decision.checked_until)
        return outcomes if outcome is None else [*outcomes, outcome]

    async def _resume_unfinished(self, record: store.DigestRecord) -> list[RunOutcome]:
        """Continue runs left `pending` by a crash (a run that gave up is not retried in a loop)."""
        outcomes = []
        for run in await runs.unfinished_runs(self.bot.db, record.key):
            reason = record.paused_reason
            if reason is not None:
                await runs.finish_run(self.bot.db, run.id, "paused", reason, now=self.bot.now())
                outcomes.append(RunOutcome(record.name, run.slot_key, "paused", detail=reason))
                continue
            log.info("digest %r: resuming slot %s", record.key, run.slot_key)
            async with self._delivering(record.key):
                outcomes.append(await self._deliver(record, run, resumed=True))
        return outcomes

    @contextlib.asynccontextmanager
    async def _delivering(self, key: str) -> AsyncIterator[None]:
        """Hold the corpus gate shared for one delivery (waiting, and saying so, for a corpus reload)."""
        gate = self.bot.corpus_gate
        if gate.reloading_now or gate.reloads_waiting:
            log.info("digest %r: waiting for a corpus reload to finish", key)
        async with gate.delivering():
            yield

    async def _claim_and_deliver(
        self, record: store.DigestRecord, slot: Slot, *, kind: str
    ) -> RunOutcome | None:
        now = self.bot.now()

        # From composing to the last message sent the corpus gate is held, so a corpus reload in this
        # process neither changes the corpus under the plan nor overlaps the sending.
        async with self._delivering(record.key):
            run = await self._compose_and_claim(record, slot, kind=kind, now=now)
            if run is None:
                return None
            if run.status == "empty":
                log.info("digest %r slot %s: nothing new to post (empty)", record.key, slot.key)
                return RunOutcome(record.name, slot.key, "empty")
            return await self._deliver(record, run, resumed=False)

    async def _compose_and_claim(
        self, record: store.DigestRecord, slot: Slot, *, kind: str, now: datetime
    ) -> runs.RunRecord | None:
        """Compose the slot's plan outside the write lock, then claim the slot with it; None when the slot
        was already claimed. The claim records the plan only if the load it was composed from is still
        current and nothing it posts reached the channel meanwhile; otherwise it is composed again."""
        db = self.bot.db
        for attempt in range(1, COMPOSE_ATTEMPTS + 1):
            if await runs.slot_claimed(db, record.key, slot.key):
                return None
            async with self._composing:
                composed_from = await current_load_seq(db)
                plan, _selection = await compose_next(db, record, now=now, slot_time=slot.fire_time)
            try:
                return await runs.claim_run(db, record.key, slot.key, kind=kind, fire_time=slot.fire_time,
                                             plan=plan, now=now, composed_from=composed_from)
            except store.StalePlan as stale:
                if attempt == COMPOSE_ATTEMPTS:
                    raise
                log.info("%s; composing again", stale)
        raise AssertionError("unreachable: the last attempt returns or raises")

    # --- delivering a run --------------------------------------------------------------------------

    async def _deliver(
        self, record: store.DigestRecord, run: runs.RunRecord, *, resumed: bool
    ) -> RunOutcome:
        message_ids = [message.message_id for message in run.messages]
        uncertain = decisions.first_unsent([m is not None for m in message_ids]) if resumed else None
        delivery = _Delivery(record, run, message_ids, run.thread_id, uncertain)
        thread_mode = any(message.planned.in_thread for message in run.messages)
        try:
            delivery.target = await self._look_at_channel(delivery)
            if delivery.target.forum and delivery.thread_id is None and delivery.message_ids[0] is not None:
                # The post was recorded but not yet as the run's thread: a forum post is its own thread.
                delivery.thread_id = delivery.message_ids[0]
                await runs.set_thread(self.bot.db, run.id, delivery.thread_id)
            for index in range(len(run.messages)):
                if delivery.message_ids[index] is None:
                    await self._deliver_part(delivery, index)
                if thread_mode and index == 0 and not delivery.target.forum:
                    await self._ensure_thread(delivery)
            if thread_mode:
                await self._link_thread_header(delivery)
        except ChannelUnusable as unusable:
            await runs.finish_run(self.bot.db, run.id, "paused", unusable.reason, now=self.bot.now())
            await self.pause(record.key, unusable.reason)
            return self._outcome(delivery, "paused", unusable.reason)
        except GaveUp as gave_up:
            status = decisions.final_status(delivery.sent)
            await runs.finish_run(self.bot.db, run.id, status, str(gave_up), now=self.bot.now())
            log.error("%s: %s after %d of %d message(s): %s", delivery.log_prefix, status,
                      sum(delivery.sent), len(delivery.sent), gave_up)
            return self._outcome(delivery, status, str(gave_up))
        await runs.finish_run(self.bot.db, run.id, "posted", now=self.bot.now())
        log.info("%s: posted %d message(s)", delivery.log_prefix, len(delivery.sent))
        return self._outcome(delivery, "posted")

    @staticmethod
    def _outcome(delivery: _Delivery, status: str, detail: str | None = None) -> RunOutcome:
        return RunOutcome(delivery.record.name, delivery.run.slot_key, status, sum(delivery.sent),
                          len(delivery.sent), detail)

    def _target(self, delivery: _Delivery, index: int) -> int:
        """Where part `index` goes: the channel (or forum), or the thread (thread items, and every part
        after a forum post's first)."""
        forum = delivery.target is not None and delivery.target.forum
        if delivery.run.messages[index].planned.in_thread or (forum and index > 0):
            if delivery.thread_id is None:
                raise GaveUp(f"part {index + 1} belongs in the thread, which does not exist")
            return delivery.thread_id
        return delivery.record.channel_id

    def _payload(self, delivery: _Delivery, index: int) -> dict[str, Any]:
        """The part as planned; the run's first message also pings the digest's role when it may."""
        payload = delivery.run.messages[index].planned.payload
        role = delivery.target.ping_role if delivery.target is not None else None
        return role_ping(payload, role) if index == 0 and role is not None else payload

    async def _deliver_part(self, delivery: _Delivery, index: int) -> None:
        message = delivery.run.messages[index]
        target = self._target(delivery, index)
        payload = self._payload(delivery, index)
        if delivery.target is not None and delivery.target.forum and index == 0:
            await self._post_in_forum(delivery, payload)
            return
        # A part resumed after an interruption may have gone out as early as the claim.
        first_attempt = delivery.run.claimed_at if index == delivery.uncertain else self.bot.now()
        message_id = None
        if index == delivery.uncertain and self.bot.now() - first_attempt >= NONCE_TRUST:
            message_id = await self._find_posted(delivery, target, payload)
        if message_id is None:
            nonce = decisions.message_nonce(delivery.record.key, delivery.run.slot_key, message.part)
            body = {**payload, "nonce": nonce, "enforce_nonce": True}
            route = Route("POST", "/channels/{channel_id}/messages", channel_id=target)

            async def send() -> Any:
                await self._pacer.turn(self.policy.messages_per_second)
                return await self.bot.http.request(route, json=body)

            async def posted_meanwhile() -> dict[str, Any] | None:
                """Once the nonce may have expired, an attempt whose answer was lost is looked for."""
                if self.bot.now() - first_attempt < NONCE_TRUST:
                    return None
                found = await self._find_posted(delivery, target, payload)
                return None if found is None else {"id": str(found)}

            created = await self._call(delivery, target, f"part {message.part}", send,
                                       before_retry=posted_meanwhile)
            message_id = int(created["id"])
        publish = (delivery.target is not None and delivery.target.publish
                   and target == delivery.record.channel_id)
        await runs.record_sent(self.bot.db, delivery.run.id, message.part, message_id=message_id,
                               channel_id=target, now=self.bot.now(), publish=publish)
        delivery.message_ids[index] = message_id
        if publish and not delivery.publish_held:
            pending = PendingPublish(delivery.run.id, message.part, message_id, target)
            delivery.publish_held = not await publish_message(
                self.bot, delivery.record.key, pending, timeout=self.policy.request_timeout,
                announce=self._warn(delivery.record))

    async def _look_at_channel(self, delivery: _Delivery) -> Target:
        """The channel's kind, forum tags and the first message's ping, checked now (a role deleted or made
        unmentionable since the digest was set up means posting without the ping, and saying why)."""
        channel_id = delivery.record.channel_id
        looked = await look_at_channel(
            self.bot, delivery.record.settings, first_unsent=delivery.message_ids[0] is None,
            fetch=lambda: self._call(delivery, channel_id, "channel",
                                     lambda: self.bot.fetch_channel(channel_id)),
        )
        for notice in looked.notices:
            await self._warn(delivery.record)(notice)
        return looked.target

    async def _post_in_forum(self, delivery: _Delivery, payload: dict[str, Any]) -> None:
        """A forum digest's run opens one post: its first message starts it, the rest go inside."""
        assert delivery.target is not None
        forum_id = delivery.record.channel_id
        body = forum_post_body(delivery.record.settings, delivery.target, payload,
                               delivery.run.fire_time or delivery.run.claimed_at,
                               archive_minutes=THREAD_ARCHIVE_MINUTES)
        post_id = await open_forum_post(
            self.bot, body, target=delivery.target, forum_id=forum_id,
            since=delivery.run.claimed_at - ADOPT_CLOCK_MARGIN, uncertain=delivery.uncertain == 0,
            pace=lambda: self._pacer.turn(self.policy.messages_per_second),
            call=functools.partial(self._call, delivery, forum_id), gave_up=GaveUp,
            log_prefix=delivery.log_prefix,
        )
        await runs.record_sent(self.bot.db, delivery.run.id, 1, message_id=post_id, channel_id=post_id,
                                now=self.bot.now())
        await runs.set_thread(self.bot.db, delivery.run.id, post_id)
        delivery.message_ids[0] = post_id
        delivery.thread_id = post_id

    def _warn(self, record: store.DigestRecord) -> Callable[[str], Awaitable[None]]:
        """Tells the digest's log channel what a run did differently from its settings, and why."""

        async def announce(text: str) -> None:
            log.warning("digest %r %s", record.key, text)
            try:
                channel_id = await log_channel(self.bot, digest_subject(record))
                if channel_id is None:
                    return
                payload = digest_warning(digest=record.name, channel_id=record.channel_id, text=text,
                                         server=server_of(self.bot, record.guild_id))
                await post(self.bot, channel_id, payload, what=f"a notice of digest {record.key!r}")
            except Exception:
                log.exception("digest %r: could not announce: %s", record.key, text)

        return announce

    async def _ensure_thread(self, delivery: _Delivery) -> None:
        """Thread mode: open the thread on the header message, or adopt the one already there."""
        if delivery.thread_id is not None:
            return
        header = delivery.run.messages[0]
        header_id = delivery.message_ids[0]
        if header_id is None:
            raise GaveUp("the thread's header message was not sent")
        parsed = parse_header(header.planned.payload.get("content"))
        title, slot = (parsed[0], parsed[1]) if parsed else (delivery.record.settings.display_title, None)
        name = thread_name(title, slot, zone(delivery.record.settings.timezone))
        channel_id = delivery.record.channel_id

        async def open_thread() -> dict[str, Any]:
            return await self.bot.http.start_thread_with_message(
                channel_id, header_id, name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )

        try:
            thread = await self._call(delivery, channel_id, "thread", open_thread)
            thread_id = int(thread["id"])
        except GaveUp as error:
            cause = error.__cause__
            if not isinstance(cause, discord.HTTPException) or cause.code != decisions.THREAD_ALREADY_EXISTS:
                raise
            thread_id = header_id
            log.info("%s: adopting the thread already open on message %s", delivery.log_prefix, header_id)
        await runs.set_thread(self.bot.db, delivery.run.id, thread_id)
        delivery.thread_id = thread_id

    async def _link_thread_header(self, delivery: _Delivery) -> None:
        """Thread mode, once every story is posted: point the header's story list at the stories'
        messages in the thread. Editing is idempotent (a resumed run edits again); a failure leaves the
        links on the articles and is only logged, since every story was delivered."""
        guild_id = delivery.record.guild_id or getattr(
            getattr(self.bot.get_channel(delivery.record.channel_id), "guild", None), "id", None
        )
        header_id = delivery.message_ids[0]
        if guild_id is None or header_id is None or delivery.thread_id is None:
            return
        jump_urls = [
            f"https://discord.com/channels/{guild_id}/{delivery.thread_id}/{message_id}"
            for message, message_id in zip(delivery.run.messages, delivery.message_ids, strict=True)
            if message.planned.in_thread
            for _article in message.planned.article_ids
        ]
        body = link_summary(delivery.run.messages[0].planned.payload, jump_urls)
        # A forum post's header is the post's first message, inside the post.
        forum = delivery.target is not None and delivery.target.forum
        channel_id = delivery.thread_id if forum else delivery.record.channel_id
        route = Route("PATCH", "/channels/{channel_id}/messages/{message_id}", channel_id=channel_id,
                      message_id=header_id)
        try:
            await self._call(delivery, channel_id, "header links",
                             lambda: self.bot.http.request(route, json={"embeds": body["embeds"]}))
        except (GaveUp, ChannelUnusable) as error:
            log.warning("%s: the header keeps its article links: %s", delivery.log_prefix, error)

    async def _call(
        self,
        delivery: _Delivery,
        channel_id: int,
        what: str,
        request: Callable[[], Awaitable[Any]],
        *,
        before_retry: Callable[[], Awaitable[Any | None]] | None = None,
    ) -> Any:
        """One Discord request of this delivery, under the policy's retry rules (bot/delivery_calls.py)."""
        return await call_with_retries(request, what=what, channel_id=channel_id, policy=self.policy,
                                       log_prefix=delivery.log_prefix, before_retry=before_retry)

    async def _find_posted(self, delivery: _Delivery, channel_id: int, payload: dict[str, Any]) -> int | None:
        """The id of a message the bot already posted in the channel as this planned message, if any."""
        if self.bot.user is None:
            return None
        return await find_posted(
            payload, bot_id=self.bot.user.id, since=delivery.run.claimed_at - ADOPT_CLOCK_MARGIN,
            read_page=lambda after: self._call(
                delivery, channel_id, "messages since the claim",
                lambda: self.bot.http.logs_from(channel_id, ADOPT_PAGE_SIZE, after=after),
            ),
            log_prefix=delivery.log_prefix,
        )

    # --- announcements -----------------------------------------------------------------------------

    async def _announce(self, record: store.DigestRecord, reason: str) -> None:
        """Tell the digest's log channel (bot/log_routing.py); a failure is logged, never retried."""
        try:
            channel_id = await log_channel(self.bot, digest_subject(record))
            if channel_id is None:
                log.info("digest %r: no log channel to announce the pause in", record.key)
                return
            payload = pause_announcement(digest=record.name, channel_id=record.channel_id, reason=reason,
                                         server=server_of(self.bot, record.guild_id))
            await post(self.bot, channel_id, payload, what=f"the pause of digest {record.key!r}")
        except Exception:
            log.exception("digest %r: could not announce its pause", record.key)


def runner_of(bot: BotHost) -> DigestRunner:
    """The bot's digest runner (created with its scheduler in setup_hook)."""
    if bot.digest_runner is None:
        raise RuntimeError("the digest runner starts in setup_hook; the bot has not been set up")
    return bot.digest_runner


async def run_now(bot: BotHost, key: str, *, actor: int | None) -> RunOutcome:
    """Run the digest with this key now (`/admin digest run`): refused, with the reason, when it is
    paused."""
    return await runner_of(bot).run_now(key, actor=actor)
