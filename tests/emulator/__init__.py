"""A loopback Discord (REST + gateway on 127.0.0.1) that drives the real discord.py client in tests."""

from .driver import CommandUnavailable, Emulator, InteractionNotAnswered, InteractionResult
from .harness import running_bot
from .server import Fault, Ping, RecordedRequest, Violation
from .state import Channel, Guild, Member, Message, Overwrite, Role, TeamMember, User

__all__ = [
    "Channel",
    "CommandUnavailable",
    "Emulator",
    "Fault",
    "Guild",
    "InteractionNotAnswered",
    "InteractionResult",
    "Member",
    "Message",
    "Overwrite",
    "Ping",
    "RecordedRequest",
    "Role",
    "TeamMember",
    "User",
    "Violation",
    "running_bot",
]
