"""The emulator as tests use it: start/stop, build the world, act as Discord's users, observe the bot.

Everything runs in the test's event loop, next to the bot under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import yarl
from aiohttp import web

from . import openapi
from .gateway import GUILDS_PER_RECOMMENDED_SHARD, MAX_GUILDS_PER_SHARD, Gateway
from .server import Fault, Ping, RecordedRequest, RestApi, Violation
from .state import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    BOT_DEFAULT,
    EVERYONE_DEFAULT,
    GUILD_FORUM,
    GUILD_TEXT,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILDS,
    Channel,
    Guild,
    InteractionRecord,
    Member,
    Message,
    Overwrite,
    Role,
    TeamMember,
    User,
    World,
)

log = logging.getLogger(__name__)

# asyncio task names discord.py gives the code that handles an interaction.
HANDLER_TASK_PREFIXES = (
    "CommandTree-invoker",
    "discord-ui-view-dispatch-",
    "discord-ui-modal-",
    "discord.py: on_interaction",
)
APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE = 2, 3, 4
SUBCOMMAND, SUBCOMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER = 3, 4, 5, 6, 7, 8, 9, 10


class CommandUnavailable(LookupError):
    """The invoking user could not see or use the command in a real Discord client."""


class InteractionNotAnswered(AssertionError):
    """The bot never touched an interaction within the emulator's answer timeout."""


