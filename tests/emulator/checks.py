"""Discord's payload rules, written from Discord's documentation and independent of the bot's renderer.

These functions are the test oracle: each returns a list of problems ("<json path>: <rule broken>"), empty
when the payload is acceptable. The REST routes call them on every outgoing body.
"""

from __future__ import annotations

import re
from typing import Any

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
CHOICES_MAX = 25
CHOICE_TEXT_MAX = 100
COMMAND_NAME_MAX = 32
COMMAND_DESCRIPTION_MAX = 100
OPTIONS_MAX = 25
ACTION_ROWS_MAX = 5
ROW_ITEMS_MAX = 5
CUSTOM_ID_MAX = 100
BUTTON_LABEL_MAX = 80
SELECT_OPTIONS_MAX = 25
APPLIED_TAGS_MAX = 5

# Discord's documented name pattern is ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$; \w covers letters,
# digits and underscore for the scripts the project uses.
COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")

FORBIDDEN_PARSE = ("everyone", "roles", "users")


def _text_length(value: Any) -> int:
    return len(value) if isinstance(value, str) else 0


def check_embed(embed: dict[str, Any], path: str) -> list[str]:
    problems: list[str] = []
    limits = (("title", TITLE_MAX), ("description", DESCRIPTION_MAX))
    for key, limit in limits:
        if _text_length(embed.get(key)) > limit:
            problems.append(f"{path}.{key}: {len(embed[key])} characters, limit {limit}")
    fields = embed.get("fields") or []
    if len(fields) > FIELDS_MAX:
        problems.append(f"{path}.fields: {len(fields)} fields, limit {FIELDS_MAX}")
    for index, item in enumerate(fields):
        name, value = item.get("name"), item.get("value")
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{path}.fields.{index}.name: required and non-blank")
        elif len(name) > FIELD_NAME_MAX:
            problems.append(f"{path}.fields.{index}.name: {len(name)} characters, limit {FIELD_NAME_MAX}")
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{path}.fields.{index}.value: required and non-blank")
        elif len(value) > FIELD_VALUE_MAX:
            problems.append(f"{path}.fields.{index}.value: {len(value)} characters, limit {FIELD_VALUE_MAX}")
    footer = embed.get("footer") or {}
    if _text_length(footer.get("text")) > FOOTER_MAX:
        problems.append(f"{path}.footer.text: {len(footer['text'])} characters, limit {FOOTER_MAX}")
    author = embed.get("author") or {}
    if _text_length(author.get("name")) > AUTHOR_MAX:
        problems.append(f"{path}.author.name: {len(author['name'])} characters, limit {AUTHOR_MAX}")
    return problems


def embed_characters(embed: dict[str, Any]) -> int:
    """The characters Discord counts toward the 6000 total of one message."""
    total = _text_length(embed.get("title")) + _text_length(embed.get("description"))
    for item in embed.get("fields") or []:
        total += _text_length(item.get("name")) + _text_length(item.get("value"))
    total += _text_length((embed.get("footer") or {}).get("text"))
    total += _text_length((embed.get("author") or {}).get("name"))
    return total


def check_allowed_mentions(body: dict[str, Any], *, required: bool) -> list[str]:
    """The project's rule: nothing a message says may ping @everyone or a user, and at most the one role
    a digest opted into, named explicitly (never by parsing)."""
    mentions = body.get("allowed_mentions")
    if mentions is None:
        return ["allowed_mentions: missing (must be sent and must allow no mentions)"] if required else []
    problems: list[str] = []
    parse = mentions.get("parse") or []
    for kind in FORBIDDEN_PARSE:
        if kind in parse:
            problems.append(f"allowed_mentions.parse: allows {kind!r}")
    if mentions.get("users"):
        problems.append(f"allowed_mentions.users: allows {mentions['users']!r}")
    roles = mentions.get("roles") or []
    if len(roles) > 1:
        problems.append(f"allowed_mentions.roles: allows {len(roles)} roles, a digest pings at most one")
    if mentions.get("replied_user"):
        problems.append("allowed_mentions.replied_user: must be false")
    return problems


def check_components(components: list[dict[str, Any]], path: str = "components") -> list[str]:
    problems: list[str] = []
    rows = [c for c in components if c.get("type") == 1]
    if len(rows) > ACTION_ROWS_MAX:
        problems.append(f"{path}: {len(rows)} action rows, limit {ACTION_ROWS_MAX}")
    for row_index, row in enumerate(components):
        children = row.get("components") or []
        if row.get("type") == 1 and len(children) > ROW_ITEMS_MAX:
            problems.append(f"{path}.{row_index}.components: {len(children)} items, limit {ROW_ITEMS_MAX}")
        for index, item in enumerate(children):
            where = f"{path}.{row_index}.components.{index}"
            if _text_length(item.get("custom_id")) > CUSTOM_ID_MAX:
                problems.append(f"{where}.custom_id: longer than {CUSTOM_ID_MAX}")
            if _text_length(item.get("label")) > BUTTON_LABEL_MAX:
                problems.append(f"{where}.label: longer than {BUTTON_LABEL_MAX}")
            if len(item.get("options") or []) > SELECT_OPTIONS_MAX:
                problems.append(f"{where}.options: more than {SELECT_OPTIONS_MAX}")
    return problems


