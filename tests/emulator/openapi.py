"""Optional validation of request bodies against Discord's published OpenAPI description.

The description is not part of the project: when the file is absent every call here reports nothing.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:discord-openapi"
DEFAULT_SPEC = Path(__file__).resolve().parents[3] / "shared" / "reference" / "discord-openapi.json"


def spec_path() -> Path:
    """The spec file: `DISCORD_OPENAPI_SPEC` if set, else the shared reference copy next to the project."""
    return Path(os.environ.get("DISCORD_OPENAPI_SPEC", DEFAULT_SPEC))


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class OpenApiValidator:
    """Validates JSON bodies for (method, path) against the spec's `application/json` request schema."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self._spec = spec
        self._registry = Registry().with_resource(
            SPEC_URI, Resource(contents=spec, specification=DRAFT202012)
        )
        self._routes = [
            (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"), template)
            for template in spec.get("paths", {})
        ]
        self._validators: dict[str, Any] = {}

    def _template(self, path: str) -> str | None:
        # Literal segments (e.g. `@original`) must win over parameters, so prefer fewer parameters.
        matches = [template for pattern, template in self._routes if pattern.match(path)]
        return min(matches, key=lambda t: t.count("{"), default=None)

    def schema_pointer(self, method: str, path: str) -> str | None:
        template = self._template(path)
        if template is None:
            return None
        operation = self._spec["paths"][template].get(method.lower(), {})
        if "application/json" not in operation.get("requestBody", {}).get("content", {}):
            return None
        return f"/paths/{_escape(template)}/{method.lower()}/requestBody/content/application~1json/schema"

    def validate(self, method: str, path: str, body: Any) -> list[str]:
        pointer = self.schema_pointer(method, path)
        if pointer is None:
            return []
        return self.validate_pointer(pointer, body)

    def validate_schema(self, name: str, body: Any) -> list[str]:
        """Validates against `#/components/schemas/<name>`."""
        return self.validate_pointer(f"/components/schemas/{name}", body)

    def validate_pointer(self, pointer: str, body: Any) -> list[str]:
        validator = self._validators.get(pointer)
        if validator is None:
            schema = {"$ref": f"{SPEC_URI}#{pointer}"}
            validator = Draft202012Validator(schema, registry=self._registry)
            self._validators[pointer] = validator
        problems = []
        for error in validator.iter_errors(body):
            cause = _significant_cause(error)
            if cause is None:
                continue
            where = ".".join(str(p) for p in cause.absolute_path) or "body"
            message = (
                cause.message
                if len(cause.message) <= 200
                else f"{cause.message[:80]} … {cause.message[-100:]}"
            )
            problems.append(f"openapi {where}: {message}")
        return problems


def _tolerated(error: ValidationError) -> bool:
    """Known gaps between the spec and what Discord accepts (and discord.py sends).

    Permission bit sets are strings where the spec sometimes says integer; new attachments are referenced
    by their upload index (an integer) where the spec says snowflake string.
    """
    if error.validator != "type":
        return False
    expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    instance = error.instance
    if isinstance(instance, str) and instance.isdigit() and "integer" in expected:
        return True
    return (
        isinstance(instance, int)
        and not isinstance(instance, bool)
        and "string" in expected
        and error.schema.get("format") == "snowflake"
    )


def _significant_cause(error: ValidationError) -> ValidationError | None:
    """The error to report, or None when every failure is a tolerated spec gap.

    For anyOf/oneOf, a branch that fails only on tolerated points counts as a match; otherwise the
    branch whose failure lies deepest in the body is the most likely intended one.
    """
    if error.validator not in ("anyOf", "oneOf"):
        return None if _tolerated(error) else error
    if not error.context:
        return None  # oneOf matched several branches: an ambiguity in the spec, not in the body
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    causes: list[ValidationError] = []
    for errors in branches.values():
        branch_causes = [c for c in map(_significant_cause, errors) if c is not None]
        if not branch_causes:
            return None
        causes.append(max(branch_causes, key=lambda c: len(c.absolute_path)))
    return max(causes, key=lambda c: len(c.absolute_path))


@functools.cache
def load_validator(path: str) -> OpenApiValidator | None:
    """One validator per spec file per process (the file is large); None when it does not exist."""
    spec_file = Path(path)
    if not spec_file.is_file():
        return None
    return OpenApiValidator(json.loads(spec_file.read_text(encoding="utf-8")))
