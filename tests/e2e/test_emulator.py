"""The emulator's own tests: a small discord.py bot driven end to end through the loopback Discord."""

from __future__ import annotations

import asyncio
import io
import logging

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.emulator import CommandUnavailable, Emulator, Guild, running_bot
from tests.emulator.state import MANAGE_GUILD

LONG_URL = "https://example.com/" + "a" * 2100


class ManualClock:
    """The emulator's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class VoteView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Yes", custom_id="vote:yes", style=discord.ButtonStyle.success)
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button[VoteView]) -> None:
        button.disabled = True
        await interaction.response.edit_message(content=f"voted yes by {interaction.user.name}", view=self)


class Sample(commands.Cog):
    """One command per emulator feature under test."""

    admin = app_commands.Group(
        name="admin",
        description="Administration",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )
    digest = app_commands.Group(name="digest", description="Digest administration", parent=admin)

    def __init__(self, bot: SampleBot) -> None:
        self.bot = bot

    @app_commands.command(description="Repeat some text")
    @app_commands.describe(text="What to say", times="How often", private="Only you see it")
    async def echo(
        self,
        interaction: discord.Interaction,
        text: str,
        times: app_commands.Range[int, 1, 5] = 1,
        private: bool = False,
    ) -> None:
        await interaction.response.send_message(" ".join([text] * times), ephemeral=private)

    @admin.command(name="sync", description="Force a command sync")
    async def admin_sync(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("synced", ephemeral=True)

    @digest.command(name="run", description="Run a digest now")
    async def digest_run(self, interaction: discord.Interaction, name: str, parts: int = 1) -> None:
        await interaction.response.send_message(f"ran {name} in {parts} parts")

    @app_commands.command(description="Always fails")
    async def fail(self, interaction: discord.Interaction) -> None:
        raise RuntimeError("deliberate failure")

    @app_commands.command(description="Find a topic")
    async def lookup(self, interaction: discord.Interaction, topic: str) -> None:
        await interaction.response.send_message(f"topic {topic}")

    @lookup.autocomplete("topic")
    async def lookup_topic(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        topics = ["science", "sport", "space", "politics"]
        return [app_commands.Choice(name=t.title(), value=t) for t in topics if t.startswith(current)]

    @app_commands.command(description="Start a vote")
    async def vote(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("vote now", view=VoteView())

    @app_commands.command(description="Defer, follow up, then edit")
    async def slow(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("working")
        await interaction.followup.send("extra detail")
        await interaction.edit_original_response(content="done")

    @app_commands.command(description="Send a file")
    async def report(self, interaction: discord.Interaction) -> None:
        file = discord.File(io.BytesIO(b"id,title\n1,hello\n"), filename="report.csv")
        await interaction.response.send_message("report attached", file=file)

    @app_commands.command(description="Waits for the test before answering")
    async def gated(self, interaction: discord.Interaction) -> None:
        self.bot.gate_entered.set()
        await self.bot.gate.wait()
        await interaction.response.send_message("late")

    @app_commands.command(description="Sends a payload that breaks a rule")
    @app_commands.choices(
        kind=[app_commands.Choice(name=k, value=k) for k in ("title", "total", "everyone", "url")]
    )
    async def misbehave(self, interaction: discord.Interaction, kind: str) -> None:
        if kind == "title":
            await interaction.response.send_message(embed=discord.Embed(title="t" * 257))
        elif kind == "total":
            embeds = [discord.Embed(description="d" * 4000), discord.Embed(description="d" * 2001)]
            await interaction.response.send_message(embeds=embeds)
        elif kind == "everyone":
            await interaction.response.send_message(
                "@everyone", allowed_mentions=discord.AllowedMentions.all()
            )
        else:
            await interaction.response.send_message(embed=discord.Embed(title="link", url=LONG_URL))


class SampleBot(commands.Bot):
    def __init__(self, guild_id: str) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.guild_id = int(guild_id)
        self.gate = asyncio.Event()
        self.gate_entered = asyncio.Event()
        self.tree.on_error = self.on_tree_error

    async def setup_hook(self) -> None:
        await self.add_cog(Sample(self))
        guild = discord.Object(self.guild_id)
        await self.tree.sync()
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)

    async def on_tree_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        logging.getLogger(__name__).error("command failed: %s", error)
        if not interaction.response.is_done():
            await interaction.response.send_message("Something went wrong", ephemeral=True)


@pytest.fixture
def guild(emulator: Emulator) -> Guild:
    return emulator.add_guild("news")


@pytest.fixture
async def bot(emulator: Emulator, guild: Guild):
    async with running_bot(SampleBot(guild.id), emulator) as running:
        yield running


def general(guild: Guild):
    return next(iter(guild.channels.values()))


async def test_login_ready_and_guild_create(emulator: Emulator, guild: Guild, bot: SampleBot) -> None:
    assert bot.user is not None and str(bot.user.id) == emulator.bot_user.id
    cached = bot.get_guild(int(guild.id))
    assert cached is not None and cached.name == "news"
    channel = cached.get_channel(int(general(guild).id))
    assert isinstance(channel, discord.TextChannel)
    assert channel.permissions_for(cached.me).send_messages
    assert emulator.requests_to("GET", "/users/@me")[0].status == 200
    assert emulator.requests_to("GET", "/oauth2/applications/@me")


async def test_bad_token_is_refused_with_401(emulator: Emulator, guild: Guild) -> None:
    with pytest.raises(discord.LoginFailure):
        async with running_bot(SampleBot(guild.id), emulator, token="not-the-token"):
            pass
    assert [r.status for r in emulator.requests_to("GET", "/users/@me")] == [401]


async def test_responses_carry_exact_content_type_and_via(emulator: Emulator) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{emulator.api_base}/users/@me") as response:
        assert response.status == 401
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["Via"]
        assert await response.json() == {"message": "401: Unauthorized", "code": 0}


async def test_command_sync_is_recorded(emulator: Emulator, guild: Guild, bot: SampleBot) -> None:
    app = emulator.application_id
    assert len(emulator.requests_to("PUT", f"/applications/{app}/commands")) == 1
    assert len(emulator.requests_to("PUT", f"/applications/{app}/guilds/{guild.id}/commands")) == 1
    names = {c["name"] for c in emulator.synced_commands(guild)}
    assert {"echo", "admin", "lookup", "vote"} <= names
    fetched = await bot.tree.fetch_commands(guild=discord.Object(int(guild.id)))
    assert {c.name for c in fetched} == names


async def test_invoke_with_options(emulator: Emulator, guild: Guild, bot: SampleBot) -> None:
    member = emulator.add_member(guild)
    result = await emulator.invoke("echo", user=member, guild=guild, options={"text": "hi", "times": 3})
    assert result.content == "hi hi hi"
    assert not result.ephemeral
    assert emulator.channel_messages(general(guild))[-1].id == result.message_id


async def test_invalid_option_is_refused_by_the_driver(
    emulator: Emulator, guild: Guild, bot: SampleBot
) -> None:
    member = emulator.add_member(guild)
    with pytest.raises(ValueError, match="out of range"):
        await emulator.invoke("echo", user=member, guild=guild, options={"text": "hi", "times": 9})


async def test_ephemeral_response_is_not_in_the_channel(
    emulator: Emulator, guild: Guild, bot: SampleBot
) -> None:
    member = emulator.add_member(guild)
    result = await emulator.invoke(
        "echo", user=member, guild=guild, options={"text": "psst", "private": True}
    )
    assert result.ephemeral and result.content == "psst"
    assert emulator.channel_messages(general(guild)) == []


async def test_subcommand_group_with_options(emulator: Emulator, guild: Guild, bot: SampleBot) -> None:
    admin = emulator.add_member(guild, permissions=MANAGE_GUILD)
    result = await emulator.invoke("admin digest run", user=admin, guild=guild, options={"name": "daily"})
    assert result.content == "ran daily in 1 parts"


async def test_default_member_permissions_hide_a_command(
    emulator: Emulator, guild: Guild, bot: SampleBot
) -> None:
    plain = emulator.add_member(guild)
    with pytest.raises(CommandUnavailable, match="hidden"):
        await emulator.invoke("admin sync", user=plain, guild=guild)
    admin = emulator.add_member(guild, permissions=MANAGE_GUILD)
    result = await emulator.invoke("admin sync", user=admin, guild=guild)
    assert result.ephemeral and result.content == "synced"


async def test_guild_only_command_is_not_usable_in_dms(
    emulator: Emulator, guild: Guild, bot: SampleBot
) -> None:
    user = emulator.add_user()
    with pytest.raises(CommandUnavailable, match="DMs"):
        await emulator.invoke("admin sync", user=user)
    result = await emulator.invoke("echo", user=user, options={"text": "dm"})
    assert result.content == "dm"


async def test_error_gets_an_ephemeral_reply(
    emulator: Emulator, guild: Guild, bot: SampleBot, caplog: pytest.LogCaptureFixture
) -> None:
    result = await emulator.invoke("fail", user=emulator.add_member(guild), guild=guild)
    assert result.ephemeral and result.content == "Something went wrong"
    assert "deliberate failure" in caplog.text


async def test_defer_followup_and_edit_original(emulator: Emulator, guild: Guild, bot: SampleBot) -> None:
    result = await emulator.invoke("slow", user=emulator.add_member(guild), guild=guild)
    assert result.deferred
    assert result.content == "done"
    assert [m.content for m in result.followups] == ["extra detail"]


async def test_attachment_is_uploaded(emulator: Emulator, guild: Guild, bot: SampleBot) -> None:
    result = await emulator.invoke("report", user=emulator.add_member(guild), guild=guild)
    [attachment] = result.attachments
    assert attachment.filename == "report.csv"
    assert attachment.data == b"id,title\n1,hello\n"
    assert emulator.requests_to("POST", r"/interactions/\d+/.+/callback")[-1].files


async def test_autocomplete_returns_choices(emulator: Emulator, guild: Guild, bot: SampleBot) -> None:
    member = emulator.add_member(guild)
    choices = await emulator.autocomplete("lookup", focused="topic", value="sp", user=member, guild=guild)
    assert choices == [{"name": "Sport", "value": "sport"}, {"name": "Space", "value": "space"}]


async def test_button_click_is_routed_to_the_view(emulator: Emulator, guild: Guild, bot: SampleBot) -> None:
    member = emulator.add_member(guild)
    sent = await emulator.invoke("vote", user=member, guild=guild)
    assert sent.message is not None
    clicked = await emulator.click(sent.message, "vote:yes", user=member)
    assert clicked.message_id == sent.message_id
    assert clicked.content == f"voted yes by {member.user.username}"
    assert clicked.components[0]["components"][0]["disabled"] is True
    with pytest.raises(CommandUnavailable, match="disabled"):
        await emulator.click(sent.message, "vote:yes", user=member)


async def test_late_callback_gets_unknown_interaction() -> None:
    clock = ManualClock()
    emu = await Emulator.start(clock=clock)
    try:
        guild = emu.add_guild("late")
        async with running_bot(SampleBot(guild.id), emu) as bot:
            invocation = asyncio.create_task(emu.invoke("gated", user=emu.add_member(guild), guild=guild))
            await bot.gate_entered.wait()
            clock.now += emu.interaction_deadline + 0.5
            bot.gate.set()
            result = await invocation
        assert not result.answered
        assert result.errors and {e["code"] for e in result.errors} == {10062}
    finally:
        await emu.stop()


async def test_unknown_channel_is_404_with_discord_body(emulator: Emulator, bot: SampleBot) -> None:
    with pytest.raises(discord.NotFound) as caught:
        await bot.fetch_channel(123456789)
    assert caught.value.code == 10003
    assert caught.value.text == "Unknown Channel"


async def test_channel_messages_threads_and_nonce(emulator: Emulator, guild: Guild, bot: SampleBot) -> None:
    channel = bot.get_channel(int(general(guild).id))
    assert isinstance(channel, discord.TextChannel)
    first = await channel.send("part 1", nonce="digest-1-part-1")
    again = await channel.send("part 1", nonce="digest-1-part-1")
    assert first.id == again.id
    thread = await first.create_thread(name="Digest")
    await thread.send("item")
    with pytest.raises(discord.HTTPException) as caught:
        await first.create_thread(name="Digest")
    assert caught.value.code == 160004
    history = [m.content async for m in channel.history(limit=10)]
    assert history == ["part 1"]
    assert [m.content for m in emulator.channel_messages(str(thread.id))] == ["item"]


async def test_injected_faults(emulator: Emulator, guild: Guild, bot: SampleBot) -> None:
    channel = bot.get_channel(int(general(guild).id))
    assert isinstance(channel, discord.TextChannel)
    emulator.inject("POST", r"/channels/\d+/messages", status=429, retry_after=0.01)
    assert (await channel.send("after a rate limit")).content == "after a rate limit"
    emulator.inject("POST", r"/channels/\d+/messages", status=403, code=50013, message="Missing Permissions")
    with pytest.raises(discord.Forbidden) as caught:
        await channel.send("refused")
    assert caught.value.code == 50013
    statuses = [r.status for r in emulator.requests_to("POST", r"/channels/\d+/messages")]
    assert statuses == [429, 200, 403]


async def test_gateway_resume_replays_missed_events(emulator: Emulator, guild: Guild, bot: SampleBot) -> None:
    resumed = asyncio.ensure_future(bot.wait_for("resumed"))
    await emulator.drop_gateway()
    added = emulator.add_channel(guild, "missed-while-away")
    await emulator.flush_events()
    await asyncio.wait_for(resumed, 10)
    assert emulator.gateway.resumes == 1
    assert bot.get_channel(int(added.id)) is not None


async def test_invalid_session_makes_the_bot_identify_again(
    emulator: Emulator, guild: Guild, bot: SampleBot
) -> None:
    ready_again = asyncio.ensure_future(bot.wait_for("ready"))
    await emulator.invalidate_session()
    await asyncio.wait_for(ready_again, 10)
    assert emulator.gateway.identifies == 2


async def test_channel_delete_reaches_the_bot(emulator: Emulator, guild: Guild, bot: SampleBot) -> None:
    target = general(guild)
    deleted = asyncio.ensure_future(bot.wait_for("guild_channel_delete"))
    await emulator.delete_channel(target)
    channel = await asyncio.wait_for(deleted, 10)
    assert str(channel.id) == target.id
    with pytest.raises(discord.NotFound):
        await bot.fetch_channel(channel.id)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("title", "embeds.0.title: 257 characters"),
        ("total", "embeds: 6001 characters in total"),
        ("everyone", "allowed_mentions.parse: allows 'everyone'"),
    ],
)
async def test_checks_catch_broken_payloads(
    emulator: Emulator, guild: Guild, bot: SampleBot, kind: str, expected: str
) -> None:
    result = await emulator.invoke(
        "misbehave", user=emulator.add_member(guild), guild=guild, options={"kind": kind}
    )
    violations = emulator.take_violations()
    assert len(violations) == 1
    assert any(problem.startswith(expected) for problem in violations[0].problems)
    assert result.content == "Something went wrong"


async def test_openapi_validation(emulator: Emulator, guild: Guild, bot: SampleBot) -> None:
    if emulator.openapi is None:
        pytest.skip("Discord's OpenAPI description is not available")
    result = await emulator.invoke(
        "misbehave", user=emulator.add_member(guild), guild=guild, options={"kind": "url"}
    )
    [violation] = emulator.take_violations()
    assert any(p.startswith("openapi data.embeds.0.url") for p in violation.problems)
    assert result.content == "Something went wrong"


async def test_emulator_starts_and_stops() -> None:
    emu = await Emulator.start(validate_openapi=False)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{emu.api_base}/gateway/bot", headers={"Authorization": f"Bot {emu.token}"}
            ) as response,
        ):
            assert (await response.json())["url"] == emu.ws_url
    finally:
        await emu.stop()