def check_message(body: dict[str, Any], *, creating: bool) -> list[str]:
    """A message body (channel message, interaction response data, webhook message), new or edited."""
    problems: list[str] = []
    content = body.get("content")
    if isinstance(content, str) and len(content) > CONTENT_MAX:
        problems.append(f"content: {len(content)} characters, limit {CONTENT_MAX}")
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS_MAX:
        problems.append(f"embeds: {len(embeds)} embeds, limit {EMBEDS_MAX}")
    for index, embed in enumerate(embeds):
        problems.extend(check_embed(embed, f"embeds.{index}"))
    total = sum(embed_characters(embed) for embed in embeds)
    if total > EMBED_TOTAL_MAX:
        problems.append(f"embeds: {total} characters in total, limit {EMBED_TOTAL_MAX}")
    problems.extend(check_components(body.get("components") or []))
    problems.extend(check_allowed_mentions(body, required=creating))
    return problems


def check_choices(choices: Any) -> list[str]:
    if not isinstance(choices, list):
        return ["choices: must be a list"]
    problems: list[str] = []
    if len(choices) > CHOICES_MAX:
        problems.append(f"choices: {len(choices)} choices, limit {CHOICES_MAX}")
    for index, choice in enumerate(choices):
        name = choice.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= CHOICE_TEXT_MAX:
            problems.append(f"choices.{index}.name: must be 1-{CHOICE_TEXT_MAX} characters")
        value = choice.get("value")
        if isinstance(value, str) and len(value) > CHOICE_TEXT_MAX:
            problems.append(f"choices.{index}.value: {len(value)} characters, limit {CHOICE_TEXT_MAX}")
    return problems


def check_callback(body: dict[str, Any]) -> list[str]:
    """An interaction callback: message data for types 4 and 7, choices for 8."""
    kind = body.get("type")
    data = body.get("data") or {}
    if kind not in (1, 4, 5, 6, 7, 8, 9, 12):
        return [f"type: unknown interaction callback type {kind!r}"]
    if kind == 4:
        return check_message(data, creating=True)
    if kind == 7:
        return check_message(data, creating=False)
    if kind == 8:
        return [f"data.{p}" for p in check_choices(data.get("choices"))]
    return []


def _check_name_and_description(item: dict[str, Any], path: str, *, chat_input: bool) -> list[str]:
    problems: list[str] = []
    name = item.get("name")
    if not isinstance(name, str) or not name:
        return [f"{path}.name: required"]
    if chat_input:
        if not COMMAND_NAME.match(name) or name != name.lower():
            problems.append(f"{path}.name: {name!r} must be 1-32 lower-case letters, digits, '-', '_'")
        description = item.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= COMMAND_DESCRIPTION_MAX:
            problems.append(f"{path}.description: must be 1-{COMMAND_DESCRIPTION_MAX} characters")
    elif not 1 <= len(name) <= COMMAND_NAME_MAX:
        problems.append(f"{path}.name: must be 1-{COMMAND_NAME_MAX} characters")
    return problems


def _check_options(options: list[dict[str, Any]], path: str) -> list[str]:
    problems: list[str] = []
    if len(options) > OPTIONS_MAX:
        problems.append(f"{path}: {len(options)} options, limit {OPTIONS_MAX}")
    seen_optional = False
    names: set[str] = set()
    for index, option in enumerate(options):
        where = f"{path}.{index}"
        problems.extend(_check_name_and_description(option, where, chat_input=True))
        if option.get("name") in names:
            problems.append(f"{where}.name: duplicate {option.get('name')!r}")
        names.add(option.get("name", ""))
        if option.get("type") in (1, 2):
            problems.extend(_check_options(option.get("options") or [], f"{where}.options"))
            continue
        if option.get("required"):
            if seen_optional:
                problems.append(f"{where}: required options must come before optional ones")
        else:
            seen_optional = True
        choices = option.get("choices") or []
        if choices and option.get("autocomplete"):
            problems.append(f"{where}: choices and autocomplete are mutually exclusive")
        problems.extend(f"{where}.{p}" for p in check_choices(choices))
    return problems


def check_commands(commands: Any) -> list[str]:
    """A bulk overwrite body (`PUT .../commands`)."""
    if not isinstance(commands, list):
        return ["body: must be a list of commands"]
    problems: list[str] = []
    seen: set[tuple[int, str]] = set()
    for index, command in enumerate(commands):
        kind = command.get("type", 1)
        where = str(index)
        problems.extend(_check_name_and_description(command, where, chat_input=kind == 1))
        key = (kind, command.get("name", ""))
        if key in seen:
            problems.append(f"{where}.name: duplicate command {key[1]!r}")
        seen.add(key)
        if kind == 1:
            problems.extend(_check_options(command.get("options") or [], f"{where}.options"))
    return problems