@dataclass
class InteractionResult:
    """What the invoking user ends up seeing once the bot's handler has finished."""

    record: InteractionRecord
    message: Message | None
    followups: list[Message]

    @property
    def answered(self) -> bool:
        return self.record.acknowledged

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Discord errors the bot received for this interaction (10062, 40060…)."""
        return self.record.errors

    @property
    def deferred(self) -> bool:
        return self.record.callback_type in (5, 6)

    @property
    def content(self) -> str | None:
        return None if self.message is None else self.message.content

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return [] if self.message is None else self.message.embeds

    @property
    def components(self) -> list[dict[str, Any]]:
        return [] if self.message is None else self.message.components

    @property
    def attachments(self) -> list[Any]:
        return [] if self.message is None else self.message.attachments

    @property
    def ephemeral(self) -> bool:
        return self.message is not None and self.message.ephemeral

    @property
    def message_id(self) -> str | None:
        return None if self.message is None else self.message.id


def _snowflake_of(obj: Any) -> str:
    return str(obj if isinstance(obj, (str, int)) else obj.id)


class Emulator:
    """A loopback Discord: REST under `api_base`, gateway at `ws_url`, and a driver for tests."""

    def __init__(
        self,
        *,
        interaction_deadline: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        validate_openapi: bool = True,
        nonce_window: float = 300.0,
        answer_timeout: float = 10.0,
        max_guilds_per_shard: int = MAX_GUILDS_PER_SHARD,
        guilds_per_recommended_shard: int = GUILDS_PER_RECOMMENDED_SHARD,
        max_concurrency: int = 1,
        crosspost_limit: int = 10,
        crosspost_window: float = 3600.0,
    ) -> None:
        self.world = World()
        self.crosspost_limit = crosspost_limit
        self.crosspost_window = crosspost_window
        self.interaction_deadline = interaction_deadline
        self.clock = clock
        self.nonce_window = nonce_window
        self.answer_timeout = answer_timeout
        self.openapi = openapi.load_validator(str(openapi.spec_path())) if validate_openapi else None
        self.gateway = Gateway(
            self.world,
            lambda: self.ws_url,
            max_guilds_per_shard=max_guilds_per_shard,
            guilds_per_recommended_shard=guilds_per_recommended_shard,
            max_concurrency=max_concurrency,
        )
        self.rest = RestApi(self)
        #: World changes made while a bot is connected, sent in order by `flush_events`.
        self._outbox: list[Callable[[], Awaitable[Any]]] = []
        self._touched: dict[str, asyncio.Event] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def start(cls, **options: Any) -> Emulator:
        emu = cls(**options)
        runner = web.AppRunner(emu.rest.app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        emu._runner = runner
        emu.port = runner.addresses[0][1]
        log.debug("emulator listening on %s", emu.base_url)
        return emu

    async def stop(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def token(self) -> str:
        return self.world.token

    @property
    def bot_user(self) -> User:
        return self.world.bot_user

    @property
    def application_id(self) -> str:
        return self.world.application.id

    @contextlib.contextmanager
    def routed_discord(self) -> Iterator[None]:
        """Points discord.py's REST base and default gateway here, restoring both afterwards."""
        import discord.gateway
        import discord.http

        saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.ws_url)
        try:
            yield
        finally:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved

    # ------------------------------------------------------------------ building the world

    def add_user(self, username: str | None = None, *, bot: bool = False) -> User:
        return self.world.add_user(username, bot=bot)

    def set_owner(self, user: User, *, team: Iterable[User | TeamMember] = ()) -> None:
        """The application's owner, and optionally its team (the owner is in it as an accepted admin;
        plain users join as accepted admins, a `TeamMember` with its own role and membership state)."""
        self.world.application.owner = user
        members = [m if isinstance(m, TeamMember) else TeamMember(m) for m in team]
        self.world.application.team_members = (
            [TeamMember(user), *[m for m in members if m.user.id != user.id]] if members else []
        )

    def add_guild(
        self,
        name: str = "guild",
        *,
        owner: User | None = None,
        everyone_permissions: int = EVERYONE_DEFAULT,
        bot_permissions: int = BOT_DEFAULT,
        channel: str | None = "general",
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        """A guild the bot is in: @everyone, a managed bot role, the bot member and (by default) #general.
        `shard=(shard_id, shard_count)` picks an id Discord routes to that shard."""
        world = self.world
        owner = owner or world.add_user(f"{name}-owner")
        guild_id = world.snowflakes.next() if shard is None else world.snowflakes.next_on_shard(*shard)
        guild = Guild(id=guild_id, name=name, owner_id=owner.id)
        guild.roles[guild.id] = Role(
            id=guild.id, guild_id=guild.id, name="@everyone", permissions=everyone_permissions
        )
        bot_role = Role(
            id=world.snowflakes.next(),
            guild_id=guild.id,
            name=world.bot_user.username,
            permissions=bot_permissions,
            position=1,
            managed=True,
        )
        guild.roles[bot_role.id] = bot_role
        guild.members[owner.id] = Member(user=owner, guild_id=guild.id)
        guild.members[world.bot_user.id] = Member(
            user=world.bot_user, guild_id=guild.id, role_ids=[bot_role.id]
        )
        world.guilds[guild.id] = guild
        if channel is not None:
            self.add_channel(guild, channel)
        if self.gateway.sessions:
            self._outbox.append(partial(self.gateway.announce_guild, guild.id))
        return guild

    def add_role(self, guild: Guild, name: str, *, permissions: int = 0, mentionable: bool = False) -> Role:
        role = Role(
            id=self.world.snowflakes.next(),
            guild_id=guild.id,
            name=name,
            permissions=permissions,
            position=len(guild.roles),
            mentionable=mentionable,
        )
        guild.roles[role.id] = role
        self._queue("GUILD_ROLE_CREATE", {"guild_id": guild.id, "role": role.payload()}, INTENT_GUILDS)
        return role

    def set_role_mentionable(self, guild: Guild, role: Role, mentionable: bool) -> None:
        """Server settings → Roles → "Allow anyone to @mention this role" (GUILD_ROLE_UPDATE)."""
        role.mentionable = mentionable
        self._queue("GUILD_ROLE_UPDATE", {"guild_id": guild.id, "role": role.payload()}, INTENT_GUILDS)

    def delete_role(self, guild: Guild, role: Role) -> None:
        guild.roles.pop(role.id, None)
        for member in guild.members.values():
            member.role_ids = [role_id for role_id in member.role_ids if role_id != role.id]
        self._queue("GUILD_ROLE_DELETE", {"guild_id": guild.id, "role_id": role.id}, INTENT_GUILDS)

    def add_forum(self, guild: Guild, name: str = "news-forum", *, tags: Iterable[str] = ()) -> Channel:
        """A forum channel (type 15) with these tags available."""
        channel = Channel(
            id=self.world.snowflakes.next(),
            type=GUILD_FORUM,
            name=name,
            guild_id=guild.id,
            position=len(guild.channels),
            available_tags=[
                {"id": self.world.snowflakes.next(), "name": tag, "moderated": False, "emoji_id": None,
                 "emoji_name": None}
                for tag in tags
            ],
        )
        guild.channels[channel.id] = channel
        self.world.channels[channel.id] = channel
        self._queue("CHANNEL_CREATE", channel.payload(), INTENT_GUILDS)
        return channel

    def forum_posts(self, forum: Channel) -> list[Channel]:
        """The posts (threads) of a forum, oldest first."""
        return sorted((c for c in self.world.channels.values() if c.is_thread and c.parent_id == forum.id),
                      key=lambda c: int(c.id))

    @property
    def pings(self) -> list[Ping]:
        """Every message that notified anyone, with whom it notified."""
        return self.rest.pings
    def add_channel(
        self,
        guild: Guild,
        name: str = "general",
        *,
        type: int = GUILD_TEXT,
        overwrites: Iterable[Overwrite] = (),
        parent: Channel | None = None,
    ) -> Channel:
        channel = Channel(
            id=self.world.snowflakes.next(),
            type=type,
            name=name,
            guild_id=guild.id,
            position=len(guild.channels),
            parent_id=None if parent is None else parent.id,
            overwrites=list(overwrites),
        )
        guild.channels[channel.id] = channel
        self.world.channels[channel.id] = channel
        self._queue("CHANNEL_CREATE", channel.payload(), INTENT_GUILDS)
        return channel

    def add_member(
        self,
        guild: Guild,
        user: User | None = None,
        *,
        roles: Iterable[Role] = (),
        permissions: int = 0,
    ) -> Member:
        """A guild member; `permissions` are granted through a role of their own (as a server admin would)."""
        user = user or self.world.add_user()
        role_ids = [role.id for role in roles]
        if permissions:
            role_ids.append(self.add_role(guild, f"{user.username}-perms", permissions=permissions).id)
        member = Member(user=user, guild_id=guild.id, role_ids=role_ids)
        guild.members[user.id] = member
        self._queue("GUILD_MEMBER_ADD", {**member.payload(), "guild_id": guild.id}, INTENT_GUILD_MEMBERS)
        return member

    def set_channel_overwrite(self, channel: Channel, overwrite: Overwrite) -> None:
        channel.overwrites = [ow for ow in channel.overwrites if ow.target_id != overwrite.target_id]
        channel.overwrites.append(overwrite)
        self._queue("CHANNEL_UPDATE", channel.payload(), INTENT_GUILDS)

    async def delete_channel(self, channel: Channel) -> None:
        """Deletes a channel and tells the bot (CHANNEL_DELETE)."""
        self.world.channels.pop(channel.id, None)
        if channel.guild_id is not None:
            self.world.guilds[channel.guild_id].channels.pop(channel.id, None)
        self._queue("CHANNEL_DELETE", channel.payload(), INTENT_GUILDS)
        await self.flush_events()

    async def remove_guild(self, guild: Guild) -> None:
        """The bot leaves (or is removed from) a guild (GUILD_DELETE without `unavailable`)."""
        self.world.guilds.pop(guild.id, None)
        for channel_id in guild.channels:
            self.world.channels.pop(channel_id, None)
        self._queue("GUILD_DELETE", {"id": guild.id}, INTENT_GUILDS)
        await self.flush_events()

    def _queue(self, event: str, data: dict[str, Any], intent: int | None) -> None:
        if self.gateway.sessions:
            self._outbox.append(partial(self.gateway.dispatch, event, data, intent=intent))

    async def flush_events(self) -> None:
        """Sends world changes made since the bot connected, in order, before anything newer."""
        while self._outbox:
            await self._outbox.pop(0)()

    async def dispatch(self, event: str, data: dict[str, Any], *, intent: int | None = None) -> None:
        """Sends a raw gateway event (after any queued world changes)."""
        await self.flush_events()
        await self.gateway.dispatch(event, data, intent=intent)

    # ------------------------------------------------------------------ gateway control

    async def drop_gateway(self, *, code: int = 4000) -> None:
        """Closes the bot's socket with a resumable code; it reconnects and RESUMEs."""
        await self.gateway.drop_connections(code=code)

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Op 9: the bot identifies again (or resumes, when `resumable`)."""
        await self.gateway.invalidate_sessions(resumable=resumable)

    # ------------------------------------------------------------------ faults

    def inject(
        self,
        method: str,
        path: str,
        *,
        status: int = 500,
        code: int = 0,
        message: str = "",
        times: int | None = 1,
        delay: float = 0.0,
        retry_after: float = 0.0,
        is_global: bool = False,
        drop: bool = False,
    ) -> Fault:
        """Fails the next `times` requests (None: all) whose path (after /api/v10) fully matches `path`."""
        fault = Fault(
            method.upper(),
            re.compile(path),
            status=status,
            code=code,
            message=message,
            times=times,
            delay=delay,
            retry_after=retry_after,
            is_global=is_global,
            drop=drop,
        )
        self.rest.faults.append(fault)
        return fault

    # ------------------------------------------------------------------ observation

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.rest.requests

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """Recorded requests whose method matches and whose path fully matches the regex `path`."""
        pattern = re.compile(path)
        return [r for r in self.rest.requests if r.method == method.upper() and pattern.fullmatch(r.path)]

    @property
    def violations(self) -> list[Violation]:
        return self.rest.violations

    def take_violations(self) -> list[Violation]:
        """Returns and clears the recorded violations (for tests that provoke them on purpose)."""
        taken = list(self.rest.violations)
        self.rest.violations.clear()
        return taken

    def channel_messages(self, channel: Channel | str) -> list[Message]:
        return self.world.channel_messages(_snowflake_of(channel))

    def message(self, message_id: str) -> Message:
        return self.world.messages[message_id]

    def synced_commands(self, guild: Guild | str | None = None) -> list[dict[str, Any]]:
        return self.world.commands.get(None if guild is None else _snowflake_of(guild), [])

    def touched(self, record: InteractionRecord) -> None:
        self._touched.setdefault(record.id, asyncio.Event()).set()

    # ------------------------------------------------------------------ acting as users

    def _find_command(self, top: str, guild: Guild | None, kind: int = 1) -> dict[str, Any]:
        scopes = ([guild.id] if guild is not None else []) + [None]
        for scope in scopes:
            for command in self.world.commands.get(scope, []):
                if command["name"] == top and command.get("type", 1) == kind:
                    return command
        where = f"guild {guild.id} or globally" if guild is not None else "globally"
        raise CommandUnavailable(f"/{top} is not synced {where}")

    def _check_visible(
        self, command: dict[str, Any], member: Member | None, guild: Guild | None, channel: Channel
    ) -> None:
        """Discord's client-side rules: contexts/dm_permission, then default_member_permissions."""
        name = command["name"]
        contexts = command.get("contexts")
        if guild is None or member is None:
            if command.get("guild_id") is not None:
                raise CommandUnavailable(f"/{name} is a guild command, not usable in DMs")
            if (contexts is not None and 1 not in contexts) or command.get("dm_permission") is False:
                raise CommandUnavailable(f"/{name} is not usable in DMs")
            return
        if contexts is not None and 0 not in contexts:
            raise CommandUnavailable(f"/{name} is not usable in guilds")
        required = command.get("default_member_permissions")
        if required is None:
            return
        perms = guild.channel_permissions(member, channel)
        if perms & ADMINISTRATOR or perms == ALL_PERMISSIONS:
            return
        needed = int(required)
        if needed == 0 or perms & needed != needed:
            raise CommandUnavailable(
                f"/{name} is hidden from {member.user.username}: needs permissions {needed}, has {perms}"
            )

    def _place(
        self, user: User, guild: Guild | None, channel: Channel | None
    ) -> tuple[Member | None, Channel]:
        if guild is None:
            return None, channel or self.world.dm_channel(user)
        member = guild.members.get(user.id)
        if member is None:
            raise ValueError(f"{user.username} is not a member of guild {guild.name} (use add_member first)")
        if channel is None:
            channel = next((c for c in guild.channels.values() if c.type == GUILD_TEXT), None)
            if channel is None:
                raise ValueError(f"guild {guild.name} has no text channel to invoke in")
        return member, channel

    def _option_value(
        self, spec: dict[str, Any], value: Any, resolved: dict[str, dict[str, Any]], guild: Guild | None
    ) -> Any:
        kind, name = spec["type"], spec["name"]
        if kind == STRING:
            if not isinstance(value, str):
                raise TypeError(f"option {name!r} takes a string, got {value!r}")
            low, high = spec.get("min_length", 0), spec.get("max_length", 6000)
            if not low <= len(value) <= high:
                raise ValueError(f"option {name!r}: length must be within {low}-{high}")
        elif kind in (INTEGER, NUMBER):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or (kind == INTEGER and not isinstance(value, int))
            ):
                raise TypeError(f"option {name!r} takes a number, got {value!r}")
            if ("min_value" in spec and value < spec["min_value"]) or (
                "max_value" in spec and value > spec["max_value"]
            ):
                raise ValueError(f"option {name!r}: {value} is out of range")
        elif kind == BOOLEAN:
            if not isinstance(value, bool):
                raise TypeError(f"option {name!r} takes a boolean, got {value!r}")
        elif kind in (USER, MENTIONABLE) and isinstance(value, (User, Member)):
            user = value.user if isinstance(value, Member) else value
            resolved.setdefault("users", {})[user.id] = user.payload()
            member = guild.members.get(user.id) if guild is not None else None
            if member is not None:
                payload = member.payload(permissions=guild.base_permissions(member) if guild else 0)
                payload.pop("user")
                resolved.setdefault("members", {})[user.id] = payload
            return user.id
        elif kind == CHANNEL and isinstance(value, Channel):
            resolved.setdefault("channels", {})[value.id] = {
                "id": value.id,
                "name": value.name,
                "type": value.type,
                "permissions": str(ALL_PERMISSIONS),
                "parent_id": value.parent_id,
            }
            return value.id
        elif kind in (ROLE, MENTIONABLE) and isinstance(value, Role):
            resolved.setdefault("roles", {})[value.id] = value.payload()
            return value.id
        elif kind not in (STRING, INTEGER, NUMBER, BOOLEAN):
            raise TypeError(f"option {name!r} of type {kind} cannot take {value!r}")
        choices = spec.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise ValueError(f"option {name!r}: {value!r} is not one of the declared choices")
        return value

    def _build_options(
        self,
        command: dict[str, Any],
        path: list[str],
        values: dict[str, Any],
        guild: Guild | None,
        focused: str | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """data.options for `path` (subcommand group / subcommand names) from the command as synced."""
        chain: list[dict[str, Any]] = []
        specs = command.get("options") or []
        for name in path:
            sub = next(
                (o for o in specs if o["name"] == name and o["type"] in (SUBCOMMAND, SUBCOMMAND_GROUP)), None
            )
            if sub is None:
                raise CommandUnavailable(f"/{command['name']} has no subcommand {' '.join(path)!r}")
            chain.append(sub)
            specs = sub.get("options") or []
        if any(o["type"] in (SUBCOMMAND, SUBCOMMAND_GROUP) for o in specs):
            choices = ", ".join(o["name"] for o in specs)
            raise CommandUnavailable(f"/{command['name']} {' '.join(path)} needs a subcommand ({choices})")
        known = {o["name"] for o in specs}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}; /{command['name']} takes {sorted(known)}")
        resolved: dict[str, dict[str, Any]] = {}
        built: list[dict[str, Any]] = []
        for spec in specs:
            name = spec["name"]
            if name == focused:
                built.append(
                    {"name": name, "type": spec["type"], "value": values.get(name, ""), "focused": True}
                )
            elif name in values:
                value = self._option_value(spec, values[name], resolved, guild)
                built.append({"name": name, "type": spec["type"], "value": value})
            elif spec.get("required") and focused is None:
                raise ValueError(f"option {name!r} of /{command['name']} is required")
        for sub in reversed(chain):
            built = [{"name": sub["name"], "type": sub["type"], "options": built}]
        return built, resolved

    def _interaction_payload(
        self,
        record: InteractionRecord,
        data: dict[str, Any],
        member: Member | None,
        guild: Guild | None,
        channel: Channel,
    ) -> dict[str, Any]:
        bot_member = guild.members.get(self.world.bot_user.id) if guild is not None else None
        app_permissions = (
            guild.channel_permissions(bot_member, channel)
            if guild is not None and bot_member is not None
            else ALL_PERMISSIONS
        )
        payload: dict[str, Any] = {
            "id": record.id,
            "application_id": self.world.application.id,
            "type": record.type,
            "data": data,
            "token": record.token,
            "version": 1,
            "channel_id": channel.id,
            "app_permissions": str(app_permissions),
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild is not None and member is not None:
            perms = guild.channel_permissions(member, channel)
            payload.update(
                guild_id=guild.id,
                guild={"id": guild.id, "locale": "en-US", "features": []},
                guild_locale="en-US",
                member=member.payload(permissions=perms),
                channel={**channel.payload(), "permissions": str(perms)},
                context=0,
                authorizing_integration_owners={"0": guild.id},
            )
        else:
            payload.update(
                user=record.user.payload(),
                channel=channel.payload(),
                context=1,
                authorizing_integration_owners={"0": "0"},
            )
        return payload

    def _new_record(
        self, kind: int, user: User, guild: Guild | None, channel: Channel, name: str
    ) -> InteractionRecord:
        record = InteractionRecord(
            id=self.world.snowflakes.next(),
            token=f"aW50ZXJhY3Rpb24{secrets.token_urlsafe(48)}",
            type=kind,
            created_at=self.clock(),
            user=user,
            guild_id=None if guild is None else guild.id,
            channel_id=channel.id,
            name=name,
        )
        self.world.interactions[record.id] = record
        self.world.interactions_by_token[record.token] = record
        self._touched[record.id] = asyncio.Event()
        return record

    async def _deliver(self, record: InteractionRecord) -> None:
        await self.flush_events()
        if await self.gateway.dispatch("INTERACTION_CREATE", record.payload) == 0:
            raise RuntimeError("no bot is connected to the emulator's gateway")
        try:
            await asyncio.wait_for(self._touched[record.id].wait(), timeout=self.answer_timeout)
        except TimeoutError:
            raise InteractionNotAnswered(
                f"the bot did not answer interaction {record.name!r} within {self.answer_timeout}s"
            ) from None
        await self._quiesce()

    async def _quiesce(self) -> None:
        """Waits until discord.py's interaction handler tasks (and their edits and followups) are done."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.answer_timeout
        current = asyncio.current_task()
        while True:
            pending = [
                task
                for task in asyncio.all_tasks()
                if task is not current
                and not task.done()
                and task.get_name().startswith(HANDLER_TASK_PREFIXES)
            ]
            if not pending:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise InteractionNotAnswered(
                    f"interaction handlers still running after {self.answer_timeout}s"
                )
            await asyncio.wait(pending, timeout=remaining)

    def _result(self, record: InteractionRecord) -> InteractionResult:
        message = None
        if record.original_id is not None and not record.original_deleted:
            message = self.world.messages[record.original_id]
        followups = [
            self.world.messages[mid] for mid in record.followup_ids if not self.world.messages[mid].deleted
        ]
        return InteractionResult(record=record, message=message, followups=followups)

    async def invoke(
        self,
        command: str,
        *,
        user: User | Member,
        guild: Guild | None = None,
        channel: Channel | None = None,
        options: dict[str, Any] | None = None,
    ) -> InteractionResult:
        """Runs a slash command ("admin sync" for subcommands) as `user`, exactly as Discord would send it.

        Raises CommandUnavailable when the user could not see or use the command; returns once the bot's
        handler is done, with the final original response and the followups.
        """
        invoker = user.user if isinstance(user, Member) else user
        member, channel = self._place(invoker, guild, channel)
        top, *path = command.split()
        synced = self._find_command(top, guild)
        self._check_visible(synced, member, guild, channel)
        built, resolved = self._build_options(synced, path, options or {}, guild)
        data: dict[str, Any] = {"id": synced["id"], "name": top, "type": 1, "options": built}
        if synced.get("guild_id") is not None:
            data["guild_id"] = synced["guild_id"]
        if resolved:
            data["resolved"] = resolved
        record = self._new_record(APPLICATION_COMMAND, invoker, guild, channel, command)
        record.payload = self._interaction_payload(record, data, member, guild, channel)
        await self._deliver(record)
        return self._result(record)

    async def autocomplete(
        self,
        command: str,
        *,
        focused: str,
        value: str,
        user: User | Member,
        guild: Guild | None = None,
        channel: Channel | None = None,
        options: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Types `value` into option `focused` and returns the choices the bot offered."""
        invoker = user.user if isinstance(user, Member) else user
        member, channel = self._place(invoker, guild, channel)
        top, *path = command.split()
        synced = self._find_command(top, guild)
        self._check_visible(synced, member, guild, channel)
        built, resolved = self._build_options(
            synced, path, {**(options or {}), focused: value}, guild, focused
        )
        data: dict[str, Any] = {"id": synced["id"], "name": top, "type": 1, "options": built}
        if synced.get("guild_id") is not None:
            data["guild_id"] = synced["guild_id"]
        if resolved:
            data["resolved"] = resolved
        record = self._new_record(AUTOCOMPLETE, invoker, guild, channel, command)
        record.payload = self._interaction_payload(record, data, member, guild, channel)
        await self._deliver(record)
        if record.choices is None:
            raise InteractionNotAnswered(
                f"autocomplete for {command!r} got no choices (errors: {record.errors})"
            )
        return record.choices

    async def click(
        self,
        message: Message | str,
        custom_id: str,
        *,
        user: User | Member,
        values: list[str] | None = None,
    ) -> InteractionResult:
        """Clicks a button (or picks `values` in a select menu) on a message the bot sent."""
        target = self.world.messages[_snowflake_of(message)]
        component = target.find_component(custom_id)
        if component is None:
            raise LookupError(
                f"message {target.id} has no component {custom_id!r}; it has {target.custom_ids()}"
            )
        if component.get("disabled"):
            raise CommandUnavailable(f"component {custom_id!r} is disabled")
        invoker = user.user if isinstance(user, Member) else user
        channel = self.world.channels[target.channel_id]
        guild = self.world.guilds.get(channel.guild_id or "")
        member, channel = self._place(invoker, guild, channel)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = values
        record = self._new_record(MESSAGE_COMPONENT, invoker, guild, channel, custom_id)
        record.source_message_id = target.id
        record.payload = self._interaction_payload(record, data, member, guild, channel)
        record.payload["message"] = target.payload()
        await self._deliver(record)
        return self._result(record)
