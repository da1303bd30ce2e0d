"""The emulated REST API: the routes discord.py calls, Discord's error bodies, request log and checks.

Every response carries `Content-Type: application/json` exactly (discord.py compares the header string)
and a `Via` header (without it discord.py reads a 429 as a Cloudflare ban).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import checks
from .channel_kinds import ChannelKindRoutes
from .state import (
    ATTACH_FILES,
    EPHEMERAL,
    GUILD_FORUM,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILDS,
    LOADING,
    PUBLIC_THREAD,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    Attachment,
    Channel,
    InteractionRecord,
    Message,
    iso_now,
)

if TYPE_CHECKING:
    from .driver import Emulator

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
VIA = "1.1 google"
# Message flags a bot may set on a message it sends.
SENDABLE_FLAGS = EPHEMERAL | (1 << 2) | (1 << 12) | (1 << 15)


@dataclass(frozen=True)
class UploadedFile:
    field: str
    filename: str
    content_type: str
    data: bytes


BODY = web.RequestKey("body", object)
FILES = web.RequestKey("files", list)


@dataclass
class RecordedRequest:
    """One request as the emulator received it (`json` is the payload_json part of a multipart body)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]
    status: int = 0
    #: When it arrived and when it was answered (time.monotonic()): what overlapped what.
    at: float = field(default_factory=time.monotonic)
    answered_at: float | None = None


@dataclass(frozen=True)
class Ping:
    """Who one message notified: @everyone/@here, role ids, user ids (recorded only when any)."""

    message_id: str
    channel_id: str
    everyone: bool
    roles: tuple[str, ...]
    users: tuple[str, ...]


@dataclass(frozen=True)
class Violation:
    method: str
    path: str
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path}: " + "; ".join(self.problems)


@dataclass
class Fault:
    """An injected failure for requests matching `method` and the `path` regex (after /api/v10)."""

    method: str
    path: re.Pattern[str]
    status: int = 500
    code: int = 0
    message: str = ""
    times: int | None = 1
    delay: float = 0.0
    retry_after: float = 0.0
    is_global: bool = False
    drop: bool = False
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        return self.method in ("*", method) and self.path.fullmatch(path) is not None


