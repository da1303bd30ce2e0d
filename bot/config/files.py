"""The configuration file: found, size-limited, parsed with the corpus's YAML guards, duplicate keys and
tokens refused, then the environment's overrides.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from bot.config.model import (
    DEFAULT_CONFIG_PATH,
    MAX_CONFIG_BYTES,
    Config,
    ConfigError,
    database_url,
    redact_url,
)
from bot.config.sections import Section, config_from_document, read_delivery, reject_token_keys, resolve_path
from bot.corpus.parse import unsafe_yaml

log = logging.getLogger(__name__)

# --- the file ---------------------------------------------------------------------------------------


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(key, line)
        self.key = key
        self.line = line


class _ConfigLoader(yaml.CSafeLoader):
    """libyaml's safe loader, refusing a key repeated in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise _DuplicateKey(key_node.value, key_node.start_mark.line + 1)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str, file: str) -> object:
    unsafe = unsafe_yaml(text)
    if unsafe is not None:
        line, problem = unsafe
        raise ConfigError("", f"refused YAML at line {line}: {problem}", file=file)
    try:
        return yaml.load(text, Loader=_ConfigLoader)  # a CSafeLoader subclass: plain data only
    except _DuplicateKey as error:
        raise ConfigError("", f"line {error.line}: key {error.key!r} appears twice in the same mapping",
                          file=file) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = error.problem or error.context or "unreadable"
        raise ConfigError("", f"invalid YAML at {where}{problem}", file=file) from None
    except yaml.YAMLError as error:
        raise ConfigError("", f"invalid YAML: {error}", file=file) from None


class ConfigTooLarge(OSError):
    """The configuration file is over MAX_CONFIG_BYTES."""


def _read_text(path: Path) -> str:
    """The file's text; a file over MAX_CONFIG_BYTES is refused without being read whole."""
    with path.open("rb") as handle:
        data = handle.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigTooLarge(f"larger than the {MAX_CONFIG_BYTES}-byte limit for a configuration file")
    return data.decode("utf-8-sig")



def _choose_file(path: Path | None, env: Mapping[str, str]) -> tuple[Path | None, bool]:
    """The file to read and whether it was asked for (an asked-for file must exist)."""
    if path is not None:
        return Path(path), True
    if env.get("DIGESTBOT_CONFIG"):
        return Path(env["DIGESTBOT_CONFIG"]), True
    if DEFAULT_CONFIG_PATH.is_file():
        return DEFAULT_CONFIG_PATH, False
    return None, False


def load_config(path: Path | None = None, *, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the configuration.

    The file is `path`, else `$DIGESTBOT_CONFIG`, else `config/config.yaml` when it exists; with none of
    these every default applies. Relative paths inside resolve against the working directory, and
    `$DIGESTBOT_DB` overrides `database.path`, `$DIGESTBOT_DATABASE_URL` `database.url` and
    `$DIGESTBOT_MESSAGES_PER_SECOND` `delivery.messages_per_second` (a cluster process's share).
    """
    env = os.environ if env is None else env
    base = Path.cwd()
    chosen, required = _choose_file(path, env)
    document: object = None
    file: str | None = None
    source: Path | None = None
    if chosen is not None:
        file = str(chosen)
        try:
            text = _read_text(chosen.expanduser())
        except FileNotFoundError:
            if required:
                raise ConfigError("", "config file not found", file=file) from None
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError("", f"cannot read config file: {error}", file=file) from None
        else:
            source = resolve_path(chosen, base)
            document = _parse_yaml(text, file)
            reject_token_keys(document, "", file)
    config = config_from_document(document, file=file, source=source, base=base)
    if env.get("DIGESTBOT_DB"):
        database_path = resolve_path(Path(env["DIGESTBOT_DB"]), base)
        config = replace(config, database=replace(config.database, path=database_path))
    if env.get("DIGESTBOT_DATABASE_URL"):
        url = database_url(
            env["DIGESTBOT_DATABASE_URL"].strip(),
            lambda reason: ConfigError("", f"environment variable DIGESTBOT_DATABASE_URL: {reason}"),
        )
        config = replace(config, database=replace(config.database, url=url))
    if env.get("DIGESTBOT_MESSAGES_PER_SECOND"):
        raw = env["DIGESTBOT_MESSAGES_PER_SECOND"].strip()
        try:
            rate: object = float(raw)
        except ValueError:
            rate = raw
        where = "environment variable DIGESTBOT_MESSAGES_PER_SECOND"
        section = Section({"messages_per_second": rate}, where, None)
        config = replace(config, delivery=read_delivery(section, base))
    log.debug(
        "configuration from %s: %d digest(s), database %s%s",
        source or "built-in defaults", len(config.digests), config.database.path,
        "" if config.database.url is None else f", shared state {redact_url(config.database.url)}",
    )
    return config
