"""The emulated Discord world: users, guilds, roles, channels, messages, commands and interactions.

Plain data plus the few rules Discord applies to it (snowflakes, permission arithmetic, payload shapes),
so the REST routes, the gateway and the driver all read and write one consistent model.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits the emulator reasons about (values from Discord's documentation).
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
USE_APPLICATION_COMMANDS = 1 << 31
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

EVERYONE_DEFAULT = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)
BOT_DEFAULT = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
    | USE_APPLICATION_COMMANDS
)

# Channel types.
GUILD_TEXT = 0
DM = 1
GUILD_CATEGORY = 4
GUILD_ANNOUNCEMENT = 5
PUBLIC_THREAD = 11
GUILD_FORUM = 15
THREAD_TYPES = frozenset({10, 11, 12})

# Message flags.
CROSSPOSTED = 1 << 0
EPHEMERAL = 1 << 6
LOADING = 1 << 7

# Gateway intents.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12


_MENTION_EVERYONE = re.compile(r"@(?:everyone|here)")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_USER_MENTION = re.compile(r"<@!?(\d+)>")


def iso_now() -> str:
    """Discord's timestamp format, from the wall clock (only ever shown, never compared)."""
    return datetime.now(UTC).isoformat()


class Snowflakes:
    """Real-looking snowflakes: creation time in the high bits, strictly increasing."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> str:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, self._last + 1)
        return str(self._last)

    def next_on_shard(self, shard_id: int, shard_count: int) -> str:
        """A guild id Discord would route to `shard_id` of `shard_count`: `(id >> 22) % count == shard_id`
        (the millisecond is moved forward as far as needed; ids stay increasing)."""
        millis = max(int(time.time() * 1000) - DISCORD_EPOCH_MS, (self._last >> 22) + 1)
        millis += (shard_id - millis) % shard_count
        self._last = millis << 22
        return str(self._last)


@dataclass
class User:
    id: str
    username: str
    bot: bool = False
    global_name: str | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass
class Role:
    id: str
    guild_id: str
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    mentionable: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }


@dataclass(frozen=True)
class Overwrite:
    """A channel permission overwrite for a role (type 0) or a member (type 1)."""

    target_id: str
    type: int
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, Any]:
        return {"id": self.target_id, "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass
class Channel:
    id: str
    type: int
    name: str
    guild_id: str | None = None
    position: int = 0
    parent_id: str | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    owner_id: str | None = None
    recipients: list[User] = field(default_factory=list)
    archived: bool = False
    #: A forum's tags ({"id", "name", "moderated", "emoji_id", "emoji_name"}), and a forum post's tag ids.
    available_tags: list[dict[str, Any]] = field(default_factory=list)
    applied_tags: list[str] = field(default_factory=list)

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    def payload(self) -> dict[str, Any]:
        if self.type == DM:
            return {
                "id": self.id,
                "type": DM,
                "last_message_id": None,
                "recipients": [user.payload() for user in self.recipients],
            }
        data: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "guild_id": self.guild_id,
            "name": self.name,
            "position": self.position,
            "parent_id": self.parent_id,
            "flags": 0,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "last_message_id": None,
        }
        if self.is_thread:
            data.update(
                owner_id=self.owner_id,
                message_count=0,
                member_count=1,
                total_message_sent=0,
                thread_metadata={
                    "archived": self.archived,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": iso_now(),
                    "locked": False,
                    "create_timestamp": iso_now(),
                },
                applied_tags=list(self.applied_tags),
            )
        else:
            data.update(topic=None, permission_overwrites=[ow.payload() for ow in self.overwrites])
        if self.type == GUILD_FORUM:
            data.update(
                available_tags=[dict(tag) for tag in self.available_tags],
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                default_thread_rate_limit_per_user=0,
            )
        return data


@dataclass
class Member:
    user: User
    guild_id: str
    role_ids: list[str] = field(default_factory=list)
    joined_at: str = field(default_factory=iso_now)

    def payload(self, permissions: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "user": self.user.payload(),
            "roles": list(self.role_ids),
            "nick": None,
            "avatar": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class Guild:
    id: str
    name: str
    owner_id: str
    roles: dict[str, Role] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    def payload(self, *, bot_user_id: str, include_all_members: bool) -> dict[str, Any]:
        """The GUILD_CREATE body: without the members intent Discord sends only the bot's own member."""
        members = [
            member.payload()
            for member in self.members.values()
            if include_all_members or member.user.id == bot_user_id
        ]
        return {
            "id": self.id,
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": self.owner_id,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [role.payload() for role in self.roles.values()],
            "channels": [ch.payload() for ch in self.channels.values() if not ch.is_thread],
            "threads": [ch.payload() for ch in self.channels.values() if ch.is_thread],
            "members": members,
            "member_count": len(self.members),
            "large": False,
            "unavailable": False,
            "joined_at": iso_now(),
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "max_members": 500000,
            "vanity_url_code": None,
        }

    def base_permissions(self, member: Member) -> int:
        """Guild-level permissions: owner and Administrator get everything."""
        if member.user.id == self.owner_id:
            return ALL_PERMISSIONS
        perms = self.everyone.permissions
        for role_id in member.role_ids:
            role = self.roles.get(role_id)
            if role is not None:
                perms |= role.permissions
        if perms & ADMINISTRATOR:
            return ALL_PERMISSIONS
        return perms

    def triggered_mentions(
        self, author: Member | None, channel: Channel, content: str, allowed: dict[str, Any] | None
    ) -> tuple[bool, list[str], list[str]]:
        """Who a message would notify, as Discord decides: (@everyone/@here, role ids, user ids).

        A mention counts only when `allowed` (allowed_mentions; absent means parse everything) lets it
        through; a role pings only when it is mentionable or the author has Mention Everyone in the
        channel, and @everyone/@here only with Mention Everyone."""
        parse = ["everyone", "roles", "users"] if allowed is None else list(allowed.get("parse") or [])
        allowed_roles = [] if allowed is None else [str(r) for r in allowed.get("roles") or []]
        allowed_users = [] if allowed is None else [str(u) for u in allowed.get("users") or []]
        perms = self.channel_permissions(author, channel) if author is not None else 0
        may_mention_everyone = bool(perms & MENTION_EVERYONE)
        everyone = (
            "everyone" in parse and may_mention_everyone and _MENTION_EVERYONE.search(content) is not None
        )
        roles = []
        for role_id in dict.fromkeys(_ROLE_MENTION.findall(content)):
            role = self.roles.get(role_id)
            if role is None or not ("roles" in parse or role_id in allowed_roles):
                continue
            if role.mentionable or may_mention_everyone:
                roles.append(role_id)
        users = [
            user_id
            for user_id in dict.fromkeys(_USER_MENTION.findall(content))
            if user_id in self.members and ("users" in parse or user_id in allowed_users)
        ]
        return everyone, roles, users

    def channel_permissions(self, member: Member, channel: Channel) -> int:
        """Discord's overwrite algorithm: @everyone, then the member's roles together, then the member."""
        perms = self.base_permissions(member)
        if perms == ALL_PERMISSIONS:
            return perms
        source = channel
        if channel.is_thread and channel.parent_id in self.channels:
            source = self.channels[channel.parent_id]
        by_target = {ow.target_id: ow for ow in source.overwrites}
        everyone = by_target.get(self.id)
        if everyone is not None:
            perms = (perms & ~everyone.deny) | everyone.allow
        allow = deny = 0
        for role_id in member.role_ids:
            ow = by_target.get(role_id)
            if ow is not None:
                allow |= ow.allow
                deny |= ow.deny
        perms = (perms & ~deny) | allow
        own = by_target.get(member.user.id)
        if own is not None:
            perms = (perms & ~own.deny) | own.allow
        return perms