class DiscordError(Exception):
    """Raised by handlers; becomes a Discord-style error body."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors


def unknown(kind: str) -> DiscordError:
    codes = {
        "Channel": 10003,
        "Guild": 10004,
        "Message": 10008,
        "Webhook": 10015,
        "Interaction": 10062,
        "User": 10013,
        "Application": 10002,
    }
    return DiscordError(404, codes[kind], f"Unknown {kind}")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    all_headers = {"Content-Type": "application/json", "Via": VIA, **(headers or {})}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


def no_content() -> web.Response:
    return web.Response(status=204, headers={"Via": VIA})


def error_response(error: DiscordError) -> web.Response:
    body: dict[str, Any] = {"message": error.message, "code": error.code}
    if error.errors:
        body["errors"] = error.errors
    return json_response(body, error.status)


def form_error(problems: list[str]) -> DiscordError:
    """Invalid Form Body (50035) with one `_errors` entry per problem, keyed by its path."""
    errors: dict[str, Any] = {}
    for problem in problems:
        where, _, what = problem.partition(": ")
        errors.setdefault(where.replace(" ", "_"), {"_errors": []})["_errors"].append(
            {"code": "EMULATOR_RULE", "message": what or problem}
        )
    return DiscordError(400, 50035, "Invalid Form Body", errors)


class RestApi:
    """The aiohttp application and its handlers; state lives in the emulator's World."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.world = emulator.world
        self.requests: list[RecordedRequest] = []
        self.violations: list[Violation] = []
        self.faults: list[Fault] = []
        self.pings: list[Ping] = []
        self.channel_kinds = ChannelKindRoutes(self)
        self._nonces: dict[tuple[str, str, str], tuple[str, float]] = {}
        self.app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        self._add_routes()

    # ------------------------------------------------------------------ plumbing

    def _add_routes(self) -> None:
        routes: list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]] = [
            ("GET", "/users/@me", self.get_me),
            ("GET", "/oauth2/applications/@me", self.get_application),
            ("GET", "/applications/@me", self.get_application),
            ("GET", "/gateway", self.get_gateway),
            ("GET", "/gateway/bot", self.get_gateway_bot),
            ("POST", "/users/@me/channels", self.create_dm),
            ("GET", "/applications/{app}/commands", self.get_commands),
            ("PUT", "/applications/{app}/commands", self.put_commands),
            ("GET", "/applications/{app}/guilds/{guild}/commands", self.get_commands),
            ("PUT", "/applications/{app}/guilds/{guild}/commands", self.put_commands),
            ("POST", "/interactions/{iid}/{token}/callback", self.interaction_callback),
            ("POST", "/webhooks/{app}/{token}", self.webhook_create),
            ("GET", "/webhooks/{app}/{token}/messages/{mid}", self.webhook_get),
            ("PATCH", "/webhooks/{app}/{token}/messages/{mid}", self.webhook_edit),
            ("DELETE", "/webhooks/{app}/{token}/messages/{mid}", self.webhook_delete),
            ("GET", "/guilds/{guild}", self.get_guild),
            ("GET", "/guilds/{guild}/channels", self.get_guild_channels),
            ("GET", "/guilds/{guild}/members/{user}", self.get_member),
            ("GET", "/channels/{cid}", self.get_channel),
            ("GET", "/channels/{cid}/messages", self.list_messages),
            ("POST", "/channels/{cid}/messages", self.create_message),
            ("GET", "/channels/{cid}/messages/{mid}", self.get_message),
            ("PATCH", "/channels/{cid}/messages/{mid}", self.edit_message),
            ("DELETE", "/channels/{cid}/messages/{mid}", self.delete_message),
            ("POST", "/channels/{cid}/messages/{mid}/threads", self.thread_from_message),
            ("POST", "/channels/{cid}/threads", self.thread_without_message),
            ("POST", "/channels/{cid}/messages/{mid}/crosspost", self.channel_kinds.crosspost),
            ("GET", "/channels/{cid}/threads/archived/public", self.channel_kinds.archived_public_threads),
            ("GET", "/guilds/{guild}/threads/active", self.channel_kinds.active_threads),
        ]
        for method, path, handler in routes:
            self.app.router.add_route(method, API_PREFIX + path, handler)
        self.app.router.add_get("/gateway", self.emu.gateway.handle)
        self.app.router.add_get("/attachments/{aid}/{filename}", self.get_attachment)

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        path = request.path[len(API_PREFIX) :]
        body, files = await self._read_body(request)
        record = RecordedRequest(request.method, path, dict(request.query), body, files)
        self.requests.append(record)
        request[BODY], request[FILES] = body, files
        try:
            fault = next((f for f in self.faults if f.matches(request.method, path)), None)
            if fault is not None:
                fault.hits += 1
                response = await self._apply_fault(request, fault)
            else:
                self._authorize(request, path)
                response = await handler(request)
        except DiscordError as error:
            response = error_response(error)
        except web.HTTPException as exc:
            response = json_response({"message": f"{exc.status}: {exc.reason}", "code": 0}, exc.status)
        record.status = response.status
        record.answered_at = time.monotonic()
        return response

    async def _apply_fault(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            assert request.transport is not None
            request.transport.close()
            raise ConnectionResetError("emulated dropped connection")
        if fault.status == 429:
            body = {
                "message": "You are being rate limited.",
                "retry_after": fault.retry_after,
                "global": fault.is_global,
            }
            headers = {
                "Retry-After": str(max(1, round(fault.retry_after))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": str(fault.retry_after),
                "X-RateLimit-Bucket": "emulated-bucket",
                "X-RateLimit-Scope": "global" if fault.is_global else "user",
            }
            if fault.is_global:
                headers["X-RateLimit-Global"] = "true"
            return json_response(body, 429, headers)
        message = fault.message or {403: "Missing Access", 404: "Unknown Channel"}.get(
            fault.status, "Server Error"
        )
        raise DiscordError(fault.status, fault.code, message)

    def _authorize(self, request: web.Request, path: str) -> None:
        if path.startswith(("/interactions/", "/webhooks/")):
            return
        if request.headers.get("Authorization") != f"Bot {self.world.token}":
            raise DiscordError(401, 0, "401: Unauthorized")

    async def _read_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        if not request.can_read_body:
            return None, []
        if request.content_type == "application/json":
            return await request.json(), []
        if request.content_type != "multipart/form-data":
            return None, []
        body: Any = None
        files: list[UploadedFile] = []
        reader = await request.multipart()
        async for part in reader:
            name = getattr(part, "name", None) or ""
            data = await part.read()  # type: ignore[union-attr]
            if name == "payload_json":
                body = json.loads(data)
            else:
                content_type = part.headers.get("Content-Type", "application/octet-stream")
                files.append(
                    UploadedFile(name, getattr(part, "filename", None) or name, content_type, bytes(data))
                )
        return body, files

    def _check(self, request: web.Request, problems: list[str], *, openapi_path: str | None = None) -> None:
        """Records and rejects a body that breaks a rule (also the OpenAPI schema, when available)."""
        validator = self.emu.openapi
        if validator is not None:
            problems = problems + validator.validate(
                request.method, openapi_path or self._path(request), request[BODY]
            )
        if problems:
            violation = Violation(request.method, self._path(request), tuple(problems))
            self.violations.append(violation)
            log.warning("payload violation: %s", violation)
            raise form_error(problems)

    @staticmethod
    def _path(request: web.Request) -> str:
        return request.path[len(API_PREFIX) :]

    def _body(self, request: web.Request) -> dict[str, Any]:
        body = request[BODY]
        if not isinstance(body, dict):
            raise DiscordError(400, 50109, "The request body contains invalid JSON.")
        return body

    # ------------------------------------------------------------------ identity

    async def get_me(self, request: web.Request) -> web.Response:
        return json_response(self.world.bot_user.payload())

    async def get_application(self, request: web.Request) -> web.Response:
        return json_response(self.world.application.payload(self.world.bot_user))

    async def get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.emu.ws_url})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        gateway = self.emu.gateway
        limit = {"total": 1000, "remaining": 999, "reset_after": 14400000}
        limit["max_concurrency"] = gateway.max_concurrency
        body = {"url": self.emu.ws_url, "shards": gateway.recommended_shards(), "session_start_limit": limit}
        return json_response(body)

    async def create_dm(self, request: web.Request) -> web.Response:
        user = self.world.users.get(str(self._body(request).get("recipient_id")))
        if user is None:
            raise unknown("User")
        return json_response(self.world.dm_channel(user).payload())

    # ------------------------------------------------------------------ commands

    def _command_scope(self, request: web.Request) -> str | None:
        if request.match_info["app"] != self.world.application.id:
            raise DiscordError(403, 50001, "Missing Access")
        guild_id = request.match_info.get("guild")
        if guild_id is not None and guild_id not in self.world.guilds:
            raise DiscordError(403, 50001, "Missing Access")
        return guild_id

    async def get_commands(self, request: web.Request) -> web.Response:
        return json_response(self.world.commands.get(self._command_scope(request), []))

    async def put_commands(self, request: web.Request) -> web.Response:
        guild_id = self._command_scope(request)
        body = request[BODY]
        self._check(request, checks.check_commands(body))
        existing = {(c.get("type", 1), c["name"]): c for c in self.world.commands.get(guild_id, [])}
        stored: list[dict[str, Any]] = []
        for command in body:
            kind = command.get("type", 1)
            previous = existing.get((kind, command["name"]))
            item = {
                "type": kind,
                "options": [],
                "default_member_permissions": None,
                "nsfw": False,
                **command,
                "id": previous["id"] if previous else self.world.snowflakes.next(),
                "application_id": self.world.application.id,
                "version": self.world.snowflakes.next(),
            }
            if guild_id is not None:
                item["guild_id"] = guild_id
            else:
                item.setdefault("dm_permission", True)
            stored.append(item)
        self.world.commands[guild_id] = stored
        return json_response(stored)

    # ------------------------------------------------------------------ messages (shared)

    def _attachments(
        self, body: dict[str, Any], files: list[UploadedFile], current: list[Attachment]
    ) -> list[Attachment]:
        """Discord's attachment list: existing ones kept by id, new ones referenced by upload index."""
        uploads = {f.field: f for f in files}
        if "attachments" not in body:
            entries: list[dict[str, Any]] = [{"id": i} for i in range(len(files))]
            kept = list(current)
        else:
            entries = body.get("attachments") or []
            kept = []
        by_id = {a.id: a for a in current}
        result = list(kept)
        for entry in entries:
            key = str(entry.get("id"))
            if key in by_id:
                result.append(by_id[key])
                continue
            upload = uploads.get(f"files[{key}]")
            if upload is None:
                raise form_error([f"attachments.{key}: no uploaded file files[{key}]"])
            attachment_id = self.world.snowflakes.next()
            filename = entry.get("filename") or upload.filename
            result.append(
                Attachment(
                    id=attachment_id,
                    filename=filename,
                    data=upload.data,
                    content_type=upload.content_type,
                    url=f"{self.emu.base_url}/attachments/{attachment_id}/{filename}",
                    description=entry.get("description"),
                )
            )
        return result

    def _apply_edit(self, message: Message, body: dict[str, Any], files: list[UploadedFile]) -> None:
        if "content" in body:
            message.content = body["content"] or ""
        if "embeds" in body:
            message.embeds = body["embeds"] or []
        if "components" in body:
            message.components = body["components"] or []
        if "flags" in body and body["flags"] is not None:
            message.flags = (message.flags & EPHEMERAL) | (int(body["flags"]) & ~EPHEMERAL & SENDABLE_FLAGS)
        if "attachments" in body or files:
            message.attachments = self._attachments(body, files, message.attachments)
        message.flags &= ~LOADING
        message.edited_timestamp = iso_now()

    def _new_message(
        self,
        channel: Channel,
        body: dict[str, Any],
        files: list[UploadedFile],
        *,
        flags: int | None = None,
        interaction: InteractionRecord | None = None,
        message_id: str | None = None,
    ) -> Message:
        message = Message(
            id=message_id or self.world.snowflakes.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=self.world.bot_user,
            content=body.get("content") or "",
            embeds=body.get("embeds") or [],
            components=body.get("components") or [],
            flags=(int(body.get("flags") or 0) & SENDABLE_FLAGS) if flags is None else flags,
            nonce=body.get("nonce"),
        )
        message.attachments = self._attachments(body, files, [])
        if interaction is not None:
            message.webhook_id = self.world.application.id
            message.type = 20 if interaction.type == 2 else 0
            message.interaction = {
                "id": interaction.id,
                "type": interaction.type,
                "name": interaction.name,
                "user": interaction.user.payload(),
            }
        self._mentions(message, channel, body)
        self.world.messages[message.id] = message
        return message

    def _mentions(self, message: Message, channel: Channel, body: dict[str, Any]) -> None:
        """Works out whom the new message notifies, given its allowed_mentions, and records it."""
        guild = self.world.guilds.get(channel.guild_id or "")
        if guild is None or message.ephemeral:
            return
        author = guild.members.get(self.world.bot_user.id)
        everyone, roles, users = guild.triggered_mentions(
            author, channel, message.content, body.get("allowed_mentions")
        )
        message.mention_everyone = everyone
        message.mention_roles = roles
        message.mention_users = [self.world.users[user_id] for user_id in users]
        if everyone or roles or users:
            self.pings.append(Ping(message.id, channel.id, everyone, tuple(roles), tuple(users)))

    async def _announce(self, event: str, message: Message) -> None:
        """MESSAGE_* events for messages others can see (ephemeral ones never reach the gateway)."""
        if message.ephemeral:
            return
        intent = INTENT_GUILD_MESSAGES if message.guild_id else INTENT_DIRECT_MESSAGES
        if event == "MESSAGE_DELETE":
            data: dict[str, Any] = {"id": message.id, "channel_id": message.channel_id}
            if message.guild_id:
                data["guild_id"] = message.guild_id
        else:
            data = message.payload()
        await self.emu.gateway.dispatch(event, data, intent=intent)

    def _channel(self, channel_id: str) -> Channel:
        channel = self.world.channels.get(channel_id)
        if channel is None:
            raise unknown("Channel")
        return channel

    def _require(self, channel: Channel, *needed: int) -> None:
        """403s like Discord's for the bot's own channel permissions."""
        if channel.guild_id is None:
            return
        guild = self.world.guilds[channel.guild_id]
        me = guild.members.get(self.world.bot_user.id)
        perms = guild.channel_permissions(me, channel) if me is not None else 0
        if not perms & VIEW_CHANNEL:
            raise DiscordError(403, 50001, "Missing Access")
        if any(not perms & bit for bit in needed):
            raise DiscordError(403, 50013, "Missing Permissions")

    def _message(self, channel_id: str, message_id: str) -> Message:
        message = self.world.messages.get(message_id)
        if message is None or message.channel_id != channel_id or message.deleted:
            raise unknown("Message")
        return message

    # ------------------------------------------------------------------ channels

    async def get_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request.match_info["cid"])
        self._require(channel)
        return json_response(channel.payload())

    async def list_messages(self, request: web.Request) -> web.Response:
        channel = self._channel(request.match_info["cid"])
        self._require(channel, 1 << 16)
        limit = max(1, min(100, int(request.query.get("limit", "50"))))
        messages = self.world.channel_messages(channel.id)
        if "before" in request.query:
            messages = [m for m in messages if int(m.id) < int(request.query["before"])]
        if "after" in request.query:
            after = int(request.query["after"])
            messages = [m for m in messages if int(m.id) > after][:limit]
        newest_first = sorted(messages, key=lambda m: int(m.id), reverse=True)[:limit]
        return json_response([m.payload() for m in newest_first])

    async def create_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request.match_info["cid"])
        body = self._body(request)
        files: list[UploadedFile] = request[FILES]
        if channel.type == GUILD_FORUM:
            raise DiscordError(400, 50008, "Cannot send messages in a non-text channel")
        needed = [SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES]
        if files:
            needed.append(ATTACH_FILES)
        self._require(channel, *needed)
        self._check(request, checks.check_message(body, creating=True))
        nonce = body.get("nonce")
        key = (channel.id, self.world.bot_user.id, str(nonce))
        if nonce is not None and body.get("enforce_nonce"):
            seen = self._nonces.get(key)
            if seen is not None and self.emu.clock() - seen[1] <= self.emu.nonce_window:
                existing = self.world.messages[seen[0]]
                return json_response(existing.payload())
        message = self._new_message(
            channel, body, files, flags=int(body.get("flags") or 0) & SENDABLE_FLAGS & ~EPHEMERAL
        )
        if nonce is not None and body.get("enforce_nonce"):
            self._nonces[key] = (message.id, self.emu.clock())
        await self._announce("MESSAGE_CREATE", message)
        return json_response(message.payload())

    async def get_message(self, request: web.Request) -> web.Response:
        message = self._message(request.match_info["cid"], request.match_info["mid"])
        return json_response(message.payload())

    async def edit_message(self, request: web.Request) -> web.Response:
        message = self._message(request.match_info["cid"], request.match_info["mid"])
        if message.author.id != self.world.bot_user.id:
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        body = self._body(request)
        self._check(request, checks.check_message(body, creating=False))
        self._apply_edit(message, body, request[FILES])
        await self._announce("MESSAGE_UPDATE", message)
        return json_response(message.payload())

    async def delete_message(self, request: web.Request) -> web.Response:
        message = self._message(request.match_info["cid"], request.match_info["mid"])
        message.deleted = True
        await self._announce("MESSAGE_DELETE", message)
        return no_content()

    async def _create_thread(self, parent: Channel, thread_id: str, body: dict[str, Any]) -> Channel:
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise form_error(["name: must be 1-100 characters"])
        thread = Channel(
            id=thread_id,
            type=int(body.get("type") or PUBLIC_THREAD),
            name=name,
            guild_id=parent.guild_id,
            parent_id=parent.id,
            owner_id=self.world.bot_user.id,
        )
        self.world.channels[thread.id] = thread
        if parent.guild_id is not None:
            self.world.guilds[parent.guild_id].channels[thread.id] = thread
        await self.emu.gateway.dispatch(
            "THREAD_CREATE", {**thread.payload(), "newly_created": True}, intent=INTENT_GUILDS
        )
        return thread

    async def thread_from_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request.match_info["cid"])
        self._require(channel, 1 << 35)
        message = self._message(channel.id, request.match_info["mid"])
        self._check(request, [])
        if message.thread_id is not None:
            raise DiscordError(400, 160004, "A thread has already been created for this message")
        thread = await self._create_thread(channel, message.id, self._body(request))
        message.thread_id = thread.id
        return json_response(thread.payload(), 201)

    async def thread_without_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request.match_info["cid"])
        if channel.type == GUILD_FORUM:
            return await self.channel_kinds.forum_post(request, channel)
        self._require(channel, 1 << 35)
        self._check(request, [])
        thread = await self._create_thread(channel, self.world.snowflakes.next(), self._body(request))
        return json_response(thread.payload(), 201)

    # ------------------------------------------------------------------ guilds

    def _guild(self, guild_id: str) -> Any:
        guild = self.world.guilds.get(guild_id)
        if guild is None:
            raise unknown("Guild")
        return guild

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self._guild(request.match_info["guild"])
        payload = guild.payload(bot_user_id=self.world.bot_user.id, include_all_members=False)
        for key in ("channels", "threads", "members"):
            payload.pop(key)
        return json_response(payload)

    async def get_guild_channels(self, request: web.Request) -> web.Response:
        guild = self._guild(request.match_info["guild"])
        return json_response([c.payload() for c in guild.channels.values() if not c.is_thread])

    async def get_member(self, request: web.Request) -> web.Response:
        guild = self._guild(request.match_info["guild"])
        member = guild.members.get(request.match_info["user"])
        if member is None:
            raise DiscordError(404, 10007, "Unknown Member")
        return json_response(member.payload())

    async def get_attachment(self, request: web.Request) -> web.Response:
        for message in self.world.messages.values():
            for attachment in message.attachments:
                if attachment.id == request.match_info["aid"]:
                    return web.Response(
                        body=attachment.data, headers={"Content-Type": attachment.content_type, "Via": VIA}
                    )
        raise web.HTTPNotFound()

    # ------------------------------------------------------------------ interactions

    def _interaction_for_callback(self, request: web.Request) -> InteractionRecord:
        record = self.world.interactions.get(request.match_info["iid"])
        if record is None or record.token != request.match_info["token"]:
            raise unknown("Interaction")
        self.emu.touched(record)
        if self.emu.clock() - record.created_at > self.emu.interaction_deadline:
            error = {"code": 10062, "message": "Unknown interaction"}
            record.errors.append(error)
            raise DiscordError(404, 10062, "Unknown interaction")
        if record.acknowledged:
            record.errors.append({"code": 40060, "message": "Interaction has already been acknowledged."})
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        return record

    async def interaction_callback(self, request: web.Request) -> web.Response:
        record = self._interaction_for_callback(request)
        body = self._body(request)
        files: list[UploadedFile] = request[FILES]
        self._check(request, checks.check_callback(body))
        kind = int(body["type"])
        data = body.get("data") or {}
        channel = self.world.channels[record.channel_id]
        message: Message | None = None
        if kind in (6, 7) and record.source_message_id is None:
            raise DiscordError(400, 40043, "This interaction type cannot be updated with this callback type")
        if kind == 8 and record.type != 4:
            raise DiscordError(400, 50035, "Invalid Form Body")
        if kind == 4:
            message = self._new_message(channel, data, files, interaction=record)
        elif kind == 5:
            flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
            message = self._new_message(channel, {}, [], flags=flags, interaction=record)
            record.original_loading = True
        elif kind in (6, 7):
            message = self.world.messages[record.source_message_id or ""]
            if kind == 7:
                self._apply_edit(message, data, files)
        elif kind == 8:
            record.choices = list(data.get("choices") or [])
        elif kind == 9:
            record.modal = data
        record.callback_type = kind
        if message is not None:
            record.original_id = message.id
            if kind in (4, 5):
                await self._announce("MESSAGE_CREATE", message)
            elif kind == 7:
                await self._announce("MESSAGE_UPDATE", message)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return no_content()
        interaction: dict[str, Any] = {"id": record.id, "type": record.type}
        if message is not None:
            interaction.update(
                response_message_id=message.id,
                response_message_loading=bool(message.flags & LOADING),
                response_message_ephemeral=message.ephemeral,
            )
        resource: dict[str, Any] = {"type": kind}
        if message is not None and kind != 6:
            resource["message"] = message.payload()
        return json_response({"interaction": interaction, "resource": resource})

    def _interaction_for_webhook(self, request: web.Request) -> InteractionRecord:
        record = self.world.interactions_by_token.get(request.match_info["token"])
        if (
            request.match_info["app"] != self.world.application.id
            or record is None
            or not record.acknowledged
        ):
            raise unknown("Webhook")
        self.emu.touched(record)
        return record

    def _webhook_message(self, record: InteractionRecord, message_id: str) -> Message:
        if message_id == "@original":
            if record.original_id is None or record.original_deleted:
                raise unknown("Message")
            return self.world.messages[record.original_id]
        if message_id not in record.followup_ids and message_id != record.original_id:
            raise unknown("Message")
        message = self.world.messages[message_id]
        if message.deleted:
            raise unknown("Message")
        return message

    async def webhook_create(self, request: web.Request) -> web.Response:
        record = self._interaction_for_webhook(request)
        body = self._body(request)
        files: list[UploadedFile] = request[FILES]
        self._check(request, checks.check_message(body, creating=True))
        if record.original_loading and record.original_id is not None:
            # Discord: the first followup after a deferral replaces the "thinking…" message.
            message = self.world.messages[record.original_id]
            self._apply_edit(message, body, files)
            record.original_loading = False
            await self._announce("MESSAGE_UPDATE", message)
        else:
            channel = self.world.channels[record.channel_id]
            message = self._new_message(channel, body, files, interaction=record)
            record.followup_ids.append(message.id)
            await self._announce("MESSAGE_CREATE", message)
        return json_response(message.payload())

    async def webhook_get(self, request: web.Request) -> web.Response:
        record = self._interaction_for_webhook(request)
        return json_response(self._webhook_message(record, request.match_info["mid"]).payload())

    async def webhook_edit(self, request: web.Request) -> web.Response:
        record = self._interaction_for_webhook(request)
        message = self._webhook_message(record, request.match_info["mid"])
        body = self._body(request)
        self._check(request, checks.check_message(body, creating=False))
        self._apply_edit(message, body, request[FILES])
        if message.id == record.original_id:
            record.original_loading = False
        await self._announce("MESSAGE_UPDATE", message)
        return json_response(message.payload())

    async def webhook_delete(self, request: web.Request) -> web.Response:
        record = self._interaction_for_webhook(request)
        message = self._webhook_message(record, request.match_info["mid"])
        message.deleted = True
        if message.id == record.original_id:
            record.original_deleted = True
        await self._announce("MESSAGE_DELETE", message)
        return no_content()
