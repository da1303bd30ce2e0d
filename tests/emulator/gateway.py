"""The emulated gateway: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME with replay, op 9.

Sharded like Discord: IDENTIFY may carry `shard: [shard_id, shard_count]` (checked; close 4010 if
invalid); a session then receives only its guilds' events, a guild being on shard
`(guild_id >> 22) % shard_count`, and events without a guild (direct messages) only on shard 0. A
connection that would hold more than `max_guilds_per_shard` guilds is closed with 4011 (sharding
required). Each shard's session resumes on its own.

Frames are uncompressed JSON text; discord.py accepts text frames even when it asked for zlib-stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from .state import INTENT_GUILD_MEMBERS, INTENT_GUILDS, World

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, REQUEST_MEMBERS = 0, 1, 2, 6, 7, 8
INVALID_SESSION, HELLO, HEARTBEAT_ACK = 9, 10, 11
HEARTBEAT_INTERVAL_MS = 41250
AUTHENTICATION_FAILED = 4004
INVALID_SHARD = 4010
SHARDING_REQUIRED = 4011
#: Discord closes a connection past 2,500 guilds and recommends a shard per 1,000.
MAX_GUILDS_PER_SHARD = 2500
GUILDS_PER_RECOMMENDED_SHARD = 1000
#: Events whose guild is in `id` rather than `guild_id`.
_GUILD_EVENTS = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})
# Close codes after which Discord lets the client resume (anything but a clean 1000/1001 from the client).
CLIENT_CLEAN_CLOSES = frozenset({1000, 1001})


def shard_of(guild_id: str | int | None, shard_count: int) -> int:
    """Discord's routing rule; an event without a guild goes to shard 0."""
    return 0 if guild_id is None else (int(guild_id) >> 22) % shard_count


def event_guild_id(event: str, data: dict[str, Any]) -> str | None:
    """The guild an event belongs to (None for direct messages and other guild-less events)."""
    guild_id = data.get("id") if event in _GUILD_EVENTS else data.get("guild_id")
    return None if guild_id is None else str(guild_id)


def parse_shard(value: Any) -> tuple[int, int] | None:
    """IDENTIFY's `shard`: `[shard_id, shard_count]` with 0 <= shard_id < shard_count; None if invalid."""
    if not isinstance(value, list) or len(value) != 2:
        return None
    shard_id, count = value
    if type(shard_id) is not int or type(count) is not int or not 0 <= shard_id < count:
        return None
    return shard_id, count


@dataclass
class Session:
    """One identified gateway session (one shard); survives its websocket so it can be resumed."""

    id: str
    intents: int
    shard: tuple[int, int] = (0, 1)
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None
    resumable: bool = True
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def wants(self, intent: int | None) -> bool:
        return intent is None or bool(self.intents & intent)

    def owns(self, guild_id: str | None) -> bool:
        """Whether this shard receives the events of `guild_id` (None: guild-less events, shard 0)."""
        shard_id, count = self.shard
        return shard_of(guild_id, count) == shard_id