@dataclass
class Attachment:
    id: str
    filename: str
    data: bytes
    content_type: str
    url: str
    description: str | None = None

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "filename": self.filename,
            "size": len(self.data),
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
        }
        if self.description is not None:
            data["description"] = self.description
        return data


@dataclass
class Message:
    id: str
    channel_id: str
    guild_id: str | None
    author: User
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    nonce: str | int | None = None
    webhook_id: str | None = None
    interaction: dict[str, Any] | None = None
    timestamp: str = field(default_factory=iso_now)
    edited_timestamp: str | None = None
    deleted: bool = False
    thread_id: str | None = None
    #: What Discord would notify for this message (see `Guild.triggered_mentions`).
    mention_everyone: bool = False
    mention_roles: list[str] = field(default_factory=list)
    mention_users: list[User] = field(default_factory=list)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    def custom_ids(self) -> list[str]:
        """Every custom_id among the message's components, nested rows and containers included."""
        found: list[str] = []

        def walk(items: list[dict[str, Any]]) -> None:
            for item in items:
                if "custom_id" in item:
                    found.append(item["custom_id"])
                walk(item.get("components", []))
                if isinstance(item.get("accessory"), dict):
                    walk([item["accessory"]])

        walk(self.components)
        return found

    def find_component(self, custom_id: str) -> dict[str, Any] | None:
        def walk(items: list[dict[str, Any]]) -> dict[str, Any] | None:
            for item in items:
                if item.get("custom_id") == custom_id:
                    return item
                nested = walk(item.get("components", []))
                if nested is not None:
                    return nested
                accessory = item.get("accessory")
                if isinstance(accessory, dict) and accessory.get("custom_id") == custom_id:
                    return accessory
            return None

        return walk(self.components)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "channel_id": self.channel_id,
            "author": self.author.payload(),
            "content": self.content,
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "tts": False,
            "mention_everyone": self.mention_everyone,
            "mentions": [user.payload() for user in self.mention_users],
            "mention_roles": list(self.mention_roles),
            "mention_channels": [],
            "attachments": [a.payload() for a in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "flags": self.flags,
        }
        if self.guild_id is not None:
            data["guild_id"] = self.guild_id
        if self.nonce is not None:
            data["nonce"] = self.nonce
        if self.webhook_id is not None:
            data["webhook_id"] = self.webhook_id
            data["application_id"] = self.webhook_id
        if self.interaction is not None:
            data["interaction"] = self.interaction
            data["interaction_metadata"] = {
                "id": self.interaction["id"],
                "type": self.interaction["type"],
                "user": self.interaction["user"],
                "authorizing_integration_owners": {},
            }
        if self.thread_id is not None:
            data["thread"] = {"id": self.thread_id}
        return data


