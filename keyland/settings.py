"""Connection settings shared by every service, read from ``KEYLAND_*`` variables.

One pydantic-settings class per concern. Services gather the ones they need into their
own settings object at start-up; :func:`load` turns a validation failure into a message
that names the offending variable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

_ENV_FILE = ".env"


class KafkaSettings(BaseSettings):
    """Where Kafka is and how our clients talk to it."""

    model_config = SettingsConfigDict(
        env_prefix="KEYLAND_KAFKA_", env_file=_ENV_FILE, extra="ignore"
    )

    bootstrap: str = Field(default="127.0.0.1:9092", min_length=3)
    topic_prefix: str = Field(
        default="", description="Prepended to every topic name; tests use it to isolate."
    )
    publish_timeout_s: float = Field(default=10.0, gt=0)


class MongoSettings(BaseSettings):
    """The MongoDB-protocol database (FerretDB locally, a replica set in production)."""

    model_config = SettingsConfigDict(
        env_prefix="KEYLAND_MONGO_", env_file=_ENV_FILE, extra="ignore"
    )

    url: str = Field(default="mongodb://127.0.0.1:27017/", pattern=r"^mongodb(\+srv)?://")
    database: str = Field(default="keyland", min_length=1)
    timeout_ms: int = Field(default=5000, gt=0)
    max_pool_size: int = Field(
        default=16,
        gt=0,
        description="Connections one process opens to the database at most (pymongo's "
        "maxPoolSize): bounds what a batch asks of the database at once.",
    )
    postgres_url: str = Field(
        default="",
        pattern=r"^(postgres(ql)?://.*)?$",
        description="The PostgreSQL database under FerretDB, where the indexes that serve "
        "FerretDB's equality lookups are created; empty on MongoDB.",
    )


class ServesOperations(BaseSettings):
    """Where a worker without an HTTP API serves ``/health`` and ``/metrics``.

    A service's settings inherit these under its own prefix (``KEYLAND_NOTIFIER_OPS_PORT``).
    """

    ops_host: str = "127.0.0.1"
    ops_port: int | None = Field(
        default=None, gt=0, lt=65536, description="Unset: no /health or /metrics served."
    )


class RunsWorker(ServesOperations):
    """A faust worker's settings: its consumer group and its local state folder (each
    service's settings give their own defaults)."""

    app_id: str = Field(min_length=1, description="The consumer group and faust app id.")
    data_dir: Path


def json_variable(raw: str) -> Any:
    """A variable's JSON text, decoded by a field validator (declared ``NoDecode``) rather
    than by the settings source, so that a malformed value is reported naming the variable
    like any other."""
    try:
        return json.loads(raw)
    except ValueError as error:
        raise ValueError(f"not valid JSON: {error}") from error


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"no time zone {name!r}: an IANA name like Europe/Moscow") from error
    return name


# A setting naming a time zone the machine knows (IANA, e.g. Europe/Moscow).
TimeZoneName = Annotated[str, AfterValidator(_known_zone)]


S = TypeVar("S", bound=BaseSettings)


class ConfigError(SystemExit):
    """Start-up cannot go on: the message names the variable to fix."""


def load(settings_class: type[S]) -> S:
    """Build ``settings_class`` from the environment, or fail naming the variable."""
    try:
        return settings_class()
    except ValidationError as error:
        problems = "; ".join(
            f"{_variable(settings_class, e['loc'])}: {e['msg']}" if e["loc"] else e["msg"]
            for e in error.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from error


def _variable(settings_class: type[BaseSettings], loc: tuple[int | str, ...]) -> str:
    """The variable an error is about: the field's alias (read without the class's
    prefix, like ``KEYLAND_PLANS``) or the prefix and the field's name."""
    head, rest = str(loc[0]), [str(part) for part in loc[1:]]
    aliases = {f.validation_alias for f in settings_class.model_fields.values()}
    prefix = "" if head in aliases else str(settings_class.model_config.get("env_prefix", ""))
    return "_".join([prefix + head, *rest]).upper()
