"""Who the application's operators are, as Discord reports its team, and how a team change reaches the
running bot (on `/admin sync` and every hour) — against the loopback emulator."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest

from bot.config import Config, CorpusConfig, DatabaseConfig, DiscordConfig
from bot.discord.client import create_bot
from tests.emulator import Emulator, Member, TeamMember, User, running_bot
from tests.emulator.state import MANAGE_GUILD, TEAM_INVITED

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
REFUSED = "Only the bot's operators can reload the bot's code."


@pytest.fixture
def config(tmp_path: Path) -> Config:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    return Config(
        corpus=CorpusConfig(path=corpus),
        database=DatabaseConfig(path=tmp_path / "data" / "digestbot.sqlite3"),
    )


class Team:
    """An application owned by a team: its owner, an admin, a developer, a read-only member and someone
    invited who never accepted — each also a Manage Server member of one server."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.owner = emu.add_user("team-owner")
        self.admin = emu.add_user("team-admin")
        self.developer = emu.add_user("team-developer")
        self.read_only = emu.add_user("team-read-only")
        self.invited = emu.add_user("team-invited")
        self.guild = emu.add_guild("newsroom")
        self.members = {
            user.id: emu.add_member(self.guild, user, permissions=MANAGE_GUILD)
            for user in (self.owner, self.admin, self.developer, self.read_only, self.invited)
        }
        self.set(
            TeamMember(self.admin, role="admin"),
            TeamMember(self.developer, role="developer"),
            TeamMember(self.read_only, role="read_only"),
            TeamMember(self.invited, role="admin", membership_state=TEAM_INVITED),
        )

    def set(self, *members: TeamMember) -> None:
        self.emu.set_owner(self.owner, team=members)

    def member(self, user: User) -> Member:
        return self.members[user.id]

    async def reload_code(self, user: User) -> str:
        result = await self.emu.invoke("admin reload extension", user=self.member(user), guild=self.guild,
                                       options={"name": "bot.discord.cogs.about"})
        [embed] = result.embeds
        return str(embed["description"])


def ids(*users: User) -> frozenset[int]:
    return frozenset(int(user.id) for user in users)


async def test_the_application_object_carries_membership_state_and_role_per_the_openapi_spec(
    emulator: Emulator,
) -> None:
    team = Team(emulator)
    payload = emulator.world.application.payload(emulator.bot_user)
    states = {member["user"]["username"]: (member["membership_state"], member["role"])
              for member in payload["team"]["members"]}
    assert states == {
        "team-owner": (2, "admin"), "team-admin": (2, "admin"), "team-developer": (2, "developer"),
        "team-read-only": (2, "read_only"), "team-invited": (1, "admin"),
    }
    assert team.owner.id == payload["team"]["owner_user_id"]
    if emulator.openapi is not None:
        for member in payload["team"]["members"]:
            assert emulator.openapi.validate_schema("TeamMembershipStates", member["membership_state"]) == []
            assert emulator.openapi.validate_schema("TeamMemberRoles", member["role"]) == []
        assert emulator.openapi.validate_schema("TeamMembershipStates", 3) != []


async def test_only_accepted_admins_and_developers_of_the_team_are_operators(
    emulator: Emulator, config: Config
) -> None:
    team = Team(emulator)
    async with running_bot(create_bot(config), emulator) as running:
        assert running.application_operator_ids == ids(team.owner, team.admin, team.developer)
        assert await team.reload_code(team.read_only) == REFUSED
        assert await team.reload_code(team.invited) == REFUSED
        assert await team.reload_code(team.developer) != REFUSED


async def test_admin_sync_reads_the_team_again(emulator: Emulator, config: Config) -> None:
    team = Team(emulator)
    home = Config(corpus=config.corpus, database=config.database,
                  discord=DiscordConfig(guild_ids=(int(team.guild.id),)))
    async with running_bot(create_bot(home), emulator) as running:
        assert await team.reload_code(team.developer) != REFUSED
        team.set(TeamMember(team.admin), TeamMember(team.read_only, role="read_only"))

        await emulator.invoke("admin sync", user=team.member(team.owner), guild=team.guild)

        assert running.application_operator_ids == ids(team.owner, team.admin)
        assert await team.reload_code(team.developer) == REFUSED


async def test_the_team_is_read_again_periodically(emulator: Emulator, config: Config) -> None:
    team = Team(emulator)
    digestbot = create_bot(config)
    assert digestbot.operator_refresh_seconds == 3600
    digestbot.operator_refresh_seconds = 0.01
    async with running_bot(digestbot, emulator) as running:
        assert running.application_operator_ids == ids(team.owner, team.admin, team.developer)
        team.set(TeamMember(team.developer, role="developer"))
        deadline = time.monotonic() + 30
        while running.application_operator_ids != ids(team.owner, team.developer):
            assert time.monotonic() < deadline, "the team was not read again"
            await asyncio.sleep(0.02)
        assert await team.reload_code(team.admin) == REFUSED


async def test_when_discord_does_not_answer_the_last_known_operators_stay(
    emulator: Emulator, config: Config
) -> None:
    team = Team(emulator)
    async with running_bot(create_bot(config), emulator) as running:
        team.set(TeamMember(team.developer, role="developer"))
        emulator.inject("GET", r"/(oauth2/)?applications/@me", status=403, code=50001, times=1)

        assert await running.refresh_operators() == ids(team.owner, team.admin, team.developer)
        assert await running.refresh_operators() == ids(team.owner, team.developer)
