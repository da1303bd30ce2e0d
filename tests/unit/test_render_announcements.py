"""Log-channel announcements: exact embeds, escaped names, mentions that never ping, Discord's limits."""

from __future__ import annotations

from bot.render.announcements import audit_announcement, pause_announcement, server_label
from bot.render.embeds import NOTICE_COLORS
from bot.render.message import message_problems
from bot.render.text import ZERO_WIDTH_SPACE

EVIL = "[re-verify the bot token here](https://evil.example) **x**"


def test_an_audit_announcement_names_the_member_by_mention_and_the_server_by_escaped_name() -> None:
    payload = audit_announcement(
        action="digest edit", outcome="applied", summary="Changed digest harbour. Channel: <#1> → <#2>",
        target="harbour", actor_id=42, server=server_label(EVIL, 7), kind="info",
    )
    assert payload == {
        "content": None,
        "embeds": [{
            "color": NOTICE_COLORS["info"],
            "title": "digest edit · applied",
            "description": "Changed digest harbour. Channel: <#1> → <#2>",
            "fields": [
                {"name": "By", "value": "<@42>", "inline": True},
                {"name": "Server", "inline": True, "value": (
                    rf"\[re-verify the bot token here\]\(https:{ZERO_WIDTH_SPACE}//evil.example\) \*\*x\*\*"
                )},
                {"name": "Target", "value": "harbour", "inline": True},
            ],
        }],
        "allowed_mentions": {"parse": []},
    }


def test_the_bot_itself_and_an_unknown_server() -> None:
    [embed] = audit_announcement(
        action="reload corpus (watch)", outcome="refused", summary="no *.txt files", target=None,
        actor_id=None, server=server_label(None, 7), kind="warning",
    )["embeds"]
    assert embed["fields"] == [
        {"name": "By", "value": "the bot (automatic)", "inline": True},
        {"name": "Server", "value": "`7`", "inline": True},
    ]
    assert embed["description"] == r"no \*.txt files"


def test_worst_case_texts_stay_within_discords_limits() -> None:
    huge = ("**[x](https://e.example)** @everyone <@1> " * 400)[:9000]
    payloads = [
        audit_announcement(action="digest create", outcome="refused", summary=huge, target=huge, actor_id=1,
                           server=server_label(huge, 1), kind="warning"),
        pause_announcement(digest=huge, channel_id=5, reason=huge, server=server_label(huge, 1)),
    ]
    for payload in payloads:
        assert message_problems(payload) == []
        assert "@everyone" not in str(payload) and "](" not in str(payload)
