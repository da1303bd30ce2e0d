"""`/admin`: every administrative command lives under this one group.

Discord applies `default_member_permissions` to top-level commands only, so the group carries Manage Server
and is usable in servers only; every subcommand re-checks the rule of bot/permissions.py at run time.

Other cogs add their subgroups (`/admin digest …`, `/admin reload …`) to the group in `cog_load` and remove
them in `cog_unload`::

    async def cog_load(self) -> None:
        admin_group(self.bot).add_command(self.reload_group)

so this extension must be loaded before them (it comes first in `bot.discord.client.EXTENSIONS`).
"""

from __future__ import annotations

from collections.abc import Callable

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.client import DigestBot, SyncReport
from bot.permissions import bot_wide_admin
from bot.render.embeds import notice
from bot.render.text import name_text

ADMIN_GROUP_NAME = "admin"


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Admin(commands.GroupCog, group_name=ADMIN_GROUP_NAME, group_description="Administer the digest bot"):
    """The `/admin` group and its own subcommands."""

    def __init__(self, bot: DigestBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="sync", description="Sync the bot's slash commands to Discord now")
    @bot_wide_admin("force a command sync")
    async def sync(self, interaction: discord.Interaction[DigestBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.bot.refresh_operators()
        report = await self.bot.sync_commands(force=True)
        text, kind = describe_sync(report, self._target_name)
        await interaction.edit_original_response(embed=discord.Embed.from_dict(notice(text, kind=kind)))

    def _target_name(self, target: str) -> str:
        if target == "global":
            return "globally"
        guild = self.bot.get_guild(int(target))
        return f"in {name_text(guild.name)} (`{target}`)" if guild is not None else f"in server `{target}`"


def describe_sync(report: SyncReport, target_name: Callable[[str], str]) -> tuple[str, str]:
    """The `/admin sync` reply: what was synced where, what was cleared, what failed; and its notice kind."""
    if not report.did_sync:
        return f"Nothing synced: {report.reason}.", "warning"
    lines = [
        f"Synced {count} command{'s' if count != 1 else ''} {target_name(target)}."
        for target, count in report.synced.items()
    ]
    lines += [f"Cleared the commands {target_name(target)}." for target in report.cleared]
    lines += [f"Failed {target_name(target)}: {reason}" for target, reason in report.failed.items()]
    return "\n".join(lines), "error" if report.failed else "info"


def admin_group(bot: commands.Bot) -> app_commands.Group:
    """The `/admin` group of a running bot, for other cogs to add their subgroups to."""
    group = bot.tree.get_command(ADMIN_GROUP_NAME)
    if not isinstance(group, app_commands.Group):
        raise RuntimeError(
            "the /admin group is not loaded: load bot.discord.cogs.admin before cogs that extend it"
        )
    return group


class AdminSubgroupCog(commands.Cog):
    """A cog whose `group` joins `/admin` while it is loaded (`/admin digest`, `/admin settings`)."""

    def __init__(self, bot: DigestBot, group: app_commands.Group) -> None:
        self.bot = bot
        self.group = group

    async def cog_load(self) -> None:
        admin_group(self.bot).add_command(self.group)

    async def cog_unload(self) -> None:
        """Detach from /admin (at shutdown the admin cog may already be gone, taking the group with it)."""
        if self.group.parent is not None:
            self.group.parent.remove_command(self.group.name)


async def setup(bot: DigestBot) -> None:
    await bot.add_cog(Admin(bot))