@dataclass
class InteractionRecord:
    """One interaction the driver created, and everything the bot did with it."""

    id: str
    token: str
    type: int
    created_at: float
    user: User
    guild_id: str | None
    channel_id: str
    name: str
    payload: dict[str, Any] = field(default_factory=dict)
    source_message_id: str | None = None
    callback_type: int | None = None
    original_id: str | None = None
    original_deleted: bool = False
    original_loading: bool = False
    followup_ids: list[str] = field(default_factory=list)
    choices: list[dict[str, Any]] | None = None
    modal: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return self.callback_type is not None


#: A team member's `membership_state` (Discord's TeamMembershipStates) and `role` (TeamMemberRoles).
TEAM_INVITED = 1
TEAM_ACCEPTED = 2
TEAM_ROLES = ("admin", "developer", "read_only")


@dataclass
class TeamMember:
    user: User
    role: str = "admin"
    membership_state: int = TEAM_ACCEPTED

    def payload(self, team_id: str) -> dict[str, Any]:
        return {
            "membership_state": self.membership_state,
            "team_id": team_id,
            "user": self.user.payload(),
            "role": self.role,
            "permissions": ["*"],
        }


@dataclass
class Application:
    id: str
    name: str
    owner: User
    team_members: list[TeamMember] = field(default_factory=list)
    flags: int = 0

    def payload(self, bot: User) -> dict[str, Any]:
        team = None
        if self.team_members:
            team_id = str(int(self.id) + 1)
            team = {
                "id": team_id,
                "name": f"{self.name} team",
                "icon": None,
                "owner_user_id": self.owner.id,
                "members": [member.payload(team_id) for member in self.team_members],
            }
        return {
            "id": self.id,
            "name": self.name,
            "icon": None,
            "description": "",
            "rpc_origins": [],
            "bot_public": False,
            "bot_require_code_grant": False,
            "bot": bot.payload(),
            "owner": self.owner.payload(),
            "team": team,
            "verify_key": "0" * 64,
            "flags": self.flags,
            "summary": "",
            "interactions_endpoint_url": None,
            "approximate_guild_count": 0,
            "tags": [],
            "redirect_uris": [],
        }


class World:
    """Every object the emulator knows, with id allocation."""

    def __init__(self) -> None:
        self.snowflakes = Snowflakes()
        self.users: dict[str, User] = {}
        self.guilds: dict[str, Guild] = {}
        self.channels: dict[str, Channel] = {}
        self.messages: dict[str, Message] = {}
        self.commands: dict[str | None, list[dict[str, Any]]] = {}
        self.interactions: dict[str, InteractionRecord] = {}
        self.interactions_by_token: dict[str, InteractionRecord] = {}
        self._names = itertools.count(1)
        self.bot_user = self.add_user("digestbot", bot=True)
        self.owner = self.add_user("app-owner")
        self.application = Application(id=self.bot_user.id, name="digestbot", owner=self.owner)
        self.token = f"emulator.{secrets.token_urlsafe(24)}"

    def add_user(self, username: str | None = None, *, bot: bool = False) -> User:
        user = User(id=self.snowflakes.next(), username=username or f"user{next(self._names)}", bot=bot)
        self.users[user.id] = user
        return user

    def channel_messages(self, channel_id: str) -> list[Message]:
        """Visible (non-ephemeral, not deleted) messages of a channel, oldest first."""
        return [
            m
            for m in self.messages.values()
            if m.channel_id == channel_id and not m.deleted and not m.ephemeral
        ]

    def dm_channel(self, user: User) -> Channel:
        for channel in self.channels.values():
            if channel.type == DM and channel.recipients and channel.recipients[0].id == user.id:
                return channel
        channel = Channel(id=self.snowflakes.next(), type=DM, name="", recipients=[user])
        self.channels[channel.id] = channel
        return channel