class Gateway:
    """Accepts websocket connections and fans dispatch events out to sessions."""

    def __init__(
        self,
        world: World,
        ws_url: Callable[[], str],
        *,
        max_guilds_per_shard: int = MAX_GUILDS_PER_SHARD,
        guilds_per_recommended_shard: int = GUILDS_PER_RECOMMENDED_SHARD,
        max_concurrency: int = 1,
    ) -> None:
        self.world = world
        self._ws_url = ws_url
        self.max_guilds_per_shard = max_guilds_per_shard
        self.guilds_per_recommended_shard = guilds_per_recommended_shard
        self.max_concurrency = max_concurrency
        #: Close codes the gateway ended connections with (4010 invalid shard, 4011 sharding required).
        self.closes: list[int] = []
        self.sessions: dict[str, Session] = {}
        self.sockets: set[web.WebSocketResponse] = set()
        self._closed_here: set[web.WebSocketResponse] = set()
        self.ready = asyncio.Event()
        self.identifies = 0
        self.resumes = 0

    def recommended_shards(self) -> int:
        """`/gateway/bot`'s `shards`: one per `guilds_per_recommended_shard` guilds, at least one."""
        return max(1, math.ceil(len(self.world.guilds) / self.guilds_per_recommended_shard))

    def connected_sessions(self) -> list[Session]:
        return [s for s in self.sessions.values() if s.ws is not None and not s.ws.closed]

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        self.sockets.add(ws)
        session: Session | None = None
        try:
            await ws.send_str(json.dumps({"op": HELLO, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}))
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                op, data = frame.get("op"), frame.get("d")
                if op == HEARTBEAT:
                    await ws.send_str(json.dumps({"op": HEARTBEAT_ACK}))
                elif op == IDENTIFY:
                    session = await self._identify(ws, data)
                elif op == RESUME:
                    session = await self._resume(ws, data)
                elif op == REQUEST_MEMBERS and session is not None:
                    await self._send_member_chunk(session, data)
        finally:
            self.sockets.discard(ws)
            closed_here = ws in self._closed_here
            self._closed_here.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
                if not closed_here and ws.close_code in CLIENT_CLEAN_CLOSES:
                    session.resumable = False
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        if data.get("token") != self.world.token:
            await ws.close(code=AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return None
        shard = parse_shard(data.get("shard", [0, 1]))
        if shard is None:
            await self._close(ws, INVALID_SHARD, b"Invalid shard.")
            return None
        session = Session(id=secrets.token_hex(16), intents=int(data.get("intents", 0)), shard=shard, ws=ws)
        world = self.world
        guild_ids = [gid for gid in world.guilds if session.owns(gid)]
        if len(guild_ids) > self.max_guilds_per_shard:
            await self._close(ws, SHARDING_REQUIRED, b"Sharding required.")
            return None
        self.identifies += 1
        self.sessions[session.id] = session
        ready = {
            "v": 10,
            "user": world.bot_user.payload(),
            "guilds": [{"id": gid, "unavailable": True} for gid in guild_ids],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self._ws_url(),
            "application": {"id": world.application.id, "flags": world.application.flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
        }
        if "shard" in data:
            ready["shard"] = list(shard)
        await self._dispatch_to(session, "READY", ready)
        for guild_id in guild_ids:
            await self._dispatch_to(session, "GUILD_CREATE", self.guild_payload(session, guild_id))
        self.ready.set()
        return session

    async def _close(self, ws: web.WebSocketResponse, code: int, message: bytes) -> None:
        """Ends a connection for good with a close code the client must not resume after (recorded)."""
        self.closes.append(code)
        self._closed_here.add(ws)
        await ws.close(code=code, message=message)

    def guild_payload(self, session: Session, guild_id: str) -> dict[str, Any]:
        return self.world.guilds[guild_id].payload(
            bot_user_id=self.world.bot_user.id,
            include_all_members=bool(session.intents & INTENT_GUILD_MEMBERS),
        )

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        session = self.sessions.get(data.get("session_id", ""))
        if data.get("token") != self.world.token or session is None or not session.resumable:
            await ws.send_str(json.dumps({"op": INVALID_SESSION, "d": False}))
            return None
        self.resumes += 1
        session.ws = ws
        after = int(data.get("seq") or 0)
        async with session.send_lock:
            for event in session.events:
                if event["s"] > after:
                    await ws.send_str(json.dumps(event))
        await self._dispatch_to(session, "RESUMED", {})
        return session

    async def _send_member_chunk(self, session: Session, data: dict[str, Any]) -> None:
        guild = self.world.guilds.get(str(data.get("guild_id")))
        if guild is None:
            return
        chunk = {
            "guild_id": guild.id,
            "members": [m.payload() for m in guild.members.values()],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self._dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _dispatch_to(self, session: Session, event: str, data: dict[str, Any]) -> None:
        async with session.send_lock:
            session.seq += 1
            frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
            session.events.append(frame)
            if session.ws is not None and not session.ws.closed:
                try:
                    await session.ws.send_str(json.dumps(frame))
                except ConnectionError:
                    log.debug("gateway: %s not delivered, kept for replay (session %s)", event, session.id)

    async def dispatch(self, event: str, data: dict[str, Any], *, intent: int | None = None) -> int:
        """Sends an event to every live session that subscribed to `intent` and whose shard carries the
        event's guild; returns how many got it."""
        guild_id = event_guild_id(event, data)
        targets = [
            s for s in self.sessions.values() if s.resumable and s.wants(intent) and s.owns(guild_id)
        ]
        for session in targets:
            await self._dispatch_to(session, event, data)
        return len(targets)

    async def announce_guild(self, guild_id: str) -> int:
        """GUILD_CREATE for a guild the bot just joined, to the sessions of its shard (each with the
        payload its intents ask for)."""
        targets = [
            s for s in self.sessions.values() if s.resumable and s.wants(INTENT_GUILDS) and s.owns(guild_id)
        ]
        for session in targets:
            await self._dispatch_to(session, "GUILD_CREATE", self.guild_payload(session, guild_id))
        return len(targets)

    async def drop_connections(self, *, code: int = 4000) -> None:
        """Closes every socket with a resumable code: the client reconnects and sends RESUME."""
        for ws in list(self.sockets):
            self._closed_here.add(ws)
            await ws.close(code=code, message=b"emulated disconnect")

    async def invalidate_sessions(self, *, resumable: bool = False) -> None:
        """Op 9: with `resumable=False` the client forgets its session and identifies again."""
        for session in list(self.sessions.values()):
            if not resumable:
                session.resumable = False
            if session.ws is not None and not session.ws.closed:
                await session.ws.send_str(json.dumps({"op": INVALID_SESSION, "d": resumable}))

    async def request_reconnect(self) -> None:
        """Op 7: the client closes and resumes."""
        for session in self.connected_sessions():
            assert session.ws is not None
            await session.ws.send_str(json.dumps({"op": RECONNECT, "d": None}))

    async def close(self) -> None:
        for ws in list(self.sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"emulator stopping")
